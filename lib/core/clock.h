/* clock — wall and monotonic time in milliseconds. */
#ifndef PARLEY_CORE_CLOCK_H
#define PARLEY_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch (wall clock: for deadlines on the wire). */
int64_t clock_now_ms(void);

/* Milliseconds on a monotonic clock (for intervals inside one process). */
int64_t clock_mono_ms(void);

/* The time ms milliseconds from now on clock clock_id (CLOCK_REALTIME,
 * CLOCK_MONOTONIC), for pthread_cond_timedwait and friends. */
struct timespec clock_timespec_in(int clock_id, int64_t ms);

#endif
