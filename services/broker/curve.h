/* curve — the broker's side of CurveZMQ: its secret key, the allow-list of
 * client keys (allow.h) and the ZAP handler that applies it to every
 * handshake, naming each accepted connection's User-Id after its key's kind.
 *
 * Configuration: PARLEY_BUS_KEYS_DIR, the key directory (bus/keys.h), of
 * which the broker reads broker.key and the *.pub files only. Without it
 * the broker runs plaintext, which it allows only on an endpoint that this
 * machine alone can reach (policy_endpoint_is_local).
 */
#ifndef PARLEY_BROKER_CURVE_H
#define PARLEY_BROKER_CURVE_H

#include "bus/keys.h"
#include "bus/socket.h"

typedef struct broker_curve broker_curve_t;

/* Sets up CURVE for a broker about to bind endpoint: 0 with *out (CURVE
 * on: the ZAP handler is bound and answers from now on), 0 with *out NULL
 * (plaintext: no keys configured, and endpoint is local), or -1 when the
 * broker must not start (logged): keys configured but unusable, an empty
 * allow-list, or no keys for an endpoint beyond this machine. */
int broker_curve_open(const char *endpoint, broker_curve_t **out);

void broker_curve_destroy(broker_curve_t **self);

/* The broker's secret key, for bus_socket_router_bind (borrowed). */
const bus_key_t *broker_curve_secret(const broker_curve_t *self);

/* The ZAP handler's socket, to poll beside the broker's own (borrowed). */
bus_socket_t *broker_curve_zap(const broker_curve_t *self);

/* Answers the ZAP requests waiting. 0, or -1 when the handler's socket
 * failed (logged). */
int broker_curve_serve(broker_curve_t *self);

/* Logs how many connections were refused since the last report, beyond
 * the few logged one by one. */
void broker_curve_report(broker_curve_t *self);

#endif
