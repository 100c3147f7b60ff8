/* frames — a multipart message as received from a bus socket, and the parts
 * of one to send. No zmq.h here: the broker uses this header too.
 *
 * A bus_frames_t owns copies of its frames. Sending takes an array of
 * bus_part_t that only borrow their bytes, so a message can be forwarded
 * from the frames it arrived in without building a second copy.
 *
 * A received message also carries who sent it: the User-Id the broker's ZAP
 * handler gave the sender's connection (its key's kind), "" on a plaintext
 * connection.
 */
#ifndef PARLEY_BUS_FRAMES_H
#define PARLEY_BUS_FRAMES_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bus_frames bus_frames_t;

/* One part of a message to send. data may be NULL when len is 0. */
typedef struct {
    const void *data;
    size_t len;
} bus_part_t;

#define BUS_PART_STR(s) ((bus_part_t){(s), sizeof(s) - 1}) /* a string literal */

/* An empty message. NULL when out of memory. */
bus_frames_t *bus_frames_new(void);

/* Frees the message and its frames; sets *self to NULL. */
void bus_frames_destroy(bus_frames_t **self);

/* Appends a copy of len bytes. 0, or -ENOMEM (the message is unchanged). */
int bus_frames_push(bus_frames_t *self, const void *data, size_t len);

size_t bus_frames_count(const bus_frames_t *self);

/* Frame i's bytes (borrowed, valid until the message is destroyed) and length.
 * NULL, with *len 0, when there is no frame i. A present empty frame gives a
 * non-NULL pointer. */
const uint8_t *bus_frames_data(const bus_frames_t *self, size_t i, size_t *len);

/* Frame i as a part to send (borrowed). An absent frame is an empty part. */
bus_part_t bus_frames_part(const bus_frames_t *self, size_t i);

/* Whether frame i exists and holds exactly the bytes of s (without its NUL). */
bool bus_frames_is(const bus_frames_t *self, size_t i, const char *s);

/* Whether frame i exists and is the single byte b. */
bool bus_frames_is_byte(const bus_frames_t *self, size_t i, uint8_t b);

/* Copies frame i into buf as a NUL-terminated string. 0, or -EINVAL when the
 * frame is absent, does not fit in cap-1 bytes or holds a NUL. */
int bus_frames_copy_str(const bus_frames_t *self, size_t i, char *buf, size_t cap);

#define BUS_FRAMES_USER_MAX 63

/* Sets the sender's User-Id (copied). A longer one than BUS_FRAMES_USER_MAX
 * is no kind we gave out: the message then has none. */
void bus_frames_set_user(bus_frames_t *self, const char *user);

/* The sender's User-Id (borrowed); "" when there is none. */
const char *bus_frames_user(const bus_frames_t *self);

/* Unpacks frame i as a message of type desc with allocator (NULL: malloc).
 * NULL when the frame is absent or does not parse. */
ProtobufCMessage *bus_frames_unpack(const bus_frames_t *self, size_t i,
                                    const ProtobufCMessageDescriptor *desc,
                                    ProtobufCAllocator *allocator);

#endif
