/* socket — the bus's ZeroMQ sockets behind a zmq-free interface, so that
 * lib/bus stays the only includer of zmq.h while the broker (services/broker)
 * can still own a socket.
 *
 * Every socket has ZMQ_LINGER 0: closing it drops unsent messages at once
 * instead of blocking the process. All calls are non-blocking except
 * bus_socket_wait, which is bounded by its timeout. Sockets share one ZeroMQ
 * context per process, created with the first socket and ended with the last.
 * A socket belongs to one thread at a time.
 */
#ifndef PARLEY_BUS_SOCKET_H
#define PARLEY_BUS_SOCKET_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/frames.h"
#include "bus/keys.h"

typedef struct bus_socket bus_socket_t;

/* A ROUTER bound to endpoint (the broker's side). A send to a peer that is
 * not connected fails with -EHOSTUNREACH rather than being dropped silently.
 * With server_secret (else NULL: plaintext) it is a CURVE server: a peer that
 * does not complete a CURVE handshake sends nothing, and the process's ZAP
 * handler (bus_socket_zap_bind, bound first) decides which client keys are
 * accepted and names each connection's User-Id. NULL on failure (logged). */
bus_socket_t *bus_socket_router_bind(const char *endpoint, const bus_key_t *server_secret);

/* The process's ZAP handler socket (ZeroMQ RFC 27): a REP bound to
 * inproc://zeromq.zap.01. Every CURVE handshake with this process's sockets
 * waits for the answer to a request on it (bus/zap.h). NULL on failure
 * (logged; -EADDRINUSE when the process has one already). */
bus_socket_t *bus_socket_zap_bind(void);

/* A DEALER connected to endpoint (a client or a worker), a CURVE client with
 * the process's keys when bus/auth.h has them. When immediate is
 * true, messages are queued only to a completed connection, so a send while
 * the broker is down fails with -EAGAIN instead of being delivered late after
 * the caller has given up: a client wants that; a worker, whose READY should
 * wait for the broker, does not. Connects in the background. NULL on failure
 * (logged). */
bus_socket_t *bus_socket_dealer_connect(const char *endpoint, bool immediate);

/* Closes the socket, dropping anything unsent; sets *self to NULL. */
void bus_socket_destroy(bus_socket_t **self);

/* Lets a socket about to be destroyed spend up to linger_ms delivering what
 * it has queued: for a last goodbye (DISCONNECT) that should reach the peer.
 * The wait happens when the process's last socket is closed. */
void bus_socket_linger(bus_socket_t *self, int linger_ms);

#define BUS_POLL_IN 1  /* a message can be received */
#define BUS_POLL_OUT 2 /* a message can be sent */

/* Waits up to timeout_ms (>= 0) for any of events. Returns the events that
 * are ready (> 0), 0 on timeout, -EINTR when a signal arrived, -EIO on any
 * other failure. */
int bus_socket_wait(bus_socket_t *self, int events, int timeout_ms);

/* Waits up to timeout_ms (>= 0) until any of the n sockets has a message.
 * Returns how many do (> 0, with bit i of *ready set for socks[i]), 0 on
 * timeout, -EINTR when a signal arrived, -EINVAL for n over 8, -EIO. */
int bus_socket_wait_in(bus_socket_t *const *socks, int n, int timeout_ms, unsigned *ready);

/* Receives one whole message without waiting. On 0, *out is a new message
 * owned by the caller (a ROUTER's first frame is the sender's address), with
 * the connection's User-Id when it has one (bus_frames_user).
 * -EAGAIN when nothing is waiting, -EBADMSG when the message had too many
 * frames (it is discarded), -ENOMEM, -EIO. */
int bus_socket_recv(bus_socket_t *self, bus_frames_t **out);

/* Sends n parts as one message without waiting (a ROUTER's first part is
 * the peer's address). 0; -EAGAIN when it cannot be queued now (see
 * immediate, or the peer's queue is full); -EHOSTUNREACH when a ROUTER has
 * no such peer; -EIO otherwise. On -EAGAIN and -EHOSTUNREACH nothing was
 * sent. */
int bus_socket_send(bus_socket_t *self, const bus_part_t *parts, size_t n);

#endif
