#include <stdlib.h>

#include "core/log.h"
#include "gateway/backend.h"
#include "gateway/gateway.h"

gw_config_t gw_config;

gw_thread_t *gw_thread_new(void) {
    gw_thread_t *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    t->arena = arena_new();
    if (t->arena == NULL) {
        log_error(NULL, "cannot set up a gateway thread");
        gw_thread_destroy(&t);
    }
    return t;
}

void gw_thread_destroy(gw_thread_t **self) {
    if (self == NULL || *self == NULL) return;
    backend_release(*self);
    arena_destroy(&(*self)->arena);
    free(*self);
    *self = NULL;
}
