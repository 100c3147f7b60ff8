/* read_deadline — a watchdog for the reads CivetWeb would let a trickle
 * stretch: mg_read waits for as long as each byte comes within
 * request_timeout_ms of the one before, so a client sending one byte every
 * few seconds holds a thread for as long as it likes. While a deadline is
 * armed for a socket, a watchdog thread shuts the socket's reading side
 * (shutdown SHUT_RD) when the deadline passes: the blocked read returns at
 * once, and the handler can still write its answer (408) before the
 * connection is closed.
 */
#ifndef PARLEY_GATEWAY_READ_DEADLINE_H
#define PARLEY_GATEWAY_READ_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

/* One armed deadline; the caller's storage (on its stack), linked in while
 * armed. */
typedef struct read_deadline {
    int fd;
    int64_t at_ms; /* monotonic (core/clock.h clock_mono_ms) */
    bool fired;
    struct read_deadline *prev, *next;
} read_deadline_t;

/* Starts the watchdog thread. 0 or -1. */
int read_deadline_start(void);

/* Stops it (nothing may be armed). */
void read_deadline_stop(void);

/* Arms d: at at_ms, fd's reading side is shut unless d is disarmed first. */
void read_deadline_arm(read_deadline_t *d, int fd, int64_t at_ms);

/* Disarms d; after this the watchdog never touches fd for d. Returns whether
 * it fired (the socket's reading side is shut). */
bool read_deadline_disarm(read_deadline_t *d);

#endif
