/* health — /healthz (the process answers) and /readyz (broker, PostgreSQL
 * and Redis reachable, with which services have a ready worker). */
#ifndef PARLEY_GATEWAY_HEALTH_H
#define PARLEY_GATEWAY_HEALTH_H

#include "gateway/gateway.h"
#include "gateway/http.h"

int health_live(const http_ctx_t *h);
int health_ready(gw_thread_t *t, const http_ctx_t *h);

#endif
