/* health — /healthz (the process answers) and /readyz (broker, PostgreSQL
 * and Redis reachable, with which services have a ready worker). /readyz is
 * 200 "ready" with all three, 200 "degraded" when only Redis is down (the
 * rate limiter then runs locally: "rateLimiter": "local"), else 503
 * "unavailable". Each check also updates parley_dependency_up. */
#ifndef PARLEY_GATEWAY_HEALTH_H
#define PARLEY_GATEWAY_HEALTH_H

#include "gateway/gateway.h"
#include "gateway/http.h"

int health_live(const http_ctx_t *h);
int health_ready(gw_thread_t *t, const http_ctx_t *h);

#endif
