/* PATCH /v1/young-people/{id}: change a young person's own details.
 *
 * What GET answers can be sent back, whole or in part, by JSON Merge Patch
 * (RFC 7396), as PATCH /v1/families/{id} does (family_update.c): only the
 * fields sent change, null removes an optional one, an address or school
 * merges the same way, a list (needs, communicationNeeds) is replaced whole.
 * The read-only fields (id, version, createdAt, updatedAt, authorityId,
 * externalReference) may be sent back as read; another value is 400
 * read_only_field, another version 412. A date of birth sent is checked
 * against today (16 to 25); one kept as stored is not, so a young person
 * who has turned 26 during their case stays writable.
 *
 * If-Match is honoured when sent (412 stale_version). A PATCH that changes
 * nothing writes nothing: the version stays. A change emits
 * young_person.updated in its transaction, so that matching ranks the young
 * person's cases on their facts as they now are (and tries a waiting one again). */
#include <string.h>

#include "core/ids.h"
#include "parley/intake/v1/intake.pb-c.h"
#include "services/intake/intake.h"
#include "svc/precondition.h"
#include "svc/read_only.h"
#include "svc/svc.h"

typedef Parley__Intake__V1__YoungPerson yp_t;
typedef Parley__Intake__V1__CreateYoungPersonRequest yp_in_t;
typedef Parley__Intake__V1__PatchYoungPersonRequest patch_t;

static bool same_str(const char *x, const char *y) { return strcmp(x ? x : "", y ? y : "") == 0; }

static Parley__Intake__V1__Address *merge_address(const bus_request_t *req, arena_t *a,
                                                  const Parley__Intake__V1__Address *was,
                                                  const Parley__Intake__V1__Address *sent_ad) {
    if (!svc_sent(req, "address")) return (Parley__Intake__V1__Address *)was;
    if (sent_ad == NULL) return NULL; /* null: removed */
    Parley__Intake__V1__Address *ad = arena_alloc(a, sizeof *ad);
    parley__intake__v1__address__init(ad);
    static const char *const names[] = {"address.line1", "address.line2", "address.town", "address.postcode"};
    char **dst[] = {&ad->line1, &ad->line2, &ad->town, &ad->postcode};
    char *const from_was[] = {was ? was->line1 : NULL, was ? was->line2 : NULL, was ? was->town : NULL,
                              was ? was->postcode : NULL};
    char *const from_sent[] = {sent_ad->line1, sent_ad->line2, sent_ad->town, sent_ad->postcode};
    bool any = false;
    for (size_t k = 0; k < 4; k++) {
        char *v = svc_sent(req, names[k]) ? from_sent[k] : from_was[k];
        *dst[k] = v ? v : (char *)"";
        any = any || svc_opt(v);
    }
    return any ? ad : NULL;
}

static Parley__Intake__V1__School *merge_school(const bus_request_t *req, arena_t *a,
                                                const Parley__Intake__V1__School *was,
                                                const Parley__Intake__V1__School *sent_school) {
    if (!svc_sent(req, "school")) return (Parley__Intake__V1__School *)was;
    if (sent_school == NULL) return NULL;
    Parley__Intake__V1__School *sc = arena_alloc(a, sizeof *sc);
    parley__intake__v1__school__init(sc);
    sc->urn = svc_sent(req, "school.urn") ? sent_school->urn : (was ? was->urn : NULL);
    sc->name = svc_sent(req, "school.name") ? sent_school->name : (was ? was->name : NULL);
    if (sc->urn == NULL) sc->urn = (char *)"";
    if (sc->name == NULL) sc->name = (char *)"";
    return svc_opt(sc->urn) || svc_opt(sc->name) ? sc : NULL;
}

/* The stored young person was with the patch p merged in. */
static yp_in_t *merge(const bus_request_t *req, arena_t *a, const yp_t *was, const patch_t *p) {
    yp_in_t *m = arena_alloc(a, sizeof *m);
    parley__intake__v1__create_young_person_request__init(m);
    m->given_name = svc_sent(req, "givenName") ? p->given_name : was->given_name;
    m->family_name = svc_sent(req, "familyName") ? p->family_name : was->family_name;
    m->date_of_birth = svc_sent(req, "dateOfBirth") ? p->date_of_birth : was->date_of_birth;
    m->email = svc_sent(req, "email") ? p->email : was->email;
    m->phone = svc_sent(req, "phone") ? p->phone : was->phone;
    m->preferred_language = svc_sent(req, "preferredLanguage") ? p->preferred_language : was->preferred_language;
    bool comm = svc_sent(req, "communicationNeeds");
    m->n_communication_needs = comm ? p->n_communication_needs : was->n_communication_needs;
    m->communication_needs = comm ? p->communication_needs : was->communication_needs;
    bool needs = svc_sent(req, "needs");
    m->n_needs = needs ? p->n_needs : was->n_needs;
    m->needs = needs ? p->needs : was->needs;
    m->plan_status = svc_sent(req, "planStatus") ? p->plan_status : was->plan_status;
    m->address = merge_address(req, a, was->address, p->address);
    m->school = merge_school(req, a, was->school, p->school);
    return m;
}

static bool same_address(const Parley__Intake__V1__Address *x, const Parley__Intake__V1__Address *y) {
    if (x == NULL || y == NULL) return x == y;
    return same_str(x->line1, y->line1) && same_str(x->line2, y->line2) && same_str(x->town, y->town) &&
           same_str(x->postcode, y->postcode);
}

static bool same_school(const Parley__Intake__V1__School *x, const Parley__Intake__V1__School *y) {
    if (x == NULL || y == NULL) return x == y;
    return same_str(x->urn, y->urn) && same_str(x->name, y->name);
}

/* Whether the merge m leaves was as it is. */
static bool unchanged(const yp_in_t *m, const yp_t *was) {
    /* A language removed or `unknown` is stored as none (young_people.c). */
    const char *lang = intake_language_or_null(m->preferred_language);
    const char *had = intake_language_or_null(was->preferred_language);
    if (!same_str(m->given_name, was->given_name) || !same_str(m->family_name, was->family_name) ||
        !same_str(m->date_of_birth, was->date_of_birth) || !same_str(m->email, was->email) ||
        !same_str(m->phone, was->phone) || !same_str(lang, had) ||
        m->plan_status != was->plan_status || !same_address(m->address, was->address) ||
        !same_school(m->school, was->school) || m->n_communication_needs != was->n_communication_needs ||
        m->n_needs != was->n_needs)
        return false;
    for (size_t k = 0; k < m->n_communication_needs; k++)
        if (m->communication_needs[k] != was->communication_needs[k]) return false;
    for (size_t k = 0; k < m->n_needs; k++)
        if (intake_need_type(m->needs[k]) != intake_need_type(was->needs[k]) ||
            !same_str(m->needs[k]->detail, was->needs[k]->detail))
            return false;
    return true;
}

int young_people_update(void *ctx, const bus_request_t *req, bus_response_t *res) {
    db_t *db = ((intake_t *)ctx)->db;
    arena_t *a = res->arena;
    const patch_t *in = (const patch_t *)req->input;
    if (!ids_is_uuid(in->id)) return svc_not_found(res, "young person");

    int rc = db_tx_begin(db, req->header->principal);
    yp_t *was = NULL;
    int found = rc == 0 ? young_people_read(db, a, in->id, "yp_lock", &was) : rc;
    if (found < 0) return svc_db_fail(res, req, db, found);
    if (found == 0) {
        db_tx_rollback(db);
        return svc_not_found(res, "young person");
    }
    if (!svc_if_match_allows(a, req, was->version)) {
        db_tx_rollback(db);
        bus_response_problem(res, BUS_PROBLEM_STALE_VERSION,
                             "the young person has changed since that version (it is at version %d); read it again",
                             was->version);
        return -1;
    }
    yp_in_t *m = NULL;
    if (svc_check_read_only(req, res, &was->base, NULL) == 0) {
        m = merge(req, a, was, in);
        young_people_check_fields(res, m, svc_sent(req, "dateOfBirth") && !same_str(m->date_of_birth, was->date_of_birth));
    }
    if (!svc_ok(res)) {
        db_tx_rollback(db);
        return -1;
    }
    if (unchanged(m, was)) {
        /* Nothing to change: nothing written, the version kept. */
        if ((rc = db_tx_commit(db)) != 0) return svc_db_fail(res, req, db, rc);
        res->reply = &was->base;
        return 0;
    }
    yp_t *now = NULL;
    rc = young_people_write(db, a, was, m, &now);
    /* Matching keeps the young person's facts for their cases (as for a family). */
    if (rc == 0) rc = events_emit(db, a, "young_person.updated", now->id, NULL);
    if (rc == 0) rc = db_tx_commit(db);
    if (rc != 0) return svc_db_fail(res, req, db, rc);
    res->reply = &now->base;
    return 0;
}
