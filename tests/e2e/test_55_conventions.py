"""Idempotency keys, page tokens, read-only fields."""
import http.client
import json
import socket
import threading
import uuid
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from conftest import ENV, case_body, family_body


Reply = namedtuple("Reply", "status_code text headers")


def _post(key, body, idem):
    return requests.post(ENV["PARLEY_URL"] + "/v1/families", json=body, timeout=15,
                         headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem})


def test_fifty_concurrent_posts_with_one_key_make_one_row_and_fifty_identical_bodies(cw_a, authority_a, db):
    body = family_body(authority_a)
    idem = f"test-{uuid.uuid4()}"
    n, together = 50, 25  # two waves of 25 connections (the gateway has 48 threads)
    # Each thread connects and builds its request first, then all send at the
    # same moment (a raw socket: no Python work between the barrier and the
    # wire), so the duplicates really are in flight together.
    start = threading.Barrier(together)
    url = urlsplit(ENV["PARLEY_URL"])
    payload = json.dumps(body).encode()
    request = (f"POST /v1/families HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {cw_a.key}\r\n"
               f"Idempotency-Key: {idem}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
               "Connection: close\r\n\r\n").encode() + payload

    def post(_):
        out = []
        for _wave in range(n // together):
            with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
                start.wait(timeout=30)
                sock.sendall(request)
                r = http.client.HTTPResponse(sock)
                r.begin()
                out.append(Reply(r.status, r.read().decode(), dict(r.getheaders())))
        return out
    with ThreadPoolExecutor(max_workers=together) as pool:
        replies = [r for rs in pool.map(post, range(together)) for r in rs]
    assert [r.status_code for r in replies] == [201] * n, \
        f"idempotency: {n} concurrent POSTs with one key did not all answer 201: {[r.status_code for r in replies]}"
    assert len({r.text for r in replies}) == 1, \
        f"idempotency: {n} concurrent duplicates got {len({r.text for r in replies})} different answers"
    assert sum(1 for r in replies if r.headers.get("Idempotent-Replayed") == "true") == n - 1, \
        f"idempotency: more than one of {n} concurrent duplicates was served rather than replayed"
    assert len({r.headers["Location"] for r in replies}) == 1
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.parents WHERE family_name = %s", (body["parents"][0]["familyName"],))
        assert c.fetchone()[0] == 2  # one family, its two parents


def test_same_key_other_body_is_422_and_keys_are_per_client(cw_a, cw_b, authority_a, authority_b):
    idem = f"test-{uuid.uuid4()}"
    first = _post(cw_a.key, family_body(authority_a), idem)
    assert first.status_code == 201
    again = _post(cw_a.key, family_body(authority_a), idem)
    assert again.status_code == 422
    other_client = _post(cw_b.key, family_body(authority_b), idem)
    assert other_client.status_code == 201
    assert other_client.json()["id"] != first.json()["id"]


def test_a_validation_error_is_replayed_too(cw_a, authority_a):
    idem = f"test-{uuid.uuid4()}"
    bad = family_body(authority_a, children=[])
    r1 = _post(cw_a.key, bad, idem)
    r2 = _post(cw_a.key, bad, idem)
    assert r1.status_code == r2.status_code == 400
    assert r2.headers["Idempotent-Replayed"] == "true"


def test_page_tokens_are_tamper_proof_and_bound_to_the_client(cw_a, admin, authority_a, family_a):
    for _ in range(3):
        cw_a.post("/v1/cases", case_body(authority_a, family_a))
    token = cw_a.get("/v1/cases", params={"pageSize": 1}).json()["nextPageToken"]
    assert cw_a.get("/v1/cases", params={"pageSize": 1, "pageToken": token}).status_code == 200
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    r = cw_a.get("/v1/cases", params={"pageSize": 1, "pageToken": forged})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "pageToken", \
        f"page tokens: a tampered token was accepted ({r.status_code})"
    r = admin.get("/v1/cases", params={"pageSize": 1, "pageToken": token})
    assert r.status_code == 400, f"page tokens: another client's token was accepted ({r.status_code})"


def test_read_only_and_foreign_fields_are_400_and_store_nothing(cw_a, authority_a, authority_b, family_a, db):
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.cases")
        before = c.fetchone()[0]
    for extra in [{"id": str(uuid.uuid4())}, {"createdAt": "2026-01-01T00:00:00Z"}, {"status": "closed"},
                  {"version": 3}, {"authorityId": authority_b}]:
        body = case_body(authority_a, family_a, **extra)
        r = cw_a.post("/v1/cases", body)
        assert r.status_code == 400, (extra, r.text)
        assert list(extra)[0] in [e["field"] for e in r.json()["errors"]]
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM intake.cases")
        assert c.fetchone()[0] == before


def test_single_objects_carry_an_etag(cw_a, family_a):
    r = cw_a.get(f"/v1/families/{family_a['id']}")
    assert r.headers["ETag"] == '"1"'
