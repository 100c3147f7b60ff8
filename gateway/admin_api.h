/* admin_api — the Admin service (proto/parley/admin/v1), served by the gateway
 * itself because it owns API clients: authorities and API clients of the
 * caller's consortium. Handlers take the thread's gw_thread_t as ctx.
 *
 * An admin acts on an API client only when it holds every authority that
 * client holds: another client is absent from its list and 404 to revoke,
 * exactly as a random id. A supporter-role key is bound to one supporter
 * (supporterId, required), which must be one the admin can see (matching's
 * GetSupporter over the bus, with the admin's principal) serving every
 * authority granted; the supporter role is never combined with a staff role
 * (consortium_admin, caseworker) on one key. */
#ifndef PARLEY_GATEWAY_ADMIN_API_H
#define PARLEY_GATEWAY_ADMIN_API_H

#include "bus/bus.h"
#include "db/db.h"

const db_stmt_t *admin_api_statements(size_t *n);

int admin_create_authority(void *ctx, const bus_request_t *req, bus_response_t *res);
int admin_list_authorities(void *ctx, const bus_request_t *req, bus_response_t *res);
int admin_create_client(void *ctx, const bus_request_t *req, bus_response_t *res);
int admin_list_clients(void *ctx, const bus_request_t *req, bus_response_t *res);
int admin_revoke_client(void *ctx, const bus_request_t *req, bus_response_t *res);
int admin_get_authority(void *ctx, const bus_request_t *req, bus_response_t *res);
int admin_get_client(void *ctx, const bus_request_t *req, bus_response_t *res);

/* The gateway's local methods (these and audit_list), for dispatch. */
const bus_method_t *admin_api_methods(size_t *n);

#endif
