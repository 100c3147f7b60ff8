"""Helpers the intake end-to-end tests share (test_40 ... test_46)."""
import uuid


def agency_body(authority_ids, **over):
    body = {"name": f"Autism Advice {uuid.uuid4().hex[:6]}", "kind": "voluntary", "authorityIds": authority_ids,
            "needs": ["autism"], "languages": ["en"], "areas": ["Westminster"],
            "contact": {"email": "help@example.org", "phone": "020 7946 0001", "website": "https://example.org"}}
    body.update(over)
    return body


def outbox(db, case_id, type_=None):
    """The case's events, oldest first: [(type, data)]."""
    with db.cursor() as c:
        c.execute("SELECT type, data FROM intake.outbox WHERE subject_id = %s"
                  " AND (%s::text IS NULL OR type = %s) ORDER BY seq", (case_id, type_, type_))
        return c.fetchall()


def deliveries(db, case_id):
    """{(type, subscriber)} of the case's events."""
    with db.cursor() as c:
        c.execute("SELECT o.type, d.subscriber FROM intake.outbox o JOIN intake.outbox_deliveries d"
                  " ON d.event_id = o.id WHERE o.subject_id = %s", (case_id,))
        return set(c.fetchall())


def count(db, sql, *args):
    with db.cursor() as c:
        c.execute(sql, args)
        return c.fetchone()[0]


def patch(api, path, body, **headers):
    return api.s.patch(api.base + path, json=body, headers=headers, timeout=10)
