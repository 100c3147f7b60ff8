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
 * the lease runs out, the attempt counted. */
#ifndef PARLEY_NOTIFY_SENDER_H
#define PARLEY_NOTIFY_SENDER_H

#include <stdint.h>

#include "services/notify/smtp.h"

typedef struct {
    const char *conninfo;   /* the service's DSN (borrowed; outlives the sender) */
    smtp_config_t smtp;     /* borrowed strings */
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
