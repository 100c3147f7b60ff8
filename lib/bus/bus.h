/* bus — requests and replies through the broker (a Majordomo-style protocol,
 * after ZeroMQ RFC 7). The only module that includes zmq.h.
 *
 * Wire format (every message starts with an empty delimiter frame, since
 * clients and workers are DEALER sockets talking to the broker's ROUTER):
 *
 *   client -> broker  "" "PC01" service corr_id deadline_ms header payload
 *   broker -> client  "" "PC01" service corr_id status payload
 *   worker -> broker  "" "PW01" 0x01(READY) service
 *                     "" "PW01" 0x03(REPLY) client_addr corr_id status payload
 *                     "" "PW01" 0x04(HEARTBEAT)
 *                     "" "PW01" 0x05(DISCONNECT)
 *   broker -> worker  "" "PW01" 0x02(REQUEST) client_addr corr_id header payload
 *                     "" "PW01" 0x04(HEARTBEAT)
 *                     "" "PW01" 0x05(DISCONNECT)
 *
 * corr_id is the client's own correlation id (opaque to broker and worker);
 * deadline_ms is decimal milliseconds since the Unix epoch; header is a
 * packed parley.common.v1.RequestHeader; status a packed Status.
 * The broker answers service "mmi.service" itself: payload is a service name,
 * status OK when it has a ready worker, NOT_FOUND otherwise.
 *
 * Clarifications (as implemented):
 * - "A ready worker" for mmi.service is a registered live worker, idle or
 *   busy: the service is being served. Other "mmi.*" names get UNIMPLEMENTED.
 * - Replies the broker writes itself carry an empty payload: UNAVAILABLE with
 *   retry_after_seconds 1 for a request no worker took before its deadline
 *   (answered at the deadline, never dropped), for a full service queue and
 *   for requests still waiting when the broker shuts down; DEADLINE_EXCEEDED
 *   for a request that arrives after its deadline (it is not dispatched);
 *   INVALID_ARGUMENT for a malformed request.
 * - A REPLY from a worker the broker does not know (it restarted, or dropped
 *   the worker) is still forwarded, with an empty service frame, and the
 *   worker gets DISCONNECT; so does a HEARTBEAT from one. Clients match
 *   replies by corr_id only.
 * - The broker acknowledges READY with an immediate HEARTBEAT, and sends
 *   DISCONNECT to every worker when it shuts down cleanly.
 * - A worker answers DEADLINE_EXCEEDED, without running the handler, for a
 *   request whose header deadline has passed when it gets to it.
 *
 * Authentication (bus/auth.h, bus/keys.h; the broker's side in
 * services/broker/curve.c and policy.c): with keys configured every socket
 * is CURVE, the broker's ZAP handler admits only allow-listed client keys
 * and names each connection by its key's kind, and the broker then refuses,
 * on that kind: a READY for another service than the kind's (DISCONNECT), a
 * request carrying a principal from any kind but the gateway unless it acts
 * for a caller the sender's kind is serving right now (PERMISSION_DENIED,
 * answered by the broker), and a REPLY to a request its worker was not
 * given (dropped; so a reply from an unknown worker is not forwarded then).
 */
#ifndef PARLEY_BUS_BUS_H
#define PARLEY_BUS_BUS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/problems.h"
#include "core/arena.h"
#include "parley/common/v1/envelope.pb-c.h"

#define BUS_CLIENT_PROTO "PC01"
#define BUS_WORKER_PROTO "PW01"
#define BUS_READY 0x01
#define BUS_REQUEST 0x02
#define BUS_REPLY 0x03
#define BUS_HEARTBEAT 0x04
#define BUS_DISCONNECT 0x05

#define BUS_HEARTBEAT_MS 1000 /* both directions */
#define BUS_HEARTBEAT_LIVENESS 3 /* missed beats before a peer is dead */

typedef Parley__Common__V1__Code bus_code_t;
typedef Parley__Common__V1__Status bus_status_t;
typedef Parley__Common__V1__RequestHeader bus_header_t;

/* ---- client ------------------------------------------------------------ */

typedef struct bus_client bus_client_t;

/* A client connected to the broker at endpoint. One per thread: the socket is
 * not thread-safe. Returns NULL on failure (logged). */
bus_client_t *bus_client_new(const char *endpoint);

/* Closes the socket; sets *self to NULL. */
void bus_client_destroy(bus_client_t **self);

typedef struct {
    bus_status_t *status; /* in the arena given to the call */
    uint8_t *payload;     /* in the arena; the packed reply message */
    size_t payload_len;
} bus_reply_t;

/* Sends header+payload to service and waits up to timeout_ms for the reply.
 * Sets header->deadline_unix_ms to now + timeout_ms for each attempt. When
 * idempotent is true and no reply arrives in time, sends once more (a fresh
 * correlation id; a late reply to the first attempt is then still accepted,
 * any other stale reply is discarded). The reply is unpacked into arena.
 * Returns 0 when a reply arrived (its status may be an error), -ETIMEDOUT
 * when none did, -EIO on a socket or decoding failure.
 * Details: each attempt listens a further 50 ms past its deadline, the time
 * for the broker's own UNAVAILABLE (sent at the deadline) to arrive; a late
 * reply to the first attempt is accepted only when it carries an outcome
 * (not DEADLINE_EXCEEDED or UNAVAILABLE, which say it was never served);
 * while the broker is unreachable nothing is queued, so a request is never
 * delivered after its caller gave up. timeout_ms <= 0 gives -ETIMEDOUT. */
int bus_client_call(bus_client_t *self, arena_t *arena, const char *service, bus_header_t *header,
                    const uint8_t *payload, size_t payload_len, int timeout_ms, bool idempotent,
                    bus_reply_t *reply);

/* Asks the broker whether service has a ready worker. 1 yes, 0 no, -ETIMEDOUT
 * when the broker did not answer within timeout_ms. */
int bus_client_service_ready(bus_client_t *self, const char *service, int timeout_ms);

/* ---- worker ------------------------------------------------------------ */

typedef struct {
    const bus_header_t *header;    /* never NULL; principal may be NULL */
    const ProtobufCMessage *input; /* unpacked with the method's input descriptor */
} bus_request_t;

typedef struct {
    arena_t *arena;          /* per request; reset by the worker loop after the reply */
    bus_status_t status;     /* CODE_OK unless the handler sets an error */
    ProtobufCMessage *reply; /* set by the handler on success; packed by the loop */
} bus_response_t;

/* A handler answers one request. It allocates from res->arena only, sets
 * res->reply on success, or sets an error with bus_response_error /
 * bus_response_violation. Its return value is ignored except that a negative
 * one with no error set becomes INTERNAL. */
typedef int (*bus_handler_fn)(void *ctx, const bus_request_t *req, bus_response_t *res);

typedef struct {
    const char *name;                         /* e.g. "CreateFamily" */
    const ProtobufCMessageDescriptor *input;  /* request message type */
    bus_handler_fn handler;
} bus_method_t;

/* Sets res->status to code with a formatted message (in the arena); the
 * cause is the generic word of code's HTTP status (bus/problems.h). */
void bus_response_error(bus_response_t *res, bus_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets res->status to the cause problem (bus/problems.h): its status code
 * and word (Status.reason), and a formatted message, or the cause's own
 * detail when fmt is NULL. A handler names every cause through this, so
 * none can be answered that /docs/problems does not list. */
void bus_response_problem(bus_response_t *res, bus_problem_t problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets only the cause's word, keeping the code, message and violations
 * (a field violation with a cause of its own: child_has_cases). */
void bus_response_reason(bus_response_t *res, bus_problem_t problem);

/* Adds a field violation and sets the code to INVALID_ARGUMENT (message
 * "invalid request" unless one is set). field is a JSON path ("parents[0].email"). */
void bus_response_violation(bus_response_t *res, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct bus_worker bus_worker_t;

/* A worker for service, answering the given methods (borrowed; must outlive
 * the worker) plus a built-in "Ping" (parley.ping.v1). ctx is passed to
 * every handler. Connects lazily in bus_worker_run. NULL on failure. */
bus_worker_t *bus_worker_new(const char *endpoint, const char *service, const bus_method_t *methods,
                             size_t n_methods, void *ctx);

void bus_worker_destroy(bus_worker_t **self);

/* Serves requests until *stop becomes non-zero (a signal handler sets it,
 * or another thread with __atomic_store_n: *stop is read atomically).
 * Sends READY and heartbeats; when the broker is silent for
 * BUS_HEARTBEAT_LIVENESS beats, reconnects and registers again.
 * Returns 0 on a requested stop, -1 on a fatal error (no socket can be made
 * for the endpoint; a broker that is merely down is waited for). On stop it
 * sends DISCONNECT so the broker stops routing to it at once. Logs one line
 * per request: requestId, and in msg the method, code and durationMs. */
int bus_worker_run(bus_worker_t *self, volatile sig_atomic_t *stop);

/* The code's canonical name, e.g. "INVALID_ARGUMENT". Static storage. */
const char *bus_code_name(bus_code_t code);

#endif
