/* status — the replies the broker writes itself rather than forwards: a
 * request no worker took before its deadline, one that arrived too late, a
 * queue that is full, and the mmi.service answer. No sockets here. */
#ifndef PARLEY_BROKER_STATUS_H
#define PARLEY_BROKER_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"

#define BROKER_RETRY_AFTER_S 1 /* what an UNAVAILABLE from the broker advises */

/* A packed parley.common.v1.Status (malloc'd, the caller's to free) and its
 * length in *len. NULL when out of memory. */
uint8_t *broker_status_pack(bus_code_t code, const char *message, int32_t retry_after_s,
                            size_t *len);

/* The answer to a request that waited for a worker of service until its
 * deadline: UNAVAILABLE, retry after BROKER_RETRY_AFTER_S. As above. */
uint8_t *broker_status_unavailable(const char *service, size_t *len);

#endif
