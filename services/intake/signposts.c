/* Signposting: which agencies a family (or a young person, whose own needs
 * and language count) was told about, when and how. A
 * caseworker records what they did (letter, email, phone, in person,
 * leaflet); the service signposts automatically when a draft plan or
 * proposed statement is issued (stages.c calls signposts_automatic in the
 * same transaction). Each emits case.signposted. */
#include <jansson.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__Signpost signpost_t;

#define SIGNPOST_COLUMNS                                                                                  \
    "s.id, s.case_id, s.agency_id, g.name, to_char(s.\"on\", 'YYYY-MM-DD'), s.method, s.trigger_stage, s.note," \
    " " DB_MICROS("s.created_at") ", coalesce(s.serves_language, false)"
#define METHOD_WORD "lower(regexp_replace(s.method, '^SIGNPOST_METHOD_', ''))"
#define SIGNPOST_JSON                                                                                        \
    "jsonb_build_object('signpostId', s.id, 'agencyId', g.id, 'agencyName', g.name,"                        \
    " 'agencyKind', lower(regexp_replace(g.kind, '^AGENCY_KIND_', '')), 'on', to_char(s.\"on\", 'YYYY-MM-DD')," \
    " 'method', " METHOD_WORD ", 'contact', jsonb_strip_nulls(jsonb_build_object('email', g.email, 'phone', g.phone," \
    " 'website', g.website, 'address', g.address)), 'servesLanguage', coalesce(s.serves_language, false))"

static const db_stmt_t stmts[] = {
    {"signpost_insert",
     "INSERT INTO signposts (id, authority_id, case_id, agency_id, \"on\", method, note, created_by_client,"
     " serves_language)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT EXISTS (SELECT 1 FROM agencies g, unnest(g.languages) l"
     "   WHERE g.id = $4 AND lower(split_part(l, '-', 1)) IN (SELECT lower(split_part(p.preferred_language, '-', 1))"
     "   FROM cases c JOIN parents p ON p.family_id = c.family_id WHERE c.id = $3))))"},
    {"signpost_get", "SELECT " SIGNPOST_COLUMNS " FROM signposts s LEFT JOIN agencies g ON g.id = s.agency_id WHERE s.id = $1"},
    {"signpost_get_of",
     "SELECT " SIGNPOST_COLUMNS ", audit.touch(s.id::text, s.authority_id) FROM signposts s"
     " LEFT JOIN agencies g ON g.id = s.agency_id"
     " WHERE s.case_id = $1 AND s.id = $2 AND s.authority_id = ANY (current_authorities())"},
    {"signpost_event",
     "SELECT jsonb_build_object('automatic', false, 'signposts', jsonb_build_array(" SIGNPOST_JSON "))::text"
     " FROM signposts s JOIN agencies g ON g.id = s.agency_id WHERE s.id = $1"},
    {"case_visible",
     "SELECT audit.touch(id::text, authority_id) FROM cases WHERE id = $1 AND authority_id = ANY (current_authorities())"},
    {"signpost_list",
     "SELECT " SIGNPOST_COLUMNS ", audit.listed(s.id::text, $4::int - 1)"
     " FROM signposts s LEFT JOIN agencies g ON g.id = s.agency_id WHERE s.case_id = $1 AND s.authority_id = ANY (current_authorities())"
     " AND ($2::bigint IS NULL OR (s.created_at, s.id) >"
     "      (" DB_FROM_MICROS("$2") ", $3::uuid))"
     " ORDER BY s.created_at, s.id LIMIT $4"},
    /* Every active agency serving the case's authority whose needs meet the
     * child's (an agency listing no needs is for every family) and whose
     * stages include the one reached ($3; listing none: every stage), each marked
     * with whether it works in a parent's language: one that does not may
     * still be the help the family needs, with an interpreter. */
    {"signpost_automatic",
     "WITH c AS (SELECT c.id, c.authority_id, coalesce(ch.needs, y.needs) AS needs,"
     "   CASE WHEN y.id IS NOT NULL THEN ARRAY[lower(split_part(y.preferred_language, '-', 1))] ELSE"
     "   (SELECT coalesce(array_agg(lower(split_part(p.preferred_language, '-', 1))), '{}') FROM parents p"
     "    WHERE p.family_id = c.family_id) END AS langs"
     /* A young person's case: their own needs and language. */
     "   FROM cases c LEFT JOIN children ch ON ch.id = c.child_id LEFT JOIN young_people y ON y.id = c.young_person_id"
     "   WHERE c.id = $1 AND (ch.id IS NOT NULL OR y.id IS NOT NULL)),"
     " m AS (SELECT g.id, EXISTS (SELECT 1 FROM unnest(g.languages) l"
     "         WHERE lower(split_part(l, '-', 1)) = ANY (c.langs)) AS speaks"
     "   FROM agencies g, c WHERE c.authority_id = ANY (g.authority_ids) AND g.status = 'LISTING_STATUS_ACTIVE'"
     "   AND (g.stages = '{}' OR $3 = ANY (g.stages))"
     "   AND (g.needs = '{}' OR EXISTS (SELECT 1 FROM unnest(g.needs) n, unnest(c.needs) cn"
     "        WHERE lower(n) = lower(cn)))),"
     " s AS (INSERT INTO signposts (id, authority_id, case_id, agency_id, \"on\", method, trigger_stage,"
     "   serves_language)"
     "   SELECT gen_random_uuid(), c.authority_id, c.id, m.id, $2::date, 'SIGNPOST_METHOD_AUTOMATIC', $3, m.speaks"
     "   FROM m, c"
     "   ON CONFLICT (case_id, agency_id, trigger_stage) WHERE method = 'SIGNPOST_METHOD_AUTOMATIC' DO NOTHING"
     "   RETURNING *)"
     " SELECT count(*), jsonb_build_object('automatic', true, 'triggerStage', $4::text,"
     "   'signposts', coalesce(jsonb_agg(" SIGNPOST_JSON " ORDER BY g.name), '[]'))::text"
     " FROM s JOIN agencies g ON g.id = s.agency_id"},
    /* An automatic signpost is dated by its stage (a once-only stage). */
    {"signpost_follow",
     "UPDATE signposts SET \"on\" = $3 WHERE case_id = $1 AND trigger_stage = $2"
     " AND method = 'SIGNPOST_METHOD_AUTOMATIC'"},
};

const db_stmt_t *signposts_statements(size_t *n) {
    *n = sizeof stmts / sizeof stmts[0];
    return stmts;
}

static signpost_t *from_row(arena_t *a, const db_result_t *r, int i) {
    signpost_t *s = arena_alloc(a, sizeof *s);
    parley__intake__v1__signpost__init(s);
    s->id = db_str(a, r, i, 0);
    s->case_id = db_str(a, r, i, 1);
    s->agency_id = db_str(a, r, i, 2);
    s->agency_name = db_str(a, r, i, 3);
    s->on = db_str(a, r, i, 4);
    s->method = svc_enum_value(&parley__intake__v1__signpost_method__descriptor, db_text(r, i, 5));
    s->trigger_stage = svc_enum_value(&parley__intake__v1__sen_stage__descriptor, db_text(r, i, 6));
    s->note = db_str(a, r, i, 7);
    s->created_at = svc_timestamp(a, db_int(r, i, 8));
    s->serves_language = db_bool(r, i, 9);
    return s;
}

int signposts_follow_stage(db_t *db, const char *case_id, int trigger_stage, const char *on) {
    const char *params[] = {case_id, svc_enum_text(&parley__intake__v1__sen_stage__descriptor, trigger_stage), on};
    return db_exec(db, "signpost_follow", 3, params, NULL);
}

int signposts_automatic(db_t *db, arena_t *a, const char *case_id, int trigger_stage, const char *on) {
    const char *params[] = {case_id, on, svc_enum_text(&parley__intake__v1__sen_stage__descriptor, trigger_stage),
                            svc_enum_word(a, &parley__intake__v1__sen_stage__descriptor, trigger_stage)};
    db_result_t *r = NULL;
    int rc = db_exec(db, "signpost_automatic", 4, params, &r);
    if (rc != 0) return rc;
    if (db_int(r, 0, 0) > 0) rc = events_emit(db, a, "case.signposted", case_id, db_text(r, 0, 1));
    db_result_free(&r);
    return rc;
}

int signposts_create(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__CreateSignpostRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "case");
    svc_check_uuid(res, "agencyId", in->agency_id, true);
    intake_check_past_date(res, "on", in->on, NULL);
    if (in->method == 0) bus_response_violation(res, "method", "is required");
    if (in->method == PARLEY__INTAKE__V1__SIGNPOST_METHOD__SIGNPOST_METHOD_AUTOMATIC)
        bus_response_violation(res, "method", "automatic signposts are made by the service, not recorded");
    svc_check_max_len(res, "note", in->note, 2000);
    if (!svc_ok(res)) return -1;

    char *authority;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    int ok = cases_lock(db, req, res, in->id, true, &authority);
    if (ok < 0) return svc_db_fail(res, req, db, ok);
    if (ok == 0) {
        db_tx_rollback(db);
        return -1;
    }
    int serves = agencies_serve(db, in->agency_id, authority);
    if (serves < 0) return svc_db_fail(res, req, db, serves);
    if (serves == 0) {
        db_tx_rollback(db);
        bus_response_violation(res, "agencyId", "no such agency in the directory for this case's authority");
        return -1;
    }
    char id[IDS_UUID_LEN + 1];
    if (ids_uuid_new(id) != 0) return svc_db_fail(res, req, db, DB_ERR_QUERY);
    const Parley__Common__V1__Principal *p = req->header->principal;
    const char *params[] = {id, authority, in->id, in->agency_id, in->on,
                            svc_enum_text(&parley__intake__v1__signpost_method__descriptor, in->method),
                            svc_opt(in->note), (p && ids_is_uuid(p->client_id)) ? p->client_id : NULL};
    rc = db_exec(db, "signpost_insert", 8, params, NULL);
    const char *get[] = {id};
    db_result_t *r = NULL;
    if (rc == 0 && (rc = db_exec(db, "signpost_event", 1, get, &r)) == 0) {
        rc = events_emit(db, a, "case.signposted", in->id, db_rows(r) ? db_text(r, 0, 0) : NULL);
        db_result_free(&r);
    }
    signpost_t *s = NULL;
    if (rc == 0 && (rc = db_exec(db, "signpost_get", 1, get, &r)) == 0) {
        if (db_rows(r) == 1) s = from_row(a, r, 0);
        else rc = DB_ERR_QUERY;
        db_result_free(&r);
    }
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &s->base;
    return 0;
}

static ProtobufCMessage *parse_signpost(arena_t *a, db_result_t *const *results) {
    return &from_row(a, results[0], 0)->base;
}

static const svc_get_t get_signpost = {"signpost", {"signpost_get_of"}, 1, parse_signpost};

/* GET /v1/cases/{id}/signposts/{signpostId}: the Location of the 201. */
int signposts_get(void *ctx, const bus_request_t *req, bus_response_t *res) {
    const Parley__Intake__V1__GetSignpostRequest *in = (const void *)req->input;
    return svc_get_sub(((intake_t *)ctx)->db, req, res, in->id, in->signpost_id, &get_signpost);
}

int signposts_list(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const Parley__Intake__V1__ListSignpostsRequest *in = (const void *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "case");
    int size;
    page_cursor_t cur;
    page_args(res, in->page_size, in->page_token, &size, &cur);
    if (!svc_ok(res)) return -1;
    int rc = db_tx_begin(db, req->header->principal);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    const char *find[] = {in->id};
    int found = svc_exists(db, "case_visible", 1, find);
    if (found < 0) return svc_db_fail(res, req, db, found);
    if (found == 0) {
        db_tx_rollback(db);
        return svc_not_found(res, "case");
    }
    const char *params[] = {in->id, page_cursor_micros(a, &cur), page_cursor_id(&cur),
                            arena_printf(a, "%d", size + 1)};
    db_result_t *r = NULL;
    if ((rc = db_exec(db, "signpost_list", 4, params, &r)) != 0) return svc_db_fail(res, req, db, rc);
    if ((rc = db_tx_commit_read(db)) != 0) {
        db_result_free(&r);
        return svc_db_fail(res, req, db, rc);
    }
    Parley__Intake__V1__ListSignpostsResponse *out = arena_alloc(a, sizeof *out);
    parley__intake__v1__list_signposts_response__init(out);
    int rows = db_rows(r);
    size_t n = (size_t)(rows > size ? size : rows);
    out->items = arena_alloc(a, (n + 1) * sizeof *out->items);
    for (size_t i = 0; i < n; i++) out->items[i] = from_row(a, r, (int)i);
    out->n_items = n;
    if (rows > size) out->next_page_token = page_token_after(a, out->items[n - 1]->created_at, out->items[n - 1]->id);
    db_result_free(&r);
    res->reply = &out->base;
    return 0;
}
