/* contacts — the people notify tells by id (issue 13, item 3): their
 * preferences, kept here, and their contact details, never kept here but
 * read from their owner over the bus when they are needed (intake for
 * parents and young people, matching for supporters), so a correction or
 * an erasure takes effect at once.
 *
 * contacts.c          PUT/GET /v1/contacts/{personId}/preferences.
 * contacts_resolve.c  ResolveContact on intake or matching.
 * contacts_send.c     what the sender applies at send time: opt-outs
 *                     (suppressed) and quiet hours (an SMS deferred).
 * Preferences applied when a notification is made (channels, language,
 * format) are read with contacts_prefs_read (notifications.c).
 *
 * Everything returned is in the caller's arena. */
#ifndef PARLEY_NOTIFY_CONTACTS_H
#define PARLEY_NOTIFY_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/bus.h"
#include "db/db.h"

#define CONTACTS_MAX_CHANNELS 3

/* A person's contact details as their owner answered them. */
typedef struct contact_s {
    const char *kind;         /* "parent", "young_person" (intake) or "supporter" (matching) */
    const char *authority;    /* theirs (a supporter's: the first asked for, or of the principal's, they serve) */
    const char *given_name, *family_name;
    const char *email, *phone; /* NULL when none is recorded */
    /* The postal address, when intake records one (letters). */
    const char *address_line1, *address_line2, *town, *postcode;
    const char *language;     /* their preferred language (a supporter's first), or NULL */
    int format;               /* a MessageFormat their communication needs ask for, or 0 */
} contact_t;

/* Reads person_id's contact from its owner with principal p (NULL kind:
 * intake first, then matching), on behalf of request_id. Unless authority
 * is NULL, the person must belong to it (intake's) or serve it
 * (matching's). OK with *out;
 * NOT_FOUND (no such person there: erased, or never one); or UNAVAILABLE
 * (the owner did not answer: try again later). */
bus_code_t contacts_resolve(bus_client_t *bus, arena_t *a, const char *request_id,
                            const Parley__Common__V1__Principal *p, const char *person_id, const char *kind,
                            const char *authority, contact_t *out);

/* Whether a notification can be sent by channel (a Channel value). */
bool contacts_channel_sendable(int channel);

/* A person's preferences as a notification being made reads them. */
typedef struct {
    bool found;
    int channels[CONTACTS_MAX_CHANNELS];
    size_t n_channels;
    const char *language; /* NULL: none set */
    int format;           /* 0: none set */
} contact_prefs_t;

/* The preferences of person_id in authority, in the open transaction on
 * db (notify_register_statements' statements): 0 (out->found false when
 * none are set) or a DB_ERR_*. */
int contacts_prefs_read(db_t *db, arena_t *a, const char *authority, const char *person_id, contact_prefs_t *out);

/* contacts.c: the handlers. */
const db_stmt_t *contacts_statements(size_t *n);
int contacts_put(void *ctx, const bus_request_t *req, bus_response_t *res);
int contacts_get(void *ctx, const bus_request_t *req, bus_response_t *res);

/* contacts_send.c: the sender's checks, on its own connection. */
const db_stmt_t *contacts_send_statements(size_t *n);

typedef enum {
    CONTACTS_SEND = 0,    /* nothing holds it */
    CONTACTS_SUPPRESSED,  /* opted out: ended suppressed, its queue row gone */
    CONTACTS_DEFERRED,    /* quiet hours: its queue row moved to their end */
} contacts_hold_t;

/* In the claim's open transaction (the notification's authority set):
 * whether person_id's preferences hold notification id back now, and if
 * so records it (suppressed with the reason; or deferred, on the queue and
 * on the notification). sms: the channel in use is SMS (only SMS waits for
 * quiet hours; critical notices ignore opt-outs, not quiet hours). 0 with
 * *out, or a DB_ERR_*. */
int contacts_send_check(db_t *db, arena_t *a, const char *id, const char *authority, const char *person_id,
                        const char *category, bool critical, bool sms, contacts_hold_t *out);

#endif
