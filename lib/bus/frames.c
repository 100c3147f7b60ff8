#include "bus/frames.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *data; /* malloc'd; one spare byte so an empty frame is non-NULL */
    size_t len;
} frame_t;

struct bus_frames {
    frame_t *frames;
    size_t n, cap;
    char user[BUS_FRAMES_USER_MAX + 1];
};

bus_frames_t *bus_frames_new(void) { return calloc(1, sizeof(bus_frames_t)); }

void bus_frames_destroy(bus_frames_t **self) {
    if (self == NULL || *self == NULL) return;
    for (size_t i = 0; i < (*self)->n; i++) free((*self)->frames[i].data);
    free((*self)->frames);
    free(*self);
    *self = NULL;
}

int bus_frames_push(bus_frames_t *self, const void *data, size_t len) {
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        frame_t *grown = realloc(self->frames, cap * sizeof *grown);
        if (grown == NULL) return -ENOMEM;
        self->frames = grown;
        self->cap = cap;
    }
    uint8_t *copy = malloc(len + 1);
    if (copy == NULL) return -ENOMEM;
    if (len > 0) memcpy(copy, data, len);
    copy[len] = 0;
    self->frames[self->n++] = (frame_t){copy, len};
    return 0;
}

size_t bus_frames_count(const bus_frames_t *self) { return self->n; }

const uint8_t *bus_frames_data(const bus_frames_t *self, size_t i, size_t *len) {
    if (i >= self->n) {
        *len = 0;
        return NULL;
    }
    *len = self->frames[i].len;
    return self->frames[i].data;
}

bus_part_t bus_frames_part(const bus_frames_t *self, size_t i) {
    if (i >= self->n) return (bus_part_t){NULL, 0};
    return (bus_part_t){self->frames[i].data, self->frames[i].len};
}

bool bus_frames_is(const bus_frames_t *self, size_t i, const char *s) {
    size_t len;
    const uint8_t *d = bus_frames_data(self, i, &len);
    return d != NULL && len == strlen(s) && memcmp(d, s, len) == 0;
}

bool bus_frames_is_byte(const bus_frames_t *self, size_t i, uint8_t b) {
    size_t len;
    const uint8_t *d = bus_frames_data(self, i, &len);
    return d != NULL && len == 1 && d[0] == b;
}

int bus_frames_copy_str(const bus_frames_t *self, size_t i, char *buf, size_t cap) {
    size_t len;
    const uint8_t *d = bus_frames_data(self, i, &len);
    if (d == NULL || len >= cap || memchr(d, 0, len) != NULL) return -EINVAL;
    memcpy(buf, d, len);
    buf[len] = '\0';
    return 0;
}

void bus_frames_set_user(bus_frames_t *self, const char *user) {
    size_t n = user != NULL ? strlen(user) : 0;
    if (n > BUS_FRAMES_USER_MAX) n = 0;
    memcpy(self->user, user != NULL ? user : "", n);
    self->user[n] = '\0';
}

const char *bus_frames_user(const bus_frames_t *self) { return self->user; }

ProtobufCMessage *bus_frames_unpack(const bus_frames_t *self, size_t i,
                                    const ProtobufCMessageDescriptor *desc,
                                    ProtobufCAllocator *allocator) {
    size_t len;
    const uint8_t *d = bus_frames_data(self, i, &len);
    if (d == NULL) return NULL;
    return protobuf_c_message_unpack(desc, allocator, len, d);
}
