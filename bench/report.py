#!/usr/bin/python3
"""bench/report.py — the tables of one make bench run, as Markdown on stdout.

  report.py BENCH_OUT

reads what scripts/bench and scripts/bench.d/*.sh wrote there: meta.tsv
("key<TAB>value"), results.tsv ("key processes round req/s p50_us p99_us
requests http_errors socket_errors other_cores", one line per measured run) and rss.tsv
("phase name kB"). With several rounds a figure is the median of each
column. Standard library only.
"""
import collections
import statistics
import sys

# (key, label, floor key, what the floor comparison means, the service whose
# processes are scaled for it)
ROUTES = [
    ("case", "`GET /v1/cases/{id}`", "floor-select", None, "intake"),
    ("family", "`GET /v1/families/{id}`", "floor-select", None, "intake"),
    ("list", "`GET /v1/cases?pageSize=50`", "floor-select", "the floor reads one row, the list 50", "intake"),
    ("create", "`POST /v1/cases`", "floor-insert", None, "intake"),
    ("candidates", "`POST /v1/cases/{id}/candidates`", "floor-select",
     "the floor reads one row; candidates ranks every supporter of the case's authority", "matching"),
    ("mix", "mixed: 35% case, 35% family, 20% list, 10% create", "floor-mix", None, "intake and matching"),
]
FLOORS = [
    ("floor-select", "floor SELECT: CivetWeb → ZeroMQ broker → C worker → `SELECT … WHERE id = $1`"),
    ("floor-insert", "floor INSERT: the same with one `INSERT` a request, synchronous_commit on"),
    ("floor-mix", "floor mix: 90% SELECT, 10% INSERT"),
    ("healthz", "`GET /healthz`: Parley's gateway alone (no key, no bus, no database)"),
]


def load(path, ncols):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= ncols:
                    rows.append(parts)
    except FileNotFoundError:
        pass
    return rows


def num(x):
    try:
        return float(x)
    except ValueError:
        return None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    meta = dict((k, v) for k, v in (r[:2] for r in load(f"{out}/meta.tsv", 2)))
    runs = collections.defaultdict(list)
    for r in load(f"{out}/results.tsv", 9):
        runs[(r[0], int(r[1]))].append(r)

    def fig(key, procs=1):
        rs = runs.get((key, procs))
        if not rs:
            return None

        def med(i):
            vals = [v for v in (num(r[i]) if len(r) > i else None for r in rs) if v is not None]
            return statistics.median(vals) if vals else None

        return {"rps": med(3), "p50": med(4), "p99": med(5), "other": med(9), "rounds": len(rs),
                "http_errors": sum(int(r[7] or 0) for r in rs), "socket_errors": sum(int(r[8] or 0) for r in rs)}

    def rps(f):
        if f is None or f["rps"] is None:
            return "—"
        failed = ([f"{f['http_errors']} answered ≥ 400"] if f["http_errors"] else []) + \
                 ([f"{f['socket_errors']} socket errors"] if f["socket_errors"] else [])
        return f"{f['rps']:,.0f}" + (f" ({', '.join(failed)})" if failed else "")

    def ms(f, k):
        return "—" if f is None or f[k] is None else f"{f[k] / 1000:.2f}"

    def other(f):
        return "—" if f is None or f["other"] is None else f"{f['other']:.2f}"

    def ratio(a, b):
        return "—" if a is None or b is None or not b else f"{a / b:.2f}×"

    p = print
    p(f"# make bench — {meta.get('date', '')}")
    p()
    p(f"- command: `{meta.get('command', 'make bench')}` at {meta.get('commit', '?')}")
    p(f"- machine: {meta.get('machine', '?')}")
    p(f"- load average (1, 5, 15 min): {meta.get('load_start', '?')} when `scripts/bench` started, "
      f"{meta.get('load_measure', '?')} when measuring began, {meta.get('load_end', '?')} at the end; "
      f"other work kept {meta.get('busy_start', '?')} cores busy before the run and {meta.get('busy_end', '?')} after "
      f"(/proc/stat over 3 s while the bench's stack was idle; the load average counts the bench's own work too)")
    if meta.get("note"):
        p(f"- note: {meta['note']}")
    others = [v for v in (num(r[9]) for r in load(f"{out}/results.tsv", 10)) if v is not None]
    if others:
        p(f"- other work on the machine during the figures (its CPU time, the machine's busy time less the bench's "
          f"own processes and wrk): median {statistics.median(others):.2f} cores, at most {max(others):.2f}, "
          f"of {meta.get('machine', '?').split(' ')[0]}")
    p(f"- {meta.get('postgres', 'PostgreSQL: ?')}; data directory on {meta.get('pg_disk', '?')}")
    p(f"- data: {meta.get('seed', '?')}")
    p(f"- {meta.get('settings', '')}")
    p(f"- took {meta.get('took', '?')}")
    p()
    p("## Parley beside the floor")
    p()
    p("| figure | req/s | p50 ms | p99 ms | floor req/s | floor p99 ms | × floor req/s | × floor p99 | "
      "2 processes: req/s | 2 / 1 | other work, cores |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    for key, label, floor_key, note, service in ROUTES:
        one, two, fl = fig(key, 1), fig(key, 2), fig(floor_key, 1)
        if one is None:
            continue
        if note:
            notes.append(f"{label}: {note}.")
        p(f"| {label} | {rps(one)} | {ms(one, 'p50')} | {ms(one, 'p99')} | {rps(fl)} | {ms(fl, 'p99')} | "
          f"{ratio(one['rps'], fl and fl['rps'])} | {ratio(one['p99'], fl and fl['p99'])} | "
          f"{rps(two)} ({service}) | {ratio(two and two['rps'], one['rps'])} | "
          f"{other(one)} / {other(fl)} / {other(two)} |")
    p()
    p("| reference | req/s | p50 ms | p99 ms | other work, cores |")
    p("|---|---:|---:|---:|---:|")
    for key, label in FLOORS:
        f = fig(key)
        if f is not None:
            p(f"| {label} | {rps(f)} | {ms(f, 'p50')} | {ms(f, 'p99')} | {other(f)} |")
    p()
    p("Each Parley read is compared with the floor's SELECT, each write with its INSERT, the mix with the "
      "floor's mix; × floor p99 is Parley's p99 over the floor's. Other work: the cores that processes other than "
      "the bench's used during the Parley figure / its floor / the 2-process figure. The floor's worker runs "
      f"{meta.get('settings', '').rsplit('floor worker ', 1)[-1] or '4 threads'}; "
      "Parley's services run one process each unless said, with their default worker threads.")
    for n in notes:
        p(f"{n}")
    p(f"2 / 1 is the route's throughput with two processes of its service over one. Here the gateway, the "
      f"broker, PostgreSQL and wrk share the machine's {meta.get('machine', '?').split(' ')[0]} cores with the "
      f"services, so a second process can only gain while the first leaves a core idle.")
    p()

    rss, pss = collections.defaultdict(dict), collections.defaultdict(dict)
    for row in load(f"{out}/rss.tsv", 3):
        phase, name, kb = row[:3]
        rss[phase][name] = max(rss[phase].get(name, 0), int(kb))
        if len(row) > 3:
            pss[phase][name] = max(pss[phase].get(name, 0), int(row[3]))
    phases = [("idle", "idle (after start)"), ("load-1", "under load, 1 process each"),
              ("load-2", "under load, 2 of intake and matching")]
    names = sorted({n for ph in rss.values() for n in ph},
                   key=lambda n: (["gateway", "broker", "intake", "matching", "scheduling", "notify", "training",
                                   "feedback"].index(n.split("-")[0]) if n.split("-")[0] in
                                  ["gateway", "broker", "intake", "matching", "scheduling", "notify", "training",
                                   "feedback"] else 99, n))
    if names:
        p("## Resident memory (MB, the largest sample of each process)")
        p()
        p("| process | " + " | ".join(label for _, label in phases) + " |")
        p("|---|" + "---:|" * len(phases))
        for n in names:
            p(f"| {n} | " + " | ".join(f"{rss[ph][n] / 1024:.1f}" if n in rss[ph] else "—" for ph, _ in phases) + " |")
        p("| **every Parley process** | " + " | ".join(
            f"**{sum(rss[ph].values()) / 1024:.1f}**" if rss[ph] else "—" for ph, _ in phases) + " |")
        if any(pss.values()):
            p("| **every Parley process, proportional (PSS)** | " + " | ".join(
                f"**{sum(pss[ph].values()) / 1024:.1f}**" if pss[ph] else "—" for ph, _ in phases) + " |")
        p()
        p("Resident memory counts the shared libraries (libzmq, libsodium, libpq, OpenSSL …) in every process "
          "again; the proportional set size (PSS) divides each shared page among the processes that share it, "
          "so its sum is the memory the processes take together.")
        p()
        p("notify-stand-in is tests/helpers/fake_consumer playing notify during the figures (notify takes no "
          "events yet); notify-1 is the real one, measured idle.")
        p()

    rank, serial = fig("rank"), fig("candidates-serial")
    if rank or serial:
        p("## Matching")
        p()
        p("| figure | req/s | p50 ms | p99 ms |")
        p("|---|---:|---:|---:|")
        if rank:
            p(f"| ranking one case among 10,000 supporters in process (`bench_matching_rank`) | — | "
              f"{ms(rank, 'p50')} | {ms(rank, 'p99')} |")
        if serial:
            p(f"| `POST /v1/cases/{{id}}/candidates`, one connection ({meta.get('considered', '?')} supporters "
              f"considered) | {rps(serial)} | {ms(serial, 'p50')} | {ms(serial, 'p99')} |")
        p()

    slots = fig("free-slots-serial")
    if slots:
        p("## Scheduling")
        p()
        p("| figure | req/s | p50 ms | p99 ms |")
        p("|---|---:|---:|---:|")
        p(f"| `GET /v1/calendars/{{ownerId}}/free-slots` over 8 weeks with 1,000 appointments, one connection "
          f"(target p99 under 20 ms) | {rps(slots)} | {ms(slots, 'p50')} | {ms(slots, 'p99')} |")
    compliance = fig("training-compliance")
    if compliance:
        p("## Training")
        p()
        p("| figure | req/s | p50 ms | p99 ms |")
        p("|---|---:|---:|---:|")
        p(f"| `GET /v1/training/compliance`, one connection ({meta.get('training_people', '?')} people) | "
          f"{rps(compliance)} | {ms(compliance, 'p50')} | {ms(compliance, 'p99')} |")
        p()

    notify = [(n, fig("notify-smtp", n)) for n in (1, 3) if fig("notify-smtp", n)]
    if notify:
        p("## Notify")
        p()
        p("| figure | notify processes | delivered/s | 202 to message p50 ms | p99 ms |")
        p("|---|---:|---:|---:|---:|")
        for n, f in notify:
            p(f"| notifications by email to a local SMTP server, first POST to last message | {n} | "
              f"{rps(f)} | {ms(f, 'p50')} | {ms(f, 'p99')} |")
        p()


if __name__ == "__main__":
    main()
