/* signals — the stop flag every Parley process serves under.
 *
 * Lives in bus because every process that installs it is a bus peer (the
 * broker and the workers); it has no ZeroMQ in it.
 */
#ifndef PARLEY_BUS_SIGNALS_H
#define PARLEY_BUS_SIGNALS_H

#include <signal.h>

/* Makes SIGTERM and SIGINT set *stop to 1 instead of ending the process.
 * Installed without SA_RESTART, so a wait in progress (bus_worker_run's
 * poll) returns at once and sees the flag. stop must outlive the process
 * (a static); one flag per process, a second call replaces the first.
 * Returns 0, or -errno when a handler cannot be installed. */
int bus_signals_stop_on_term(volatile sig_atomic_t *stop);

#endif
