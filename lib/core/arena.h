/* arena — a memory pool per request: everything one request allocates is
 * freed at once by arena_reset or arena_destroy.
 *
 * Also serves as protobuf-c's allocator (arena_pb_allocator), so a message
 * unpacked or built in an arena needs no protobuf_c_message_free_unpacked.
 * Not thread-safe: one arena belongs to one thread at a time.
 */
#ifndef PARLEY_CORE_ARENA_H
#define PARLEY_CORE_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena_t;

/* A new empty arena. Returns NULL when out of memory. */
arena_t *arena_new(void);

/* Frees the arena and everything in it; sets *self to NULL. */
void arena_destroy(arena_t **self);

/* Frees everything allocated so far; the arena stays usable. Keeps the first
 * block so a steady request load does not touch malloc. */
void arena_reset(arena_t *self);

/* size bytes, zeroed, aligned for any type. NULL when out of memory. */
void *arena_alloc(arena_t *self, size_t size);

/* Copies. NULL when out of memory (or s is NULL). */
char *arena_strdup(arena_t *self, const char *s);
char *arena_strndup(arena_t *self, const char *s, size_t n);
void *arena_memdup(arena_t *self, const void *p, size_t n);

/* A formatted string in the arena. NULL when out of memory. */
char *arena_printf(arena_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena_t *self, const char *fmt, va_list ap);

/* A protobuf-c allocator that allocates in this arena (free is a no-op).
 * The pointer is owned by the arena. */
ProtobufCAllocator *arena_pb_allocator(arena_t *self);

#endif
