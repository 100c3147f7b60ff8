/* conn_limit — at most a set number of open HTTP connections from one
 * client address, so a few hundred hostile connections from one place
 * cannot take every thread the gateway has.
 *
 * CivetWeb 1.15 has no hook between accept() and queueing the socket for a
 * worker thread, and its init_connection callback cannot refuse. So this
 * module defines accept() in the gateway's executable: the dynamic linker
 * binds libcivetweb's call to it (an executable's definitions come first in
 * symbol lookup), and a connection past its address's cap is answered a
 * short 503 and closed by the accepting thread before any worker thread is
 * spent on it. Nothing else in the gateway accepts connections (ZeroMQ,
 * which could, calls accept4). The count goes down in CivetWeb's
 * connection_close callback (conn_limit_closed).
 *
 * Behind a reverse proxy every connection comes from the proxy's address:
 * set the cap to 0 (off) there, and let the proxy limit per client.
 */
#ifndef PARLEY_GATEWAY_CONN_LIMIT_H
#define PARLEY_GATEWAY_CONN_LIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Starts counting: at most per_addr open connections from one address (0:
 * no limit, and accept() is plain accept()). Call once before the server
 * starts. */
void conn_limit_init(int per_addr);

/* A connection from remote_addr (as CivetWeb prints it: "127.0.0.1", "::1")
 * has closed. */
void conn_limit_closed(const char *remote_addr);

/* Connections refused so far (for /metrics) and open now. */
uint64_t conn_limit_refused(void);
size_t conn_limit_open(void);

#endif
