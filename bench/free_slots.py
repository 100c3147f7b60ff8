"""The free-slots figure of make bench (scripts/bench.d/30-scheduling.sh):
one supporter's calendar (weekdays 09:00-17:00, Europe/London) with 1,000
appointments booked through the API over 8 weeks, then GET
/v1/calendars/{ownerId}/free-slots for those 8 weeks one request at a time
through the gateway: median and p99 of N requests. Prints one line and
appends a results.tsv row (key free-slots-serial)."""
import datetime
import statistics
import sys
import time
import uuid

import requests


def main():
    url, key, authority, out, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {key}"
    owner = str(uuid.uuid4())
    r = s.put(f"{url}/v1/calendars/{owner}/availability", timeout=10, json={
        "authorityId": authority, "ownerKind": "supporter", "bufferAfterMinutes": 0,
        "weekly": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(1, 6)]})
    r.raise_for_status()
    # The appointments' case (ics: booking reads its family's needs from intake).
    fam = s.post(f"{url}/v1/families", timeout=10, json={
        "authorityId": authority,
        "parents": [{"givenName": "Bench", "familyName": f"Family-{owner[:8]}", "preferredLanguage": "en",
                     "hasParentalResponsibility": True, "relationship": "mother"}],
        "children": [{"givenName": "Kid", "familyName": f"Family-{owner[:8]}", "dateOfBirth": "2015-05-01",
                      "needs": ["autism"]}]})
    fam.raise_for_status()
    case = s.post(f"{url}/v1/cases", timeout=10, json={
        "authorityId": authority, "familyId": fam.json()["id"], "childId": fam.json()["children"][0]["id"],
        "source": "school", "needs": ["supporter"], "consent": {"shareWithAgencies": True, "lawfulBasis": "public_task"}})
    case.raise_for_status()
    case_id = case.json()["id"]
    # 1,000 bookings of 15 minutes, 25 a weekday for 40 weekdays (8 weeks),
    # every other quarter hour from 09:00 local.
    day = datetime.date(2027, 1, 4)  # a Monday
    booked = 0
    while booked < 1000:
        if day.weekday() < 5:
            for k in range(25):
                start = datetime.datetime(day.year, day.month, day.day, 9, 0, tzinfo=datetime.timezone.utc) + \
                    datetime.timedelta(minutes=30 * k)
                end = start + datetime.timedelta(minutes=15)
                r = s.post(f"{url}/v1/appointments", timeout=10, json={
                    "authorityId": authority, "caseId": case_id, "kind": "one_to_one",
                    "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "location": {"kind": "phone", "phone": "0113 496 0000"},
                    "participants": [{"kind": "supporter", "calendarOwnerId": owner, "name": "Bench"}],
                    # 25 a day run past the 17:00 the weekly hours end at: booked as staff may.
                    "allowOutsideHours": True})
                r.raise_for_status()
                booked += 1
        day += datetime.timedelta(days=1)
    params = {"from": "2027-01-04T00:00:00Z", "to": "2027-03-01T00:00:00Z", "minutes": 15}
    for _ in range(10):  # warm-up
        s.get(f"{url}/v1/calendars/{owner}/free-slots", params=params, timeout=10).raise_for_status()
    times, slots = [], 0
    t0 = time.perf_counter()
    for _ in range(n):
        a = time.perf_counter()
        r = s.get(f"{url}/v1/calendars/{owner}/free-slots", params=params, timeout=10)
        times.append(time.perf_counter() - a)
        r.raise_for_status()
        slots = len(r.json()["slots"])
    wall = time.perf_counter() - t0
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"  free-slots over 8 weeks, 1000 appointments, {slots} free 15-minute slots, one connection: "
          f"p50 {p50 * 1000:.2f} ms   p99 {p99 * 1000:.2f} ms   ({n} requests, {n / wall:.1f} req/s)")
    with open(f"{out}/results.tsv", "a") as f:
        f.write(f"free-slots-serial\t1\t1\t{n / wall:.1f}\t{int(p50 * 1e6)}\t{int(p99 * 1e6)}\t{n}\t0\t0\t\n")


if __name__ == "__main__":
    main()
