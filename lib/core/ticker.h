/* ticker — a background thread that calls a function every interval.
 *
 * The thread runs setup once, then tick, then waits interval_ms (or less,
 * when ticker_wake is called) and ticks again, until ticker_destroy; then it
 * runs teardown once. setup, tick and teardown all run ON the ticker's
 * thread, so what they open there (a db_t, a bus_client_t: libpq
 * connections and ZeroMQ sockets are one per thread) is the thread's own.
 *
 * The relay (svc/relay.h) and matching's sweeper are tickers.
 */
#ifndef PARLEY_CORE_TICKER_H
#define PARLEY_CORE_TICKER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ticker ticker_t;

/* Runs first on the thread. Returns 0, or -1 when the thread cannot work
 * (it then logs why itself): no tick runs and the thread ends. */
typedef int (*ticker_setup_fn)(void *ctx);

/* One round of work. Returns 0 to wait an interval before the next, or
 * more than 0 to tick again at once (there is more to do); either way the
 * thread ends first if it has been told to stop. */
typedef int (*ticker_tick_fn)(void *ctx);

/* Runs last on the thread, exactly once, whether setup succeeded or not
 * (so it frees what a failed setup made in part). */
typedef void (*ticker_teardown_fn)(void *ctx);

typedef struct {
    int64_t interval_ms;         /* the wait after a tick that returned 0 (> 0) */
    ticker_setup_fn setup;       /* optional */
    ticker_tick_fn tick;         /* required */
    ticker_teardown_fn teardown; /* optional */
    void *ctx;                   /* passed to all three (borrowed: must outlive the ticker) */
} ticker_config_t;

/* Starts the thread. Returns NULL when it cannot, with nothing started and
 * nothing logged (the caller says what could not start). */
ticker_t *ticker_new(const ticker_config_t *cfg);

/* Ends the wait under way, or the next one, so a tick runs soon. */
void ticker_wake(ticker_t *self);

/* True once setup has failed (the thread has then ended without ticking). */
bool ticker_has_failed(ticker_t *self);

/* Tells the thread to stop, waits for the tick under way and teardown to
 * finish, frees everything and sets *self to NULL. NULL-safe. */
void ticker_destroy(ticker_t **self);

#endif
