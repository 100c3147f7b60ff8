#!/usr/bin/python3
"""bench/seed.py — the data make bench measures against, written through the
REST API (so every row is exactly what the services write: outbox, audit,
triggers, matching's places and pool generations) by CONNECTIONS keep-alive
connections in parallel.

  seed.py URL OUT_DIR [FAMILIES (20000) [SUPPORTERS (10000) [CONNECTIONS (16)]]]

Half the families (each with one or two parents and one child) and their
cases belong to authority A, half to B; supporters serve A, B or both
(45/45/10). Everything is drawn from a fixed seed, so two runs seed the same
shapes. Writes OUT_DIR/cases.txt, one "A|B case_id family_id child_id" line a
case, which the wrk scripts (bench/wrk/parley.lua) pick from. Uses only the
Python standard library; keys and authority ids come from the environment
(stack.env). Every request must succeed (a failed one is retried twice,
then the seed stops with the answer).
"""
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

LANGS = ["en"] * 14 + ["pl", "ur", "so", "bn", "ar", "pa", "ro", "cy", "tr", "pt"]
COMM = ["interpreter", "large_print", "easy_read", "braille", "audio", "bsl"]
NEEDS = ["autism", "ADHD", "speech and language", "dyslexia", "social, emotional and mental health",
         "hearing", "visual", "physical", "moderate learning difficulty", "epilepsy"]
PLAN = ["none", "sen_support", "sen_support", "assessment", "ehc_plan", "ehc_plan"]
SOURCE = ["self", "school", "school", "authority", "health", "social_care", "voluntary", "other"]
CASE_NEEDS = ["information", "advice", "supporter", "meeting_support", "tribunal_support"]
DISTRICTS = ["N1", "N7", "N16", "E2", "E8", "SE5", "SE15", "W1", "W10", "NW1", "SW9", "N"]
SPECIALISMS = ["autism", "adhd", "sensory", "physical", "semh", "speech_language", "learning", "early_years",
               "post_16", "exclusions", "tribunal"]
GIVEN = ["Amina", "Omar", "Grace", "Tomasz", "Aisha", "David", "Priya", "Kwame", "Fatima", "Liam", "Zofia",
         "Hassan", "Chloe", "Yusuf", "Megan", "Ravi", "Sara", "Dylan", "Nadia", "Ewan"]
FAMILY = ["Yusuf", "Kowalski", "Khan", "Smith", "Begum", "Jones", "Patel", "Mensah", "Ali", "Evans", "Nowak",
          "Hussain", "Williams", "Ahmed", "Taylor", "Singh", "Popescu", "Davies", "Osei", "Brown"]


class Api:
    """One keep-alive connection, one thread."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def post(self, path, key, body):
        data = json.dumps(body).encode()
        headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
        last = None
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request("POST", path, data, headers)
                r = self.conn.getresponse()
                text = r.read()
                if r.status == 201:
                    return json.loads(text)
                last = f"{r.status} {text[:300]!r}"
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
            time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"POST {path} failed 3 times: {last}")


def family_body(rng, authority):
    surname = rng.choice(FAMILY)
    district = rng.choice(DISTRICTS)
    parents = []
    for i in range(1 if rng.random() < 0.4 else 2):
        lang = rng.choice(LANGS)
        parents.append({
            "givenName": rng.choice(GIVEN), "familyName": surname,
            "email": f"parent{rng.randrange(10**6)}@example.org", "phone": f"+44 20 7946 {rng.randrange(10**4):04d}",
            "address": {"line1": f"{rng.randrange(1, 200)} High Street", "town": "London",
                        "postcode": f"{district} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}A"},
            "preferredLanguage": lang,
            "communicationNeeds": (["interpreter"] if lang != "en" and rng.random() < 0.5 else [])
            + ([rng.choice(COMM[1:])] if rng.random() < 0.1 else []),
            "hasParentalResponsibility": True, "relationship": ["mother", "father"][i],
        })
    child = {"givenName": rng.choice(GIVEN), "familyName": surname,
             "dateOfBirth": f"{rng.randrange(2008, 2022)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
             "needs": rng.sample(NEEDS, rng.randrange(1, 4)), "planStatus": rng.choice(PLAN)}
    if rng.random() < 0.7:
        child["school"] = {"urn": f"{rng.randrange(100000, 150000)}", "name": f"{rng.choice(FAMILY)} Primary"}
    return {"authorityId": authority, "parents": parents, "children": [child]}


def case_body(rng, authority, family_id, child_id):
    return {"authorityId": authority, "familyId": family_id, "childId": child_id, "source": rng.choice(SOURCE),
            "needs": rng.sample(CASE_NEEDS, rng.randrange(1, 3)), "wantsSupporter": False,
            "summary": "Parent asks about the SEN support their child's school offers and what comes next.",
            "consent": {"shareWithAgencies": rng.random() < 0.9, "lawfulBasis": "public_task",
                        "givenBy": "the parent"}}


def supporter_body(rng, i, authorities):
    r = rng.random()
    serves = [authorities[0]] if r < 0.45 else [authorities[1]] if r < 0.9 else list(authorities)
    return {"givenName": rng.choice(GIVEN), "familyName": f"{rng.choice(FAMILY)}-{i}",
            "email": f"ips{i}@example.org", "authorityIds": serves,
            "areas": rng.sample(DISTRICTS, rng.randrange(1, 4)),
            "languages": sorted({"en", rng.choice(LANGS)}), "specialisms": rng.sample(SPECIALISMS, rng.randrange(0, 4)),
            "capacity": rng.randrange(2, 8), "vettingExpiresOn": f"{rng.randrange(2027, 2031)}-09-30",
            "homePostcode": f"{rng.choice(DISTRICTS)} 1AA"}


def run(conns, n, label, task):
    """task(api, i) for i in range(n) over conns connections; prints progress."""
    local = threading.local()
    done = [0]
    lock = threading.Lock()
    t0 = time.monotonic()

    def one(i):
        if not hasattr(local, "api"):
            local.api = Api(URL)
        out = task(local.api, i)
        with lock:
            done[0] += 1
            if done[0] % 5000 == 0:
                print(f"seed: {label} {done[0]}/{n}", file=sys.stderr, flush=True)
        return out

    with ThreadPoolExecutor(conns) as ex:
        results = list(ex.map(one, range(n)))
    took = time.monotonic() - t0
    print(f"seed: {n} {label} in {took:.1f} s ({n / took:.0f}/s over {conns} connections)", file=sys.stderr)
    return results


def main():
    global URL
    if not 3 <= len(sys.argv) <= 6:
        sys.exit(__doc__)
    URL, out_dir = sys.argv[1], sys.argv[2]
    families = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    supporters = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    conns = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    env = os.environ
    auth = {"A": env["PARLEY_AUTHORITY_A"], "B": env["PARLEY_AUTHORITY_B"]}
    key = {"A": env["PARLEY_KEY_CASEWORKER_A"], "B": env["PARLEY_KEY_CASEWORKER_B"]}

    def side(i):
        return "A" if i % 2 == 0 else "B"

    def make_family(api, i):
        rng = random.Random(i)
        f = api.post("/v1/families", key[side(i)], family_body(rng, auth[side(i)]))
        return f["id"], f["children"][0]["id"]

    fams = run(conns, families, "families", make_family)

    def make_case(api, i):
        rng = random.Random(10**6 + i)
        fid, cid = fams[i]
        return api.post("/v1/cases", key[side(i)], case_body(rng, auth[side(i)], fid, cid))["id"]

    cases = run(conns, families, "cases", make_case)
    with open(os.path.join(out_dir, "cases.txt"), "w") as f:
        for i, case_id in enumerate(cases):
            f.write(f"{side(i)} {case_id} {fams[i][0]} {fams[i][1]}\n")

    def make_supporter(api, i):
        rng = random.Random(2 * 10**6 + i)
        return api.post("/v1/supporters", env["PARLEY_KEY_ADMIN"], supporter_body(rng, i, (auth["A"], auth["B"])))

    run(conns, supporters, "supporters", make_supporter)


if __name__ == "__main__":
    main()
