"""The broker's one grant for contacts (services/broker/policy.c): notify's
key, and only notify's, may call ResolveContact on intake and matching with
a principal of one authority and nothing else (its sender reads a
recipient's contact details when it sends, with no caller's request in
flight). Played with tests/helpers/bus_probe.c, as test_12_bus_security.py
plays its intruders."""
import uuid

import pytest

from matching_helpers import make_supporter
from test_12_bus_security import logs_mention, probe



def resolve(key, service, person_id, authority, *extra):
    rid = f"bus-probe-{uuid.uuid4()}"
    got = probe("call", service, "ResolveContact", person_id, "--authority", authority, *extra,
                "--request-id", rid, "--timeout-ms", "1500", key=key)
    return rid, got


def test_notify_may_resolve_a_parent_with_the_authority_alone(family_a, authority_a):
    parent = family_a["parents"][0]
    rid, got = resolve("notify", "intake", parent["id"], authority_a)
    assert got["result"] == "reply" and got["code"] == "OK", got
    payload = bytes.fromhex(got["payloadHex"])
    assert parent["email"].encode() in payload and parent["phone"].encode() in payload
    # Only what a message needs: never the child, the case or the family's other parents.
    assert family_a["children"][0]["dateOfBirth"].encode() not in payload
    assert family_a["parents"][1]["givenName"].encode() not in payload


def test_notify_may_resolve_a_supporter_on_matching(cw_a, authority_a):
    s = make_supporter(cw_a, [authority_a], email=f"sup-{uuid.uuid4().hex[:6]}@example.org", phone="+44 7700 900888")
    _, got = resolve("notify", "matching", s["id"], authority_a)
    assert got["code"] == "OK" and s["email"].encode() in bytes.fromhex(got["payloadHex"]), got


def test_another_authority_reads_nobody(family_a, authority_b):
    _, got = resolve("notify", "intake", family_a["parents"][0]["id"], authority_b)
    assert (got["code"], got["payloadBytes"]) == ("NOT_FOUND", 0), got


@pytest.mark.parametrize("kind", ["matching", "scheduling", "training", "feedback"])
def test_another_services_key_cannot_resolve_a_contact(kind, family_a, authority_a):
    # The control: notify's key can.
    assert resolve("notify", "intake", family_a["parents"][0]["id"], authority_a)[1]["code"] == "OK"
    rid, got = resolve(kind, "intake", family_a["parents"][0]["id"], authority_a)
    assert got["result"] == "reply" and got["code"] == "PERMISSION_DENIED", got
    assert got["payloadBytes"] == 0
    assert logs_mention(rid) is None  # intake never saw it


def test_notify_may_not_stretch_the_grant(family_a, authority_a, authority_b):
    parent = family_a["parents"][0]["id"]
    assert resolve("notify", "intake", parent, authority_a)[1]["code"] == "OK"  # the control
    # Another method with the same principal.
    rid = f"bus-probe-{uuid.uuid4()}"
    got = probe("call", "intake", "GetFamily", family_a["id"], "--authority", authority_a, "--request-id", rid,
                "--timeout-ms", "1500", key="notify")
    assert got["code"] == "PERMISSION_DENIED", got
    # A principal with roles, or with two authorities.
    _, got = resolve("notify", "intake", parent, authority_a, "--role", "caseworker")
    assert got["code"] == "PERMISSION_DENIED", got
    _, got = resolve("notify", "intake", parent, authority_a, "--authority", authority_b)
    assert got["code"] == "PERMISSION_DENIED", got
    _, got = resolve("notify", "intake", parent, authority_a, "--client-id", str(uuid.uuid4()))
    assert got["code"] == "PERMISSION_DENIED", got
