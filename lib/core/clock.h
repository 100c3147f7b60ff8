/* clock — wall and monotonic time in milliseconds. */
#ifndef PARLEY_CORE_CLOCK_H
#define PARLEY_CORE_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (wall clock: for deadlines on the wire). */
int64_t clock_now_ms(void);

/* Milliseconds on a monotonic clock (for intervals inside one process). */
int64_t clock_mono_ms(void);

#endif
