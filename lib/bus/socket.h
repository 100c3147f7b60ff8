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

typedef struct bus_socket bus_socket_t;

/* A ROUTER bound to endpoint (the broker's side). A send to a peer that is
 * not connected fails with -EHOSTUNREACH rather than being dropped silently.
 * NULL on failure (logged). */
bus_socket_t *bus_socket_router_bind(const char *endpoint);

/* A DEALER connected to endpoint (a client or a worker). When immediate is
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

/* Receives one whole message without waiting. On 0, *out is a new message
 * owned by the caller (a ROUTER's first frame is the sender's address).
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
