/* Templates: an authority's message in every language and format it has,
 * keyed by a name its callers choose (case_opened). PUT replaces one whole
 * (with If-Match that version of one that exists, without it whatever is
 * there, or makes it); GET answers
 * what PUT takes back. Each template belongs to one authority: another
 * authority's is not there (404), under row-level security. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/pb.h"
#include "services/notify/notify.h"
#include "services/notify/render.h"
#include "services/notify/sms.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

typedef Parley__Notify__V1__Template template_t;
typedef Parley__Notify__V1__Translation translation_t;

#define MAX_TRANSLATIONS 40
#define COLUMNS \
    "key, authority_id, translations::text, version, " DB_MICROS("created_at") ", " DB_MICROS("updated_at")

static const db_stmt_t stmts[] = {
    /* $2 NULL: the caller's authorities that have a template of this key. */
    {"tpl_find",
     "SELECT " COLUMNS ", audit.touch(key, authority_id) FROM templates"
     " WHERE key = $1 AND ($2::uuid IS NULL OR authority_id = $2) ORDER BY authority_id LIMIT 2"},
    {"tpl_lock", "SELECT " COLUMNS " FROM templates WHERE authority_id = $1 AND key = $2 FOR UPDATE"},
    {"tpl_insert",
     "INSERT INTO templates (authority_id, key, translations) VALUES ($1, $2, $3::jsonb)"
     " ON CONFLICT (authority_id, key) DO NOTHING"
     " RETURNING " COLUMNS ", audit.touch(key, authority_id)"},
    {"tpl_update",
     "UPDATE templates SET translations = $3::jsonb, version = version + 1, updated_at = now()"
     " WHERE authority_id = $1 AND key = $2 RETURNING " COLUMNS ", audit.touch(key, authority_id)"},
};

const db_stmt_t *templates_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

const char *notify_format_word(int format) {
    switch (format) {
    case PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_LARGE_PRINT: return "large_print";
    case PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_EASY_READ: return "easy_read";
    default: return "standard";
    }
}

static int format_of_word(const char *w) {
    if (w && strcmp(w, "large_print") == 0) return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_LARGE_PRINT;
    if (w && strcmp(w, "easy_read") == 0) return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_EASY_READ;
    return PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_STANDARD;
}

Parley__Notify__V1__Translation **templates_parse_translations(arena_t *a, const char *json_text, size_t *n) {
    *n = 0;
    json_t *arr = pb_json_loadb(json_text ? json_text : "", json_text ? strlen(json_text) : 0, 0, NULL);
    size_t count = json_is_array(arr) ? json_array_size(arr) : 0;
    translation_t **out = NULL;
    if (count > 0 && count <= MAX_TRANSLATIONS && (out = arena_alloc(a, count * sizeof *out)) != NULL) {
        for (size_t i = 0; i < count; i++) {
            json_t *t = json_array_get(arr, i);
            translation_t *x = arena_alloc(a, sizeof *x);
            if (x == NULL) {
                out = NULL;
                break;
            }
            parley__notify__v1__translation__init(x);
            x->language = arena_strdup(a, json_string_value(json_object_get(t, "language")));
            x->format = format_of_word(json_string_value(json_object_get(t, "format")));
            x->subject = arena_strdup(a, json_string_value(json_object_get(t, "subject")));
            x->body = arena_strdup(a, json_string_value(json_object_get(t, "body")));
            const char *html = json_string_value(json_object_get(t, "html"));
            x->html = html ? arena_strdup(a, html) : NULL;
            const char *sms = json_string_value(json_object_get(t, "sms"));
            x->sms = sms ? arena_strdup(a, sms) : NULL;
            out[i] = x;
        }
    }
    json_decref(arr);
    if (out != NULL) *n = count;
    return out;
}

/* Each translation's SMS text (its sms, else its plain body) as SMS. */
static void sms_lengths(arena_t *a, template_t *t) {
    t->sms_lengths = arena_alloc(a, (t->n_translations + 1) * sizeof *t->sms_lengths);
    if (t->sms_lengths == NULL) return;
    for (size_t i = 0; i < t->n_translations; i++) {
        sms_length_t len;
        const translation_t *x = t->translations[i];
        const char *text = x->sms && *x->sms ? x->sms : x->body;
        if (sms_count(text ? text : "", RENDER_MAX_OUT, &len) != 0) continue;
        Parley__Notify__V1__SmsLength *s = arena_alloc(a, sizeof *s);
        if (s == NULL) return;
        parley__notify__v1__sms_length__init(s);
        s->language = t->translations[i]->language;
        s->format = t->translations[i]->format;
        s->encoding = len.gsm7 ? PARLEY__NOTIFY__V1__SMS_ENCODING__SMS_ENCODING_GSM_7
                               : PARLEY__NOTIFY__V1__SMS_ENCODING__SMS_ENCODING_UCS_2;
        s->characters = len.characters;
        s->segments = len.segments;
        t->sms_lengths[t->n_sms_lengths++] = s;
    }
}

static template_t *from_row(arena_t *a, const db_result_t *r, int i) {
    template_t *t = arena_alloc(a, sizeof *t);
    if (t == NULL) return NULL;
    parley__notify__v1__template__init(t);
    t->key = db_str(a, r, i, 0);
    t->authority_id = db_str(a, r, i, 1);
    t->translations = templates_parse_translations(a, db_text(r, i, 2), &t->n_translations);
    t->version = (int32_t)db_int(r, i, 3);
    t->created_at = svc_timestamp(a, db_int(r, i, 4));
    t->updated_at = svc_timestamp(a, db_int(r, i, 5));
    sms_lengths(a, t);
    return t;
}

/* The translations' checks the codec cannot make: one line of subject,
 * each (language, format) once, and the English standard one there. */
bool templates_key_ok(const char *key) {
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > 64 || !(islower((unsigned char)key[0]) || isdigit((unsigned char)key[0]))) return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)key[i]) && !isdigit((unsigned char)key[i]) && !strchr("_.-", key[i])) return false;
    return true;
}

static void validate(bus_response_t *res, const Parley__Notify__V1__PutTemplateRequest *in) {
    bool english = false;
    if (!templates_key_ok(in->key))
        bus_response_violation(res, "key", "must be 1 to 64 lower-case letters, digits, _ . and - (a letter or digit first)");
    size_t n = in->n_translations < MAX_TRANSLATIONS ? in->n_translations : MAX_TRANSLATIONS;
    for (size_t i = 0; i < n; i++) {
        const translation_t *t = in->translations[i];
        int format = t->format ? t->format : PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_STANDARD;
        if (t->subject && render_has_control(t->subject))
            bus_response_violation(res, arena_printf(res->arena, "translations[%zu].subject", i),
                                   "must be one line: no line breaks or control characters");
        for (size_t j = 0; j < i; j++) {
            const translation_t *u = in->translations[j];
            int uf = u->format ? u->format : PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_STANDARD;
            if (uf == format && t->language && u->language && strcasecmp(t->language, u->language) == 0) {
                bus_response_violation(res, arena_printf(res->arena, "translations[%zu]", i),
                                       "repeats translations[%zu]: language %s, format %s", j, t->language,
                                       notify_format_word(format));
                break;
            }
        }
        if (format == PARLEY__NOTIFY__V1__MESSAGE_FORMAT__MESSAGE_FORMAT_STANDARD && t->language &&
            strcasecmp(t->language, "en") == 0)
            english = true;
    }
    if (in->n_translations > 0 && !english)
        bus_response_violation(res, "translations",
                               "an English (en) standard translation is required: it is sent to a recipient "
                               "whose language or format the template lacks");
}

/* The translations as stored: the API's JSON, formats as words. NULL when
 * out of memory. */
static char *translations_json(arena_t *a, const Parley__Notify__V1__PutTemplateRequest *in) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < in->n_translations; i++) {
        const translation_t *t = in->translations[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "language", t->language, "format",
                              notify_format_word(t->format), "subject", t->subject, "body", t->body);
        if (o && t->html && *t->html) json_object_set_new(o, "html", json_string(t->html));
        if (o && t->sms && *t->sms) json_object_set_new(o, "sms", json_string(t->sms));
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    char *copy = text ? arena_strdup(a, text) : NULL;
    free(text);
    return copy;
}

/* The caller's only authority, or NULL. */
static const char *sole_authority(const bus_request_t *req) {
    const Parley__Common__V1__Principal *p = req->header->principal;
    return p && p->n_authority_ids == 1 ? p->authority_ids[0] : NULL;
}

/* Finds the caller's template of key (in authority, when not NULL): 1 with
 * its row in *r, 0 none (404 set), or -1 with res set (several: authorityId
 * is required; or the database failed). In the open transaction. */
static int find(db_t *db, const bus_request_t *req, bus_response_t *res, const char *key, const char *authority,
                db_result_t **r) {
    const char *params[] = {key, authority};
    int rc = db_exec(db, "tpl_find", 2, params, r);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (db_rows(*r) == 0) {
        db_result_free(r);
        db_tx_rollback(db);
        svc_not_found(res, "template");
        return 0;
    }
    if (db_rows(*r) > 1) {
        db_result_free(r);
        db_tx_rollback(db);
        bus_response_violation(res, "authorityId",
                               "is required: several of this API client's authorities have a template %s", key);
        return -1;
    }
    return 1;
}

int templates_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((notify_t *)ctx)->db;
    const Parley__Notify__V1__GetTemplateRequest *in = (const void *)req->input;
    if (!svc_check_uuid(res, "authorityId", in->authority_id, false)) return -1;
    if (!templates_key_ok(in->key)) return svc_not_found(res, "template");
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    db_result_t *r = NULL;
    int found = find(db, req, res, in->key, svc_opt(in->authority_id), &r);
    if (found != 1) return -1;
    template_t *t = from_row(res->arena, r, 0);
    db_result_free(&r);
    if ((rc = db_tx_commit_read(db)) != 0) return svc_db_fail(res, req, db, rc);
    if (t == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &t->base;
    return 0;
}

/* Which authority a PUT is for: named, the caller's only one, or (with
 * If-Match, changing what exists) the one whose template of this key the
 * caller can see. NULL with res set when none can be told. */
static const char *put_authority(db_t *db, const bus_request_t *req, bus_response_t *res,
                                 const Parley__Notify__V1__PutTemplateRequest *in) {
    if (in->authority_id && *in->authority_id)
        return svc_check_authority(req, res, "authorityId", in->authority_id) ? in->authority_id : NULL;
    if (svc_if_match(res->arena, req) != NULL) {
        db_result_t *r = NULL;
        if (find(db, req, res, in->key, NULL, &r) != 1) return NULL;
        const char *authority = db_str(res->arena, r, 0, 1);
        db_result_free(&r);
        return authority;
    }
    const char *only = sole_authority(req);
    if (only == NULL) {
        db_tx_rollback(db);
        bus_response_violation(res, "authorityId", "is required: this API client serves several authorities");
    }
    return only;
}

int templates_put(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((notify_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Notify__V1__PutTemplateRequest *in = (const void *)req->input;
    validate(res, in);
    char *translations = svc_ok(res) ? translations_json(a, in) : NULL;
    if (!svc_ok(res)) return -1;
    if (translations == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);

    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *authority = put_authority(db, req, res, in);
    if (authority == NULL) {
        db_tx_rollback(db);
        return -1;
    }
    const char *params[] = {authority, in->key, translations};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "tpl_lock", 2, params, &r)) != 0) return svc_db_fail(res, req, db, rc);
    bool exists = db_rows(r) == 1;
    template_t *was = exists ? from_row(a, r, 0) : NULL;
    db_result_free(&r);
    if (exists && was == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    if (!exists && svc_if_match(a, req) != NULL) {
        /* If-Match names a version of a template that is not there. */
        db_tx_rollback(db);
        return svc_not_found(res, "template");
    }
    if (exists && !svc_if_match_allows(a, req, was->version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION,
                             "the template has changed (version %d); read it again", (int)was->version);
        return -1;
    }
    /* What GET answered may come back whole; smsLengths is derived. */
    static const char *const derived[] = {"smsLengths", NULL};
    template_t fresh = PARLEY__NOTIFY__V1__TEMPLATE__INIT;
    if (svc_check_read_only(req, res, was ? &was->base : &fresh.base, derived) != 0) {
        db_tx_rollback(db);
        return -1;
    }
    rc = db_exec(db, exists ? "tpl_update" : "tpl_insert", 3, params, &r);
    if (rc == 0 && db_rows(r) != 1) {
        /* Made by a concurrent PUT since the lock found none. */
        db_result_free(&r);
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_CONCURRENT_CHANGE, NULL);
        return -1;
    }
    template_t *t = rc == 0 ? from_row(a, r, 0) : NULL;
    db_result_free(&r);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    if (t == NULL) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    res->reply = &t->base;
    return 0;
}
