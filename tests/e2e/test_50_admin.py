"""Administration: authorities, API clients and their keys, revocation."""
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import ENV, ROOT, Api, case_body, family_body, spawn_env, wait_for


def _var():
    var = Path(ENV.get("PARLEY_VAR_DIR", "var"))
    return var if var.is_absolute() else ROOT / var


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_admin_creates_an_authority_and_a_client_that_works(admin):
    code = "E0%07d" % (uuid.uuid4().int % 10**7)
    r = admin.post("/v1/authorities", {"code": code, "name": "Test Borough"})
    assert r.status_code == 201, r.text
    auth = r.json()
    assert auth["code"] == code and auth["id"]
    assert admin.post("/v1/authorities", {"code": code, "name": "Again"}).status_code == 409
    # Every page: the suite's tests make authorities of their own, more than one page of them.
    listed, token = [], None
    for _ in range(100):
        page = admin.get("/v1/authorities", params={"pageSize": 200, **({"pageToken": token} if token else {})}).json()
        listed += page["items"]
        token = page.get("nextPageToken")
        if not token:
            break
    assert auth["id"] in {a["id"] for a in listed}

    r = admin.post("/v1/clients", {"name": "Test caseworker", "roles": ["caseworker"], "authorityIds": [auth["id"]]})
    assert r.status_code == 201, r.text
    client = r.json()
    assert client["key"].startswith("pk_") and client["roles"] == ["caseworker"]
    assert "revokedAt" not in client
    api = Api(client["key"])
    fam = api.post("/v1/families", family_body(auth["id"]))
    assert fam.status_code == 201, fam.text
    # The key is shown once: the list never carries it.
    clients = admin.get("/v1/clients", params={"pageSize": 200}).json()["items"]
    mine = [c for c in clients if c["id"] == client["id"]]
    assert mine and "key" not in mine[0]


def test_bad_authority_and_client_bodies_are_400(admin, authority_a):
    r = admin.post("/v1/authorities", {"code": "nope", "name": ""})
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"code", "name"}
    r = admin.post("/v1/clients", {"name": "x", "roles": ["wizard"], "authorityIds": [authority_a]})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "roles[0]"
    r = admin.post("/v1/clients", {"name": "x", "roles": ["caseworker"], "authorityIds": []})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "authorityIds"


def test_a_client_cannot_grant_an_authority_it_does_not_hold(admin, db):
    stranger = str(uuid.uuid4())
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM gateway.api_clients")
        before = c.fetchone()[0]
    r = admin.post("/v1/clients", {"name": "x", "roles": ["caseworker"], "authorityIds": [stranger]})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "authorityIds[0]"
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM gateway.api_clients")
        assert c.fetchone()[0] == before


def test_caseworker_calling_an_admin_route_is_403(cw_a, authority_a):
    assert cw_a.get("/v1/clients").status_code == 403
    r = cw_a.post("/v1/clients", {"name": "x", "roles": ["consortium_admin"], "authorityIds": [authority_a]})
    assert r.status_code == 403
    assert cw_a.get("/v1/audit").status_code == 403


def test_keys_are_stored_only_hashed(admin, authority_a, db):
    key = admin.post("/v1/clients", {"name": "hash check", "roles": ["analyst"], "authorityIds": [authority_a]}).json()["key"]
    with db.cursor() as c:
        c.execute("SELECT count(*) FROM gateway.api_clients WHERE key_hash = %s OR name = %s", (key, key))
        assert c.fetchone()[0] == 0
        c.execute("SELECT count(*) FROM gateway.api_clients WHERE key_hash LIKE %s", (key[36:46] + "%",))
        assert c.fetchone()[0] == 0


@pytest.fixture
def second_gateway():
    """Another gateway instance on the same stack, as an operator would run one."""
    port = _free_port()
    dsn = ENV["PARLEY_PG_DSN"].replace("user=parley", "user=parley_gateway")
    env = spawn_env(PARLEY_HTTP_PORT=str(port), PARLEY_PG_DSN=dsn,
                    PARLEY_KEY_SECRET=(_var() / "secret").read_text().strip(),
                    PARLEY_BROKER=ENV["PARLEY_BROKER"], PARLEY_REDIS_URL=ENV["PARLEY_REDIS_URL"],
                    PARLEY_MIGRATIONS_DIR=str(ROOT / "gateway" / "migrations"))
    binary = ROOT / ENV.get("PARLEY_BIN_DIR", "build") / "parley-gateway"
    log = open(_var() / "log" / "gateway-test-second.log", "w")
    proc = subprocess.Popen([str(binary)], cwd=ROOT, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return requests.get(url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False
    try:
        assert wait_for(healthy, timeout=30), f"the second gateway did not answer /healthz (log: {log.name})"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def test_a_revoked_key_is_refused_at_once_here_and_within_the_cache_time_on_another_gateway(
        admin, authority_a, second_gateway):
    client = admin.post("/v1/clients", {"name": "to revoke", "roles": ["caseworker"],
                                        "authorityIds": [authority_a]}).json()
    headers = {"Authorization": f"Bearer {client['key']}"}
    here, there = ENV["PARLEY_URL"], second_gateway
    for url in (here, there):  # both instances have the key cached now
        assert requests.get(url + "/v1/cases", headers=headers, timeout=10).status_code == 200
    r = admin.s.delete(admin.base + f"/v1/clients/{client['id']}", timeout=10)
    assert r.status_code == 200 and r.json()["revokedAt"]
    revoked_at = time.monotonic()
    # The gateway that revoked it forgets it at once: the very next request is refused.
    r = requests.get(here + "/v1/cases", headers=headers, timeout=5)
    assert r.status_code == 401, \
        f"revocation: the revoking gateway still accepted the revoked key on the next request ({r.status_code})"
    # Another gateway within its cache time (PARLEY_AUTH_CACHE_MS, at most 5 s).
    refused = wait_for(lambda: requests.get(there + "/v1/cases", headers=headers, timeout=5).status_code == 401,
                       timeout=5, every=0.05)
    assert refused, f"revocation: the other gateway still accepted the revoked key {time.monotonic() - revoked_at:.1f} s later"
    assert requests.get(here + "/v1/cases", headers=headers, timeout=5).status_code == 401
    assert admin.s.delete(admin.base + f"/v1/clients/{uuid.uuid4()}", timeout=10).status_code == 404


def test_audit_rows_record_each_case_read_without_personal_data(admin, cw_a, case_a, db):
    for _ in range(3):
        assert cw_a.get(f"/v1/cases/{case_a['id']}").status_code == 200
    # The gateway writes a request's audit row just after answering it: poll.
    def audit():
        r = admin.get("/v1/audit", params={"recordId": case_a["id"]})
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def three_reads():
        rows = audit()
        return rows if sum(e["action"] == "read" for e in rows) >= 3 else None
    rows = wait_for(three_reads, timeout=10) or audit()
    reads = [e for e in rows if e["action"] == "read"]
    assert len(reads) == 3, f"audit: 3 reads of the case left {len(reads)} audit rows"
    assert all(e["recordType"] == "cases" and e["outcome"] == 200 for e in reads)
    assert all(e["authorityId"] == case_a["authorityId"] for e in reads)
    creates = [e for e in rows if e["action"] == "create"]
    assert len(creates) == 1
    # No field values: nothing of the family or the case's text is in any row.
    with db.cursor() as c:
        c.execute("SELECT row_to_json(e)::text FROM audit.events e WHERE record_id = %s", (case_a["id"],))
        text = " ".join(r[0] for r in c.fetchall())
    for secret in ["Amina", "Yusuf", "EHC needs assessment", "public_task"]:
        assert secret not in text


def test_the_audit_table_is_append_only_for_the_gateway(db):
    with db.cursor() as c:
        c.execute("BEGIN")
        c.execute("SET LOCAL ROLE parley_gateway")
        with pytest.raises(Exception) as err:
            c.execute("UPDATE audit.events SET outcome = 0")
        c.execute("ROLLBACK")
    assert "permission denied" in str(err.value)
    with db.cursor() as c:
        c.execute("BEGIN")
        c.execute("SET LOCAL ROLE parley_gateway")
        with pytest.raises(Exception) as err:
            c.execute("DELETE FROM audit.events")
        c.execute("ROLLBACK")
    assert "permission denied" in str(err.value)
