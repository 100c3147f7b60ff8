/* conns — the gateway's open HTTP connections: which socket each is, and at
 * most a set number of them from one client address, so a few hundred
 * hostile connections from one place cannot take every thread there is.
 *
 * CivetWeb 1.15 has no hook between accept() and queueing the socket for a
 * worker thread, its init_connection callback cannot refuse, and it does not
 * tell a handler its socket. So this module defines accept() in the
 * gateway's executable: the dynamic linker binds libcivetweb's call to it
 * (an executable's definitions come first in symbol lookup). Each accepted
 * socket is recorded with its peer's address and port; one past its
 * address's cap is answered a short 503 and closed by the accepting thread
 * before any worker thread is spent on it. Nothing else in the gateway
 * accepts connections (ZeroMQ, which could, calls accept4). The record goes
 * in CivetWeb's connection_close callback (conns_closed).
 *
 * Open connections are bounded by CivetWeb's threads plus its queue, so the
 * record is a short array scanned linearly.
 *
 * Behind a reverse proxy every connection comes from the proxy's address:
 * set the cap to 0 (off) there, and let the proxy limit per client.
 */
#ifndef PARLEY_GATEWAY_CONNS_H
#define PARLEY_GATEWAY_CONNS_H

#include <stddef.h>
#include <stdint.h>

/* At most per_addr open connections from one address (0: no cap). Call once
 * before the server starts. */
void conns_init(int per_addr);

/* The connection from remote_addr (as CivetWeb prints it: "127.0.0.1",
 * "::1") and remote_port has closed. */
void conns_closed(const char *remote_addr, int remote_port);

/* The socket of the open connection from remote_addr:remote_port, or -1.
 * Valid until conns_closed for it. */
int conns_fd(const char *remote_addr, int remote_port);

/* Connections refused so far (for /metrics), and open now. */
uint64_t conns_refused(void);
size_t conns_open(void);

#endif
