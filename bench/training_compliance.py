"""make bench's training figure (scripts/bench.d/30-training.sh): the
compliance report of an authority with 500 people.

Through the public API, with the stack's demo admin key (stack.env): a new
authority, a caseworker key for it, two courses a role requires, and 500
people of that role each with completions of one or both courses on dates
spread over the last two years (so the report finds some compliant, some
expiring, expired or missing). Then GET /v1/training/compliance is asked
BENCH_TRAINING_REQUESTS times (default 300) one at a time on one connection,
after a warm-up; prints the median and p99 and, with BENCH_OUT, appends the
figure to results.tsv. Measures; asserts no time."""
import datetime
import os
import statistics
import sys
import time
import uuid

import requests

URL = os.environ["PARLEY_URL"]
PEOPLE = int(os.environ.get("BENCH_TRAINING_PEOPLE", "500"))
REQUESTS = int(os.environ.get("BENCH_TRAINING_REQUESTS", "300"))


def api(key):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {key}"
    return s


def ok(r, status=(200, 201)):
    if r.status_code not in status:
        sys.exit(f"bench training: {r.request.method} {r.url}: {r.status_code} {r.text[:300]}")
    return r.json()


def main():
    admin = api(os.environ["PARLEY_KEY_ADMIN"])
    code = "E0%07d" % (uuid.uuid4().int % 10**7)
    authority = ok(admin.post(URL + "/v1/authorities", json={"code": code, "name": f"bench training {code}"}))["id"]
    key = ok(admin.post(URL + "/v1/clients", json={"name": "bench training", "roles": ["caseworker"],
                                                    "authorityIds": [authority]}))["key"]
    cw = api(key)
    courses = [ok(cw.post(URL + "/v1/courses", json={
        "authorityId": authority, "code": f"B{i}-{uuid.uuid4().hex[:6]}", "title": f"Bench course {i}",
        "audience": ["teacher"], "level": 1 + i, "hours": 3, "validForMonths": 12, "delivery": "online"}))["id"]
        for i in range(2)]
    ok(cw.put(URL + "/v1/requirements/teacher", json={"authorityId": authority,
                                                       "courses": [{"courseId": c} for c in courses]}))
    today = datetime.date.today()
    t0 = time.monotonic()
    for i in range(PEOPLE):
        done = ok(cw.post(URL + "/v1/completions", json={
            "person": {"name": f"Teacher {i}", "organisation": {"urn": "%06d" % (100000 + i % 50)}, "role": "teacher"},
            "courseId": courses[0], "completedOn": (today - datetime.timedelta(days=(i * 7) % 730)).isoformat()}))
        if i % 3:
            ok(cw.post(URL + "/v1/completions", json={
                "person": {"personId": done["personId"]}, "courseId": courses[1],
                "completedOn": (today - datetime.timedelta(days=(i * 11) % 700)).isoformat()}))
    seeded = time.monotonic() - t0
    path = URL + "/v1/training/compliance"
    params = {"authorityId": authority, "role": "teacher"}
    first = ok(cw.get(path, params=params))
    for _ in range(20):
        ok(cw.get(path, params=params))
    took = []
    for _ in range(REQUESTS):
        t = time.perf_counter()
        ok(cw.get(path, params=params))
        took.append(time.perf_counter() - t)
    took.sort()
    p50 = statistics.median(took) * 1000
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))] * 1000
    print(f"  compliance report, {first['people']} people ({first['compliant']} compliant, "
          f"{len(first['items'])} listed), one connection, {REQUESTS} requests: p50 {p50:.2f} ms  p99 {p99:.2f} ms"
          f"  (seeded in {seeded:.0f} s)")
    out = os.environ.get("BENCH_OUT")
    if out:
        with open(os.path.join(out, "results.tsv"), "a") as f:
            f.write(f"training-compliance\t1\t1\t{REQUESTS / sum(took):.0f}\t{int(p50 * 1000)}\t{int(p99 * 1000)}"
                    f"\t{REQUESTS}\t0\t0\t\n")
        with open(os.path.join(out, "meta.tsv"), "a") as f:
            f.write(f"training_people\t{first['people']}\n")


if __name__ == "__main__":
    main()
