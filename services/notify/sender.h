/* sender — the thread of each notify process that delivers what is due.
 *
 * Every interval it claims one queued notification at a time (send_queue,
 * FOR UPDATE SKIP LOCKED) and, in that transaction, reads it with its
 * authority set (row-level security) and leases it: the row's next attempt
 * moves past the longest a send may take (PARLEY_SMTP_TIMEOUT_MS and a
 * minute) and its tries count one more, so any number of processes share
 * the queue and no two send one notification. It sends with no transaction
 * open, then, in one transaction, records the attempt on the notification
 * and either ends it (delivered; failed on a permanent failure or the last
 * attempt) or puts it back with an exponential back-off with jitter.
 * Delivery is at least once: a process that dies (or cannot record) after
 * the SMTP server took a message leaves it leased, to be sent again when
 * the lease runs out, the attempt counted.
 *
 * Channels (notifyapi): a notification names its channels in order (email
 * by default); the sender uses the one at channel_index: email over SMTP
 * (or, with no SMTP server but a Notify email template, through the Notify
 * API), SMS through the Notify API (notify_api.h). A permanent failure
 * (SMTP 5xx, a provider's 4xx, Notify's permanent-failure, a channel with
 * no provider configured) or a channel's last attempt moves to the next
 * channel, its tries counted afresh; the notification ends failed, with
 * the reason, only when the last channel has failed. A message the Notify
 * API took is followed: its queue row keeps Notify's id and is claimed
 * like any other to poll GET /v2/notifications/{id} (PARLEY_NOTIFY_API_POLL_MS,
 * doubling to PARLEY_NOTIFY_RETRY_MAX_MS, at most MAX_POLLS times), the
 * attempt's status settled when Notify's is: delivered; permanent-failure
 * moves on; temporary- or technical-failure sends again after a back-off.
 *
 * contacts (contacts.h): a notification to a person named by id carries no
 * contact details. When it is claimed, the person's preferences may hold
 * it: a non-critical one in a category they opted out of ends suppressed
 * (nothing sent); an SMS within their quiet hours waits until the hours
 * end (deferred, no attempt counted). When it is sent, their email and
 * phone are read from their owner over the bus (ResolveContact), so a
 * correction or an erasure counts at once: a person the owner does not
 * know ends the notification failed at once, every channel alike; an
 * owner that does not answer is a temporary failure. */
#ifndef PARLEY_NOTIFY_SENDER_H
#define PARLEY_NOTIFY_SENDER_H

#include <stdint.h>

#include "services/notify/notify_api.h"
#include "services/notify/smtp.h"

/* Polls of one message's status before it counts as a temporary failure. */
#define SENDER_MAX_POLLS 100

typedef struct {
    const char *conninfo;   /* the service's DSN (borrowed; outlives the sender) */
    const char *bus_endpoint; /* contacts: the broker, to read a person's contact details (borrowed) */
    smtp_config_t smtp;     /* borrowed strings; url "" when email goes otherwise (or not at all) */
    notify_api_config_t api; /* borrowed strings; url "" when there is no Notify API */
    int64_t poll_ms;        /* PARLEY_NOTIFY_API_POLL_MS: the first wait before a status is polled */
    int64_t interval_ms;    /* PARLEY_NOTIFY_SEND_INTERVAL_MS */
    int batch;              /* notifications one tick sends at most */
    int max_attempts;       /* PARLEY_NOTIFY_MAX_ATTEMPTS: then failed */
    int64_t retry_base_ms;  /* PARLEY_NOTIFY_RETRY_BASE_MS: the first back-off */
    int64_t retry_max_ms;   /* PARLEY_NOTIFY_RETRY_MAX_MS: the longest */
} sender_config_t;

typedef struct sender sender_t;

/* Starts the thread; NULL (logged) when it cannot. cfg is copied. */
sender_t *sender_start(const sender_config_t *cfg);
void sender_stop(sender_t **self);

#endif
