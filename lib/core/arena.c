#include "core/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 16384

typedef struct block {
    struct block *next;
    size_t cap, used;
    alignas(max_align_t) unsigned char data[];
} block_t;

struct arena {
    block_t *head; /* current block; the first block is last in the list */
    ProtobufCAllocator pb;
};

static void *arena_pb_alloc(void *data, size_t size) { return arena_alloc(data, size); }
static void arena_pb_free(void *data, void *p) {
    (void)data;
    (void)p;
}

static block_t *block_new(size_t min) {
    size_t cap = min > ARENA_BLOCK ? min : ARENA_BLOCK;
    block_t *b = malloc(sizeof *b + cap);
    if (b == NULL) return NULL;
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

arena_t *arena_new(void) {
    arena_t *a = calloc(1, sizeof *a);
    if (a == NULL) return NULL;
    a->head = block_new(ARENA_BLOCK);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    a->pb.alloc = arena_pb_alloc;
    a->pb.free = arena_pb_free;
    a->pb.allocator_data = a;
    return a;
}

void arena_reset(arena_t *self) {
    while (self->head->next != NULL) {
        block_t *b = self->head;
        self->head = b->next;
        free(b);
    }
    self->head->used = 0;
}

void arena_destroy(arena_t **self) {
    if (self == NULL || *self == NULL) return;
    arena_reset(*self);
    free((*self)->head);
    free(*self);
    *self = NULL;
}

void *arena_alloc(arena_t *self, size_t size) {
    const size_t align = alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    if (size == 0) size = align;
    block_t *b = self->head;
    if (b->cap - b->used < size) {
        b = block_new(size);
        if (b == NULL) return NULL;
        b->next = self->head;
        self->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

void *arena_memdup(arena_t *self, const void *p, size_t n) {
    void *q = arena_alloc(self, n + 1);
    if (q != NULL && n > 0) memcpy(q, p, n);
    return q;
}

char *arena_strndup(arena_t *self, const char *s, size_t n) {
    if (s == NULL) return NULL;
    return arena_memdup(self, s, n); /* arena_alloc zeroed the NUL */
}

char *arena_strdup(arena_t *self, const char *s) {
    return s == NULL ? NULL : arena_strndup(self, s, strlen(s));
}

char *arena_vprintf(arena_t *self, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NULL;
    char *s = arena_alloc(self, (size_t)n + 1);
    if (s != NULL) vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *arena_printf(arena_t *self, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = arena_vprintf(self, fmt, ap);
    va_end(ap);
    return s;
}

ProtobufCAllocator *arena_pb_allocator(arena_t *self) { return &self->pb; }
