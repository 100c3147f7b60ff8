/* webhook — partner agencies' and staff's signed webhooks (issue 13, item 2):
 * the routes (webhooks.c), the fan-out of an event to the webhooks that
 * want it (webhooks.c, called by events.c in the transaction that claims
 * the event), and the sender thread of each notify process
 * (webhook_sender.c).
 *
 * A partner agency's webhook (scope referrals: a key holding
 * partner_agency and not consortium_admin) gets only events about cases
 * its own API client opened: intake puts the opening client's id in each
 * case event (openedByClientId, docs/events.md). A consortium admin's
 * (scope authority) gets every event of the webhook's authority. Either
 * sees, lists and deletes only the webhooks its own client made; another's
 * is 404, as a random id. */
#ifndef PARLEY_NOTIFY_WEBHOOK_H
#define PARLEY_NOTIFY_WEBHOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "db/db.h"
#include "parley/events/v1/events.pb-c.h"
#include "services/notify/webhook_address.h"
#include "services/notify/webhook_sign.h"

/* What the handlers and the sender read; set once in main before any
 * thread starts and never changed after, so it needs no lock. */
typedef struct {
    bool have_key;                      /* PARLEY_WEBHOOK_KEY was given */
    unsigned char key[WEBHOOK_KEY_LEN]; /* seals the secrets */
    webhook_allow_t allow;              /* PARLEY_WEBHOOK_ALLOW_HOSTS */
} webhook_config_t;

void webhook_configure(const webhook_config_t *cfg);
const webhook_config_t *webhook_config(void);

const db_stmt_t *webhooks_statements(size_t *n);

int webhooks_create(void *ctx, const bus_request_t *req, bus_response_t *res);
int webhooks_list(void *ctx, const bus_request_t *req, bus_response_t *res);
int webhooks_get(void *ctx, const bus_request_t *req, bus_response_t *res);
int webhooks_delete(void *ctx, const bus_request_t *req, bus_response_t *res);
int webhooks_deliveries(void *ctx, const bus_request_t *req, bus_response_t *res);

/* Whether notify hands events of this type to webhooks. */
bool webhooks_event_type(const char *type);

/* Queues ev for every webhook of its authority that wants its type (a
 * partner's only when the event's openedByClientId is its client), in the
 * open transaction on db, which has claimed the event (inbox_claim): at
 * most once per webhook and event. 0 or a DB_ERR_*. */
int webhooks_fan_out(db_t *db, arena_t *a, const Parley__Events__V1__Event *ev);

#endif
