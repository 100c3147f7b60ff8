/* Notifications: a message made from an authority's template for one
 * recipient, rendered when it is created (so a missing value is a 400
 * then, never an empty gap in what a family reads) and sent in the
 * background by the senders (sender.h). Each keeps every attempt. */
#include <string.h>

#include "core/ids.h"
#include "pb/pb.h"
#include "services/notify/contacts.h"
#include "services/notify/letter.h"
#include "services/notify/notify.h"
#include "services/notify/render.h"
#include "services/notify/sms.h"
#include "svc/page_token.h"
#include "svc/svc.h"

typedef Parley__Notify__V1__Notification notification_t;
typedef Parley__Notify__V1__CreateNotificationRequest create_t;

#define MAX_DATA 50
#define MAX_CHANNELS 3
#define MAX_SUBJECT 1000
#define MAX_BODY 100000
/* The longest text GOV.UK Notify sends as one SMS. */
#define MAX_SMS_CHARACTERS 918
#define COLUMNS                                                                                               \
    "id, authority_id, template_key, case_id, category, critical, channel, email, requested_language,"       \
    " requested_format, language, language_fallback, format, format_fallback, subject, body, status,"        \
    " attempts::text, failure_reason, " DB_MICROS("created_at") ", " DB_MICROS("updated_at") ", "             \
    DB_MICROS("delivered_at") ", phone, array_to_string(channels, ','), sms_text, sms_encoding, sms_segments,"  \
    " person_id, " DB_MICROS("deferred_until") ","                                                             \
    " to_char(deferred_until AT TIME ZONE deferred_zone, 'YYYY-MM-DD\"T\"HH24:MI:SS'), deferred_zone,"          \
    " array_to_json(address_lines)::text, address_postcode, letter_pages, letter_font_size"

static const db_stmt_t stmts[] = {
    {"n_template", "SELECT translations::text FROM templates WHERE authority_id = $1 AND key = $2"},
    /* The notification and its place in the send queue, in one statement,
     * answering the row as n_get reads it. */
    {"n_insert",
     "WITH n AS (INSERT INTO notifications (id, authority_id, template_key, case_id, category, critical, channel,"
     " email, requested_language, requested_format, language, language_fallback, format, format_fallback, subject,"
     " body, html, created_by_client, source_event, phone, channels, sms_text, sms_encoding, sms_segments,"
     " person_id, person_kind)"
     " VALUES ($1, $2, $3, $4, $5, $6::boolean, ($20::text[])[1], $7, $8, $9, $10, $11::boolean, $12, $13::boolean,"
     " $14, $15, $16, $17, $18, $19, $20::text[], $21, $22, $23::integer, $24::uuid, $25) RETURNING *),"
     " q AS (INSERT INTO send_queue (notification_id, authority_id) SELECT id, authority_id FROM n)"
     " SELECT " COLUMNS ", audit.touch(id::text, authority_id) FROM n"},
    /* letters: the letter of the notification just inserted ($1), its row as n_get reads it. */
    {"n_letter",
     "UPDATE notifications SET address_lines = $2::text[], address_postcode = $3, letter_pdf = $4::bytea,"
     " letter_pages = $5::integer, letter_font_size = $6::integer WHERE id = $1 RETURNING " COLUMNS},
    {"n_get", "SELECT " COLUMNS ", audit.touch(id::text, authority_id) FROM notifications WHERE id = $1"},
    {"n_list",
     "SELECT " COLUMNS ", audit.listed(id::text, $4::int - 1) FROM notifications WHERE case_id = $1"
     " AND ($2::bigint IS NULL OR (created_at, id) > (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY created_at, id LIMIT $4"},
};

const db_stmt_t *notifications_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static Parley__Notify__V1__Attempt **parse_attempts(arena_t *a, const char *text, size_t *n) {
    *n = 0;
    json_t *arr = pb_json_loadb(text ? text : "", text ? strlen(text) : 0, 0, NULL);
    size_t count = json_is_array(arr) ? json_array_size(arr) : 0;
    Parley__Notify__V1__Attempt **out = count ? arena_alloc(a, count * sizeof *out) : NULL;
    for (size_t i = 0; out && i < count; i++) {
        json_t *o = json_array_get(arr, i);
        Parley__Notify__V1__Attempt *t = arena_alloc(a, sizeof *t);
        if (t == NULL) break;
        parley__notify__v1__attempt__init(t);
        t->channel = svc_enum_value(&parley__notify__v1__channel__descriptor,
                                    json_string_value(json_object_get(o, "channel")));
        t->status = svc_enum_value(&parley__notify__v1__attempt_status__descriptor,
                                   json_string_value(json_object_get(o, "status")));
        const char *error = json_string_value(json_object_get(o, "error"));
        t->error = error ? arena_strdup(a, error) : NULL;
        const char *provider = json_string_value(json_object_get(o, "provider_id"));
        t->provider_id = provider ? arena_strdup(a, provider) : NULL;
        t->at = svc_timestamp(a, (int64_t)json_integer_value(json_object_get(o, "at")));
        out[(*n)++] = t;
    }
    json_decref(arr);
    return out;
}

/* letters: the address (columns at..at+1: its lines as JSON, its postcode)
 * and the letter's pages and type size (at+2, at+3). */
static void letter_from_row(arena_t *a, const db_result_t *r, int i, int at, notification_t *x) {
    if (db_is_null(r, i, at + 1)) return;
    Parley__Notify__V1__PostalAddress *ad = arena_alloc(a, sizeof *ad);
    if (ad == NULL) return;
    parley__notify__v1__postal_address__init(ad);
    ad->postcode = db_str(a, r, i, at + 1);
    json_t *lines = pb_json_loadb(db_text(r, i, at), strlen(db_text(r, i, at)), 0, NULL);
    size_t n = json_is_array(lines) ? json_array_size(lines) : 0;
    ad->lines = n ? arena_alloc(a, n * sizeof *ad->lines) : NULL;
    for (size_t k = 0; ad->lines && k < n; k++) {
        const char *line = json_string_value(json_array_get(lines, k));
        if (line) ad->lines[ad->n_lines++] = arena_strdup(a, line);
    }
    json_decref(lines);
    x->recipient->address = ad;
    x->letter_pages = (int32_t)db_int(r, i, at + 2);
    x->letter_font_size = (int32_t)db_int(r, i, at + 3);
}

static notification_t *from_row(arena_t *a, const db_result_t *r, int i) {
    notification_t *x = arena_alloc(a, sizeof *x);
    Parley__Notify__V1__Recipient *to = arena_alloc(a, sizeof *to);
    if (x == NULL || to == NULL) return NULL;
    parley__notify__v1__notification__init(x);
    parley__notify__v1__recipient__init(to);
    const ProtobufCEnumDescriptor *formats = &parley__notify__v1__message_format__descriptor;
    x->id = db_str(a, r, i, 0);
    x->authority_id = db_str(a, r, i, 1);
    x->template_ = db_str(a, r, i, 2);
    x->case_id = db_str(a, r, i, 3);
    x->category = db_str(a, r, i, 4);
    x->critical = db_bool(r, i, 5);
    x->channel = svc_enum_value(&parley__notify__v1__channel__descriptor, db_text(r, i, 6));
    to->email = db_str(a, r, i, 7);
    to->language = db_str(a, r, i, 8);
    to->format = svc_enum_value(formats, db_text(r, i, 9));
    x->recipient = to;
    x->language = db_str(a, r, i, 10);
    x->language_fallback = db_bool(r, i, 11);
    x->format = svc_enum_value(formats, db_text(r, i, 12));
    x->format_fallback = db_bool(r, i, 13);
    x->subject = db_str(a, r, i, 14);
    x->body = db_str(a, r, i, 15);
    x->status = svc_enum_value(&parley__notify__v1__notification_status__descriptor, db_text(r, i, 16));
    x->attempts = parse_attempts(a, db_text(r, i, 17), &x->n_attempts);
    x->failure_reason = db_str(a, r, i, 18);
    x->created_at = svc_timestamp(a, db_int(r, i, 19));
    x->updated_at = svc_timestamp(a, db_int(r, i, 20));
    if (!db_is_null(r, i, 21)) x->delivered_at = svc_timestamp(a, db_int(r, i, 21));
    to->phone = db_str(a, r, i, 22);
    /* channels: the enum names joined with ',' (at most MAX_CHANNELS). */
    const char *names = db_text(r, i, 23);
    x->channels = arena_alloc(a, MAX_CHANNELS * sizeof *x->channels);
    for (const char *p = names; x->channels && p && *p && x->n_channels < MAX_CHANNELS;) {
        size_t len = strcspn(p, ",");
        x->channels[x->n_channels++] =
            svc_enum_value(&parley__notify__v1__channel__descriptor, arena_strndup(a, p, len));
        p += len + (p[len] == ',');
    }
    x->sms_text = db_str(a, r, i, 24);
    if (!db_is_null(r, i, 25))
        x->sms_encoding = svc_enum_value(&parley__notify__v1__sms_encoding__descriptor, db_text(r, i, 25));
    x->sms_segments = (int32_t)db_int(r, i, 26);
    to->person_id = db_str(a, r, i, 27);
    if (!db_is_null(r, i, 28)) {
        Parley__Notify__V1__Deferral *d = arena_alloc(a, sizeof *d);
        if (d == NULL) return NULL;
        parley__notify__v1__deferral__init(d);
        d->until = svc_timestamp(a, db_int(r, i, 28));
        d->local_time = db_str(a, r, i, 29);
        d->zone = db_str(a, r, i, 30);
        x->deferred = d;
    }
    letter_from_row(a, r, i, 31, x);
    return x;
}

static void validate(const bus_request_t *req, bus_response_t *res, const create_t *in) {
    svc_check_authority(req, res, "authorityId", in->authority_id);
    svc_check_required(res, "template", in->template_);
    svc_check_uuid(res, "caseId", in->case_id, false);
    bool email = in->n_channels == 0, sms = false, letter = false;
    for (size_t i = 0; i < in->n_channels && i < MAX_CHANNELS; i++) {
        const char *field = arena_printf(res->arena, "channels[%zu]", i);
        bool *named = in->channels[i] == PARLEY__NOTIFY__V1__CHANNEL__CHANNEL_EMAIL ? &email
                      : in->channels[i] == PARLEY__NOTIFY__V1__CHANNEL__CHANNEL_SMS ? &sms
                      : in->channels[i] == PARLEY__NOTIFY__V1__CHANNEL__CHANNEL_LETTER ? &letter
                                                                                   : NULL;
        if (named == NULL) bus_response_violation(res, field, "must be email, sms or letter");
        else if (*named) bus_response_violation(res, field, "names a channel twice");
        else *named = true;
    }
    if (in->n_channels > MAX_CHANNELS) bus_response_violation(res, "channels", "at most %d", MAX_CHANNELS);
    const Parley__Notify__V1__Recipient *to = in->recipient;
    if (to == NULL) {
        bus_response_violation(res, "recipient", "is required");
    } else if (svc_opt(to->person_id)) {
        /* contacts: a person's details are read when it is sent, never given here. */
        svc_check_uuid(res, "recipient.personId", to->person_id, true);
        if (svc_opt(to->email))
            bus_response_violation(res, "recipient.email", "must be left out with personId: the person's contact "
                                                           "details are read from their record when it is sent");
        if (svc_opt(to->phone))
            bus_response_violation(res, "recipient.phone", "must be left out with personId: the person's contact "
                                                           "details are read from their record when it is sent");
        if (to->address != NULL)
            bus_response_violation(res, "recipient.address", "must be left out with personId: a letter goes to the "
                                                             "address on the person's record");
        svc_check_language(res, "recipient.language", to->language);
    } else if (!svc_opt(to->email) && !svc_opt(to->phone) && to->address == NULL) {
        if (letter) letter_check_address(res, NULL, true); /* names recipient.address: channels name letter */
        else
            bus_response_violation(res, "recipient.personId",
                                   "is required unless the recipient's contact details (email, phone, address) are "
                                   "given");
    } else {
        if (email && svc_check_required(res, "recipient.email", in->recipient->email))
            svc_check_email(res, "recipient.email", in->recipient->email);
        else if (!email && svc_opt(in->recipient->email))
            svc_check_email(res, "recipient.email", in->recipient->email);
        if (sms) svc_check_required(res, "recipient.phone", in->recipient->phone);
        svc_check_phone(res, "recipient.phone", in->recipient->phone);
        svc_check_language(res, "recipient.language", in->recipient->language);
        letter_check_address(res, in->recipient->address, letter);
    }
    if (in->n_data > MAX_DATA) bus_response_violation(res, "data", "at most %d values", MAX_DATA);
    for (size_t i = 0; i < in->n_data && i < MAX_DATA; i++) {
        const char *key = in->data[i]->key ? in->data[i]->key : "";
        const char *field = arena_printf(res->arena, "data.%.64s", key);
        if (*key == '\0' || strlen(key) > RENDER_MAX_NAME)
            bus_response_violation(res, "data", "a name must be 1 to %d characters", RENDER_MAX_NAME);
        svc_check_max_len(res, field, in->data[i]->value, 2000);
    }
}

/* Whether the notification's channels name sms. */
static bool names_sms(const create_t *in) {
    for (size_t i = 0; i < in->n_channels; i++)
        if (in->channels[i] == PARLEY__NOTIFY__V1__CHANNEL__CHANNEL_SMS) return true;
    return false;
}

/* The channels as a text[] literal of their enum names; email by default. */
static const char *channels_literal(arena_t *a, const create_t *in) {
    if (in->n_channels == 0) return "{CHANNEL_EMAIL}";
    const char *out = "{";
    for (size_t i = 0; i < in->n_channels && i < MAX_CHANNELS; i++)
        out = arena_printf(a, "%s%s%s", out, i ? "," : "",
                           svc_enum_text(&parley__notify__v1__channel__descriptor, (int)in->channels[i]));
    return arena_printf(a, "%s}", out);
}

/* Renders the chosen translation t into the insert's parameters: 0, or -1
 * with a violation on the value that is missing or unsafe. The SMS text
 * (t's sms, else its plain body) only when sms is a channel; its length
 * is counted then, before anything is sent. */
static int render(bus_response_t *res, const create_t *in, const Parley__Notify__V1__Translation *t,
                  const char **subject, const char **body, const char **html, const char **sms,
                  sms_length_t *sms_len) {
    arena_t *a = res->arena;
    render_var_t *vars = arena_alloc(a, (in->n_data + 1) * sizeof *vars);
    if (vars == NULL) return -1;
    for (size_t i = 0; i < in->n_data; i++) vars[i] = (render_var_t){in->data[i]->key, in->data[i]->value};
    const struct {
        const char *text, *part;
        render_mode_t mode;
        const char **out;
    } parts[] = {{t->subject, "subject", RENDER_SUBJECT, subject},
                 {t->body, "body", RENDER_PLAIN, body},
                 {t->html, "html", RENDER_HTML, html},
                 {!names_sms(in) ? NULL : t->sms && *t->sms ? t->sms : t->body, "SMS text", RENDER_PLAIN, sms}};
    const char *reported = NULL;
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        *parts[p].out = NULL;
        if (parts[p].text == NULL || *parts[p].text == '\0') continue;
        char *out = NULL;
        const char *name = NULL;
        int rc = render_fill(a, parts[p].text, vars, in->n_data, parts[p].mode, &out, &name);
        if (rc == RENDER_MISSING && !(reported && strcmp(reported, name) == 0)) {
            bus_response_violation(res, arena_printf(a, "data.%s", name),
                                   "is required: template %s uses ((%s)) in its %s", in->template_, name,
                                   parts[p].part);
            reported = name;
        } else if (rc == RENDER_LINE_BREAK) {
            bus_response_violation(res, arena_printf(a, "data.%s", name),
                                   "goes into the subject, which must be one line: no line breaks or control "
                                   "characters");
        } else if (rc == RENDER_TOO_LONG) {
            bus_response_violation(res, "data", "makes the %s too long", parts[p].part);
        } else if (rc != RENDER_OK && rc != RENDER_MISSING) {
            return -1;
        }
        *parts[p].out = out;
    }
    if (svc_ok(res) && strlen(*subject) > MAX_SUBJECT)
        bus_response_violation(res, "data", "makes the subject longer than %d bytes", MAX_SUBJECT);
    if (svc_ok(res) && strlen(*body) > MAX_BODY)
        bus_response_violation(res, "data", "makes the body longer than %d bytes", MAX_BODY);
    *sms_len = (sms_length_t){0};
    if (svc_ok(res) && *sms) {
        if (sms_count(*sms, MAX_BODY, sms_len) != 0 || sms_len->characters > MAX_SMS_CHARACTERS)
            bus_response_violation(res, "data", "makes the SMS text longer than the %d characters one SMS may hold",
                                   MAX_SMS_CHARACTERS);
    }
    return svc_ok(res) ? 0 : -1;
}

/* The translation of the template (its stored JSON) for the recipient:
 * its index into *items, or -1 (none: the template has no English). */
static int choose(arena_t *a, const char *json_text, const Parley__Notify__V1__Recipient *to,
                  Parley__Notify__V1__Translation ***items, bool *lang_fb, bool *format_fb) {
    size_t n;
    *items = templates_parse_translations(a, json_text, &n);
    render_choice_t *choices = n ? arena_alloc(a, n * sizeof *choices) : NULL;
    if (choices == NULL) return -1;
    for (size_t i = 0; i < n; i++) choices[i] = (render_choice_t){(*items)[i]->language, (*items)[i]->format};
    const int standard = PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_STANDARD;
    return render_choose(choices, n, svc_opt(to->language), to->format ? (int)to->format : standard, standard,
                         lang_fb, format_fb);
}

/* contacts: what a person's preferences and record make of in: the
 * request's own language, format and channels win where it gives them;
 * else the person's preferences; else what their owner records (their
 * preferred language, the format their communication needs ask for); else
 * English, standard, and email (SMS for a person with a number and no
 * address). Into *eff and *to (in a). 0 or a DB_ERR_*. */
static int apply_person(db_t *db, arena_t *a, const create_t *in, const contact_t *person, create_t *eff,
                        Parley__Notify__V1__Recipient *to) {
    contact_prefs_t prefs;
    int rc = contacts_prefs_read(db, a, in->authority_id, in->recipient->person_id, &prefs);
    if (rc != 0) return rc;
    *eff = *in;
    *to = *in->recipient;
    eff->recipient = to;
    if (!svc_opt(to->language)) to->language = (char *)(prefs.language ? prefs.language : person->language);
    if (!svc_opt(to->language) || !svc_is_language_tag(to->language)) to->language = "en";
    if (!to->format) to->format = prefs.format ? prefs.format : person->format;
    if (in->n_channels == 0 && prefs.n_channels > 0) {
        eff->channels = arena_alloc(a, MAX_CHANNELS * sizeof *eff->channels);
        if (eff->channels == NULL) return DB_ERR_QUERY;
        eff->n_channels = 0;
        for (size_t i = 0; i < prefs.n_channels && eff->n_channels < MAX_CHANNELS; i++)
            eff->channels[eff->n_channels++] = prefs.channels[i];
    } else if (in->n_channels == 0 && person->email == NULL && person->phone != NULL) {
        /* No choice made, and a number but no address on their record now: by SMS. */
        eff->channels = arena_alloc(a, sizeof *eff->channels);
        if (eff->channels == NULL) return DB_ERR_QUERY;
        eff->channels[0] = PARLEY__NOTIFY__V1__CHANNEL__CHANNEL_SMS;
        eff->n_channels = 1;
    }
    /* A letter goes to the address on their record as it is now: the letter
     * is laid out when the notification is made (as for an address given),
     * so it is read then; their name is its first line. */
    if (person->address_line1 != NULL || person->postcode != NULL) {
        Parley__Notify__V1__PostalAddress *ad = arena_alloc(a, sizeof *ad);
        char **lines = arena_alloc(a, 4 * sizeof *lines);
        if (ad == NULL || lines == NULL) return DB_ERR_QUERY;
        parley__notify__v1__postal_address__init(ad);
        const char *name = arena_printf(a, "%s %s", person->given_name ? person->given_name : "",
                                        person->family_name ? person->family_name : "");
        const char *parts[] = {name, person->address_line1, person->address_line2, person->town};
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
            if (parts[i] != NULL && *parts[i] != '\0' && strcmp(parts[i], " ") != 0)
                lines[ad->n_lines++] = (char *)parts[i];
        ad->lines = lines;
        ad->postcode = (char *)(person->postcode ? person->postcode : "");
        to->address = ad;
    }
    return 0;
}

int notifications_insert(db_t *db, bus_response_t *res, const create_t *in, const char *source_event,
                         const char *client_id, char *id, db_result_t **row) {
    if (in->recipient && svc_opt(in->recipient->person_id)) {
        bus_response_violation(res, "recipient.personId", "needs the person's record (notifications_insert_person)");
        return 1;
    }
    return notifications_insert_person(db, res, in, NULL, source_event, client_id, id, row);
}

int notifications_insert_person(db_t *db, bus_response_t *res, const create_t *in, const contact_t *person,
                                const char *source_event, const char *client_id, char *id, db_result_t **row) {
    arena_t *a = res->arena;
    create_t eff;
    Parley__Notify__V1__Recipient eff_to;
    if (person != NULL) {
        int rc = apply_person(db, a, in, person, &eff, &eff_to);
        if (rc != 0) return rc;
        in = &eff;
    }
    const Parley__Notify__V1__Recipient *to = in->recipient;
    db_result_t *r = NULL;
    const char *tp[] = {in->authority_id, in->template_};
    int rc = db_exec(db, "n_template", 2, tp, &r);
    if (rc != 0) return rc;
    if (db_rows(r) != 1) {
        db_result_free(&r);
        bus_response_violation(res, "template", "no template %s in authority %s", in->template_, in->authority_id);
        return 1;
    }
    Parley__Notify__V1__Translation **items = NULL;
    bool lang_fb = false, format_fb = false;
    int chosen = choose(a, db_text(r, 0, 0), to, &items, &lang_fb, &format_fb);
    db_result_free(&r);
    const char *subject = NULL, *body = NULL, *html = NULL, *sms = NULL;
    sms_length_t sms_len;
    if (chosen < 0) {
        bus_response_violation(res, "template", "template %s has no English translation to send", in->template_);
        return 1;
    }
    if (render(res, in, items[chosen], &subject, &body, &html, &sms, &sms_len) != 0)
        return svc_ok(res) ? DB_ERR_QUERY : 1;
    letter_t letter = {0};
    if (person != NULL && letter_named(in)) {
        letter_check_address(res, to->address, true); /* theirs, as their owner holds it */
        if (!svc_ok(res)) return 1;
    }
    if (letter_named(in)) {
        int lrc = letter_prepare(db, res, in, items[chosen]->language, subject, body, &letter);
        if (lrc != 0) return lrc > 0 ? 1 : DB_ERR_QUERY;
    }
    if (ids_uuid_new(id) != 0) {
        letter_clear(&letter);
        return DB_ERR_QUERY;
    }
    const ProtobufCEnumDescriptor *formats = &parley__notify__v1__message_format__descriptor;
    const int standard = PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_STANDARD;
    const char *params[] = {id,
                            in->authority_id,
                            in->template_,
                            svc_opt(in->case_id),
                            in->category,
                            in->critical ? "true" : "false",
                            svc_opt(to->email),
                            svc_opt(to->language) ? to->language : "en",
                            svc_enum_text(formats, to->format ? (int)to->format : standard),
                            items[chosen]->language,
                            lang_fb ? "true" : "false",
                            svc_enum_text(formats, (int)items[chosen]->format),
                            format_fb ? "true" : "false",
                            subject,
                            body,
                            html,
                            client_id,
                            source_event,
                            svc_opt(to->phone),
                            channels_literal(a, in),
                            sms,
                            sms ? (sms_len.gsm7 ? "SMS_ENCODING_GSM_7" : "SMS_ENCODING_UCS_2") : NULL,
                            sms ? arena_printf(a, "%d", sms_len.segments) : NULL,
                            person ? to->person_id : NULL,
                            person ? person->kind : NULL};
    rc = db_exec(db, "n_insert", 25, params, letter.pdf_hex ? NULL : row);
    if (rc == 0 && letter.pdf_hex) {
        const char *lp[] = {id,           letter.lines, letter.postcode, letter.pdf_hex, arena_printf(a, "%d", letter.pages),
                            arena_printf(a, "%d", letter.body_pt)};
        rc = db_exec(db, "n_letter", 6, lp, row);
    }
    letter_clear(&letter);
    return rc;
}

int notifications_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((notify_t *)ctx)->db;
    arena_t *a = res->arena;
    const create_t *in = (const void *)req->input;
    validate(req, res, in);
    if (!svc_ok(res)) return -1;
    const Parley__Common__V1__Principal *p = req->header->principal;
    /* contacts: the person, of this authority, as their owner knows them
     * now (asked with the caller's principal, before any transaction: the
     * owner may take up to its timeout); their details are not kept. */
    contact_t person;
    const char *person_id = svc_opt(in->recipient->person_id);
    if (person_id) {
        bus_code_t code = contacts_resolve(((notify_t *)ctx)->bus, a, req->header->request_id, p, person_id, NULL,
                                           in->authority_id, &person);
        if (code == PARLEY__COMMON__V1__CODE__CODE_NOT_FOUND) {
            bus_response_violation(res, "recipient.personId", "no parent, young person or supporter of authority %s "
                                   "has this id", in->authority_id);
            return -1;
        }
        if (code != PARLEY__COMMON__V1__CODE__CODE_OK) {
            bus_response_error(res, PARLEY__COMMON__V1__CODE__CODE_UNAVAILABLE,
                               "the recipient's record cannot be read from its owner now");
            return -1;
        }
    }
    char id[IDS_UUID_LEN + 1];
    int rc = db_tx_begin(db, p);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    db_result_t *r = NULL;
    rc = notifications_insert_person(db, res, in, person_id ? &person : NULL, NULL,
                                     (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL, id, &r);
    if (rc == 1) {
        db_tx_rollback(db);
        return -1;
    }
    notification_t *x = rc == 0 && db_rows(r) == 1 ? from_row(a, r, 0) : NULL;
    db_result_free(&r);
    if (rc == 0 && x == NULL) rc = DB_ERR_QUERY;
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &x->base;
    return 0;
}

static ProtobufCMessage *parse_one(arena_t *a, db_result_t *const *results) {
    notification_t *x = from_row(a, results[0], 0);
    return x ? &x->base : NULL;
}

static const svc_get_t get_notification = {"notification", {"n_get"}, 1, parse_one};

int notifications_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Notify__V1__GetNotificationRequest *in = (const void *)req->input;
    return svc_get_one(((notify_t *)ctx)->db, req, res, in->id, &get_notification);
}

int notifications_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((notify_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Notify__V1__ListNotificationsRequest *in = (const void *)req->input;
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    if (svc_check_required(res, "caseId", in->case_id)) svc_check_uuid(res, "caseId", in->case_id, true);
    if (!svc_ok(res)) return -1;
    const char *params[] = {in->case_id, page_cursor_micros(a, &cur), page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1)};
    db_step_t step = {"n_list", 4, params, NULL};
    if (svc_read(db, req, res, &step, 1) != 0) return -1;
    Parley__Notify__V1__ListNotificationsResponse *out = arena_alloc(a, sizeof *out);
    parley__notify__v1__list_notifications_response__init(out);
    int rows = db_rows(step.result);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[out->n_items++] = from_row(a, step.result, (int)i);
    if (rows > size && n > 0)
        out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_steps_free(&step, 1);
    res->reply = &out->base;
    return 0;
}
