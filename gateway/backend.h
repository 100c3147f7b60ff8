/* backend — what a request needs to reach the rest of Parley (a broker
 * socket, a PostgreSQL connection with the gateway's statements, a Redis
 * connection), pooled.
 *
 * CivetWeb gives each open HTTP connection a thread of its own, so the
 * gateway runs many threads (cheap at 100 KiB of stack each) to keep a few
 * hundred slow or idle clients from starving everyone else. A connection to
 * PostgreSQL is not cheap, so threads do not own one: a thread borrows a
 * backend only while it works on a request it has fully received, and gives
 * it back before it waits on a client again (e.g. while reading a body).
 *
 * Backends are made on first need, up to the pool's size, and kept. A
 * backend moves between threads only through the pool's mutex, which is
 * the memory barrier ZeroMQ asks for when a socket changes threads; it is
 * used by one thread at a time.
 */
#ifndef PARLEY_GATEWAY_BACKEND_H
#define PARLEY_GATEWAY_BACKEND_H

#include <stddef.h>

#include "gateway/gateway.h"

/* Sets the pool's size (at most size backends in all). Call once, before
 * any thread holds one. 0 or -1 (size 0). */
int backend_pool_init(size_t size);

/* Closes every backend (none may be held); the pool can be set up again. */
void backend_pool_destroy(void);

/* Lends t a backend (t->bus, t->db and t->kv are set), waiting up to wait_ms
 * for one to be free. A thread that holds one already keeps it: 0 at once.
 * 0; -ETIMEDOUT when none was free in time; -EIO when a new one could not
 * be set up (logged). */
int backend_hold(gw_thread_t *t, int wait_ms);

/* Gives t's backend back (t->bus, t->db, t->kv become NULL). Does nothing
 * when t holds none. */
void backend_release(gw_thread_t *t);

/* How many backends exist and how many are lent now (for /metrics). */
void backend_pool_stats(size_t *made, size_t *lent);

#endif
