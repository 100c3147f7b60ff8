#include "bus/signals.h"

#include <errno.h>
#include <stddef.h>

static volatile sig_atomic_t *stop_flag;

static void signals_on_term(int sig) {
    (void)sig;
    if (stop_flag != NULL) *stop_flag = 1;
}

int bus_signals_stop_on_term(volatile sig_atomic_t *stop) {
    stop_flag = stop;
    struct sigaction sa = {0};
    sa.sa_handler = signals_on_term;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: interrupt the poll */
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) return -errno;
    return 0;
}
