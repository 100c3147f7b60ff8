/* webhook_sender — the thread of each notify process that delivers
 * webhooks (webhook.h), beside the email sender (sender.h).
 *
 * Every interval it claims one due delivery at a time (webhook_queue, FOR
 * UPDATE SKIP LOCKED) and, in that transaction, reads it, its webhook's
 * URL and sealed secret with its authority set, and leases it past the
 * longest a send may take, its tries counted one more: any number of
 * processes share the queue and no two send one delivery. With no
 * transaction open it resolves the URL's host again and checks every
 * address (webhook_address.h), then POSTs the payload with libcurl to the
 * checked address only (CURLOPT_RESOLVE, and an open-socket callback that
 * refuses any other), signed per Standard Webhooks (webhook_sign.h),
 * within PARLEY_WEBHOOK_TIMEOUT_MS, following no redirect and using no
 * proxy. A 2xx answer delivers it; a 5xx, 408 or 429 answer, no connection
 * or a timeout is tried again after an exponential back-off with jitter,
 * up to PARLEY_WEBHOOK_MAX_ATTEMPTS; any other answer, or an address
 * refused, ends it failed. Every attempt is recorded on the delivery
 * (time, response code, error, duration). At least once: a process that
 * dies after the receiver took it sends it again, with the same
 * webhook-id, once the lease runs out. */
#ifndef PARLEY_NOTIFY_WEBHOOK_SENDER_H
#define PARLEY_NOTIFY_WEBHOOK_SENDER_H

#include <stdint.h>

typedef struct {
    const char *conninfo;  /* the service's DSN (borrowed) */
    int64_t interval_ms;   /* PARLEY_WEBHOOK_SEND_INTERVAL_MS */
    int64_t timeout_ms;    /* PARLEY_WEBHOOK_TIMEOUT_MS: one POST */
    int max_attempts;      /* PARLEY_WEBHOOK_MAX_ATTEMPTS: then failed */
    int64_t retry_base_ms; /* PARLEY_WEBHOOK_RETRY_BASE_MS: the first back-off */
    int64_t retry_max_ms;  /* PARLEY_WEBHOOK_RETRY_MAX_MS: the longest */
} webhook_sender_config_t;

typedef struct webhook_sender webhook_sender_t;

/* Starts the thread (webhook_config() must be set); NULL (logged) when it cannot. */
webhook_sender_t *webhook_sender_start(const webhook_sender_config_t *cfg);
void webhook_sender_stop(webhook_sender_t **self);

#endif
