"""bench/webhook: hotline vs. limit app on granian and on today's gunicorn, and the journal's cost.

One run: seven servers side by side (hotline and limit app on granian and on gunicorn.conf.py; the hotline
as it stood when gunicorn served it, on its own gunicorn.conf.py; the hotline on granian with the journal
off and on PostgreSQL), the same signed wrk load on each in alternating rounds, then a paced run at half of
each measured capacity; then the journal's cost on fresh sets of servers (benchlib.journalcost). Figures
and targets: bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock
from xml.etree import ElementTree

from benchlib import wrk
from benchlib.common import (
    BENCH,
    HOTLINE,
    LIMIT,
    LOCAL_POSTGRES,
    NOJOURNAL,
    ROOT,
    App,
    ForeignLoad,
    Server,
    conclude,
    copy_ops_files,
    describe,
    engine_modules_after_import,
    kib,
    mapped_engine_libraries,
    process_table,
    require_wrk,
    results_folder,
    serve,
    service_env,
)
from benchlib.journalcost import JournalSets, journal_costs, journal_url, median_cost
from benchlib.traffic import Req, call_form, gather, send, signed, write_requests

PACED_LUA = BENCH / "wrk" / "paced.lua"
# "Today's hotline under today's gunicorn config" (issue 15): the last commit before serve.py, when the
# hotline (journal on) was served by gunicorn.conf.py. Served from `git archive` of it, with its own ops
# files, migrations and gunicorn.conf.py, in the same venv.
TODAY = "aa4b9f7f622c3323762acd658c9489c04c53cdb9"
# What a call does, as Gather actions: (position, digits); None = the no-input Redirect.
GATHER_STEPS: list[tuple[str, str | None]] = [
    ("", "1"),  # main menu → section 1
    ("1", "2"),  # section 1 → answer 1-2
    ("12", "*"),  # repeat the answer
    ("12", "#"),  # back to section 1
    ("23", "9"),  # after an answer → main menu
    ("3", None),  # silence: shorter re-prompt
    ("", "7"),  # a key that does not exist
    ("4", "0"),  # agent (or the hours, out of hours)
]


def request_mix(calls: int = 8) -> list[Req]:
    """Half POST /voice (a new call), half Gather actions; each request of a distinct call."""
    mix: list[Req] = []
    for c in range(calls):
        for i, (position, digits) in enumerate(GATHER_STEPS):
            n = c * 100 + i
            mix.append(signed("/voice", call_form(n)))
            mix.append(gather(f"/voice/key?p={position}&n=0&x=0", n, digits))
    return mix


@dataclass
class Contender:
    """One server in the run: what it serves, how, and what its rounds measured."""

    name: str
    app: App
    server: str
    database: str  # "sqlite", "postgresql" or "off"
    url: str = ""  # its journal's DATABASE_URL
    root: Path | None = None  # another checkout to serve (today's hotline), else this one
    running: Server | None = None
    full: list[wrk.WrkResult] = field(default_factory=list)
    paced: wrk.WrkResult | None = None
    cpu_ticks: list[dict[int, int]] = field(default_factory=list)  # per full round: worker → ticks
    seconds: list[float] = field(default_factory=list)
    start_memory: dict[int, int] = field(default_factory=dict)
    end_memory: dict[int, int] = field(default_factory=dict)
    sent_events: int = 0  # journal events the requests sent must leave
    rows: int | None = None  # events in its database after the graceful stop

    @property
    def live(self) -> Server:
        """The running server."""
        assert self.running is not None
        return self.running

    def rps(self) -> float:
        """Requests per second over all full-load rounds."""
        return wrk.pooled_rps(self.full)

    def cpu_us(self) -> float:
        """Workers' CPU time per request at full load, µs."""
        ticks = sum(sum(t.values()) for t in self.cpu_ticks)
        return ticks / TICK_HZ * 1e6 / sum(r.requests for r in self.full)

    def balance(self) -> list[tuple[float, float]]:
        """Per full round: (least busy worker, busiest worker) in cores."""
        return [
            (min(t.values()) / TICK_HZ / s, max(t.values()) / TICK_HZ / s)
            for t, s in zip(self.cpu_ticks, self.seconds, strict=True)
            if t
        ]


TICK_HZ = 100.0


def worker_ticks(server: Server) -> dict[int, int]:
    """CPU ticks used so far by each worker (all its threads: Python and the server's own)."""
    table = process_table()
    return {pid: table[pid][1] for pid in server.workers() if pid in table}


def events_per_request(env: dict[str, str], mix: list[Req]) -> list[int]:
    """Journal events each request of the mix records, counted in-process on the same app."""
    import logging

    with mock.patch.dict("os.environ", env, clear=True):
        from ivr import create_app

        # no watcher thread: it would outlive this probe and log the ops files' removal at the bench's end
        app = create_app({"IVR_RELOAD_INTERVAL_S": 0})
    logging.getLogger("ivr").setLevel(logging.WARNING)
    journal = app.extensions["ivr.journal"]
    recorded: list[object] = []
    journal.record = recorded.append  # counted here, never written
    client, counts = app.test_client(), []
    for req in mix:
        before = len(recorded)
        answer = client.open(req.path, method=req.method, data=req.body, headers=req.all_headers())
        assert answer.status_code == 200, (req.path, answer.status_code)
        counts.append(len(recorded) - before)
    logging.getLogger("ivr").setLevel(logging.NOTSET)
    return counts


def sent_events(result: wrk.WrkResult, per_line: list[int]) -> int:
    """Events the requests wrk sent must leave: each thread replays the lines from its start, in order."""
    total = 0
    for item in result.data.get("sent_by_thread", []):
        start, sent = (int(x) for x in str(item).split(":"))
        cycles, rest = divmod(sent, len(per_line))
        total += cycles * sum(per_line) + sum(per_line[(start + j) % len(per_line)] for j in range(rest))
    return total


def check_mix(server: Server, mix: list[Req]) -> list[bytes]:
    """Every request of the mix answers 200 TwiML (a bad signature would make the bench measure 403s)."""
    bodies = []
    for req in mix:
        answer = send(server.url, req)
        if answer.status != 200 or ElementTree.fromstring(answer.body).tag != "Response":
            raise SystemExit(f"{server.name} {req.path}: {answer.status} {answer.body[:200]!r}")
        bodies.append(answer.body)
    return bodies


def baseline_document(bodies: list[bytes], size: int, path: Path) -> Path:
    """The shortest real hotline response, padded with an XML comment to `size` bytes."""
    body = min(bodies, key=len)
    pad = max(0, size - len(body) - len(b"<!---->"))
    document = body.replace(b"</Response>", b"<!--" + b"x" * pad + b"--></Response>", 1)
    path.write_bytes(document)
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Options (defaults: one run in about 5 minutes)."""
    parser = argparse.ArgumentParser(prog="bench/webhook", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4, help="full-load rounds of every server (default 4)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per wrk run (default 6)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load each")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--postgres", default=LOCAL_POSTGRES)
    parser.add_argument(
        "--min-speedup", type=float, default=1.5, help="hotline granian / today's hotline on gunicorn"
    )
    parser.add_argument("--min-ratio", type=float, default=0.88, help="hotline / limit app, granian")
    parser.add_argument("--max-half-p99-ms", type=float, default=5.0)
    parser.add_argument("--max-journal-cost", type=float, default=0.05)
    parser.add_argument(
        "--journal-instances",
        type=int,
        default=3,
        help="sets of fresh journal off/SQLite/PostgreSQL servers the journal's cost is the median of"
        " (default 3; 0: the seven servers' one instance each decides)",
    )
    parser.add_argument(
        "--journal-rounds", type=int, default=4, help="alternated rounds of each set (default 4)"
    )
    parser.add_argument("--min-balance", type=float, default=0.5, help="least / busiest worker CPU")
    return parser.parse_args(argv)


def today_checkout(dest: Path) -> Path:
    """TODAY's tree, extracted from this repository's history into dest (exits saying why it cannot)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", TODAY], capture_output=True, check=False)
    if archive.returncode:
        raise SystemExit(
            f"bench/webhook compares with the hotline at {TODAY[:7]} and cannot read it from git: "
            f"{archive.stderr.decode(errors='replace').strip()} (a shallow clone: git fetch --unshallow)"
        )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def today_env(root: Path, url: str) -> dict[str, str]:
    """Today's hotline on its own ops files and journal (its `ivr` first on the path: its migrations)."""
    return service_env(root, DATABASE_URL=url, PYTHONPATH=str(root))


def contenders(today: Path) -> list[Contender]:
    """The seven servers, in the order of a forward round.

    Each pair a target compares runs back to back in every round (journal on PostgreSQL and off, off and
    on SQLite, the hotline and the limit app on each server): this VM's speed moves by 2× within seconds,
    and a pair's rounds taken seconds apart see nearly the same machine.
    """
    return [
        Contender("journal-pg@granian", HOTLINE, "granian", "postgresql"),
        Contender("journal-off@granian", NOJOURNAL, "granian", "off"),
        Contender("hotline@granian", HOTLINE, "granian", "sqlite"),
        Contender("limit@granian", LIMIT, "granian", "off"),
        Contender("limit@gunicorn", LIMIT, "gunicorn", "off"),
        Contender("hotline@gunicorn", HOTLINE, "gunicorn", "sqlite"),
        Contender("today@gunicorn", HOTLINE, "gunicorn", "sqlite", root=today),
    ]


def paired(a: Contender, b: Contender) -> list[float]:
    """a's req/s over b's in each round (they run back to back in every round)."""
    return [x.rps / y.rps for x, y in zip(a.full, b.full, strict=True)]


def database_url(contender: Contender, folder: Path, postgres: str) -> AbstractContextManager[str]:
    """Its own journal database: a SQLite file, or a scratch PostgreSQL database."""
    return journal_url(contender.database, folder / contender.name.replace("@", "-"), postgres)


def timed_wrk(
    c: Contender, requests_file: Path, args: argparse.Namespace, **pacing: Any
) -> tuple[wrk.WrkResult, float, dict[int, int]]:
    """One wrk run on a contender: the result (with the other processes' CPU share), its seconds, and
    each worker's CPU ticks meanwhile."""
    foreign, before, began = ForeignLoad(), worker_ticks(c.live), time.monotonic()
    result = wrk.run(
        c.name,
        c.live.url,
        requests_file,
        connections=args.connections,
        duration_s=args.duration,
        threads=args.threads,
        **pacing,
    )
    seconds, after = time.monotonic() - began, worker_ticks(c.live)
    result.data["foreign_cpu"] = foreign.share()
    return result, seconds, {pid: after[pid] - before.get(pid, after[pid]) for pid in after}


def measure(c: Contender, requests_file: Path, args: argparse.Namespace, per_line: list[int]) -> None:
    """One full-load wrk run on a contender, with its workers' CPU and the other processes' load."""
    result, seconds, ticks = timed_wrk(c, requests_file, args)
    c.cpu_ticks.append(ticks)
    c.seconds.append(seconds)
    c.full.append(result)
    c.sent_events += sent_events(result, per_line)
    low, high = c.balance()[-1]
    print(
        f"  {c.name:<20} {result.rps:7.0f} req/s  p99 {result.ms('p99_us'):6.2f} ms  errors {result.errors}"
        f"  workers {low:.2f}/{high:.2f} cores  other processes' CPU {result.data['foreign_cpu']:4.0%}",
        flush=True,
    )


def paced(c: Contender, requests_file: Path, args: argparse.Namespace, per_line: list[int]) -> None:
    """A run at half the contender's measured capacity (32 connections, requests paced)."""
    target = c.rps() / 2
    pacing = {"script": PACED_LUA, "extra_args": (f"{target / args.threads:.1f}",)}
    result, _, _ = timed_wrk(c, requests_file, args, **pacing)
    result.data["target_rps"] = target
    c.paced = result
    c.sent_events += sent_events(result, per_line)
    print(
        f"  {c.name:<20} half load: target {target:5.0f}, achieved {result.rps:5.0f} req/s"
        f"  p99 {result.ms('p99_us'):6.2f} ms  errors {result.errors}"
        f"  other processes' CPU {result.data['foreign_cpu']:4.0%}",
        flush=True,
    )


def run(
    args: argparse.Namespace, out: Path, tmp: Path
) -> tuple[list[Contender], list[str], dict[str, object]]:
    """Start every server, check, warm up, alternate the rounds, pace, stop gracefully, count the rows."""
    files = copy_ops_files(tmp / "ops")
    mix = request_mix()
    requests_file = write_requests(out / "requests.txt", mix)
    probe_env = service_env(files, DATABASE_URL=f"sqlite:///{tmp / 'probe.db'}")
    per_line = events_per_request(probe_env, mix)
    imported = engine_modules_after_import(probe_env)
    print(
        f"journal events per request of the mix: {sorted(set(per_line))}"
        f" (mean {statistics.mean(per_line):.2f})"
    )
    everyone = contenders(today_checkout(tmp / "today"))
    maps: dict[int, list[str]] = {}
    with ExitStack() as stack:
        doc: Path | None = None
        for c in everyone:
            c.url = stack.enter_context(database_url(c, tmp, args.postgres))
            env = today_env(c.root, c.url) if c.root else service_env(files, DATABASE_URL=c.url)
            if c.app == LIMIT:
                assert doc is not None
                env["BENCH_BASELINE_TWIML"] = str(doc)
            c.running = stack.enter_context(serve(c.name, c.app, env, out, c.server, root=c.root or ROOT))
            c.start_memory = c.live.memory()
            bodies = check_mix(c.live, mix)
            if c.database != "off":
                c.sent_events += sum(per_line)
            if doc is None:
                sizes = [len(b) for b in bodies]
                doc = baseline_document(bodies, round(statistics.mean(sizes)), out / "limit.xml")
                print(f"responses {min(sizes)}–{max(sizes)} bytes; limit app's constant {doc.stat().st_size}")
            c.full.append(
                wrk.run(
                    "warmup", c.live.url, requests_file, connections=args.connections, duration_s=args.warmup
                )
            )
            c.sent_events += sent_events(c.full.pop(), per_line)
        for i in range(args.rounds):
            print(f"round {i + 1} ({'forward' if i % 2 == 0 else 'backward'}):", flush=True)
            for c in everyone if i % 2 == 0 else everyone[::-1]:
                measure(c, requests_file, args, per_line)
        print("half load (paced at half of each server's measured req/s):", flush=True)
        for c in everyone:
            # journal-off too: whether the hotline's tail at half load is its journal's
            if c.name.startswith(("hotline@", "limit@", "today@", "journal-off@")):
                paced(c, requests_file, args, per_line)
        for c in everyone:
            c.end_memory = c.live.memory()
            if c.app == HOTLINE:
                maps.update({pid: mapped_engine_libraries(pid) for pid in c.live.workers()})
        # the graceful stops (each writes its workers' journal) happen here, then the rows are counted
        for c in everyone:
            c.live.stop()
            if c.database != "off" and c.root is None:
                c.rows = journal_rows(c)
    failures = []
    if imported or any(maps.values()):
        failures.append(f"a TTS engine is loaded in a web worker: {imported} {maps}")
    return (
        everyone,
        failures,
        {"engine_modules": imported, "engine_maps": maps, "events_per_request": per_line},
    )


def journal_rows(c: Contender) -> int:
    """Events in a contender's database (read before its scratch database is dropped)."""
    from ivr.store import engine as engines
    from ivr.store.report import counts

    engine = engines.create(c.url)
    try:
        return counts(engine)[1]
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    """Run the bench; 0 when every target is met."""
    args = parse_args(argv)
    require_wrk()
    began = time.monotonic()
    out = results_folder("webhook")
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp:
        print(describe("granian", os.environ))  # the settings read only the server's variables
        print(describe("gunicorn", os.environ))
        print(
            f"wrk: {args.threads} threads, {args.connections} connections, {args.duration:g} s runs,"
            f" {args.rounds} rounds alternating forward and backward (ABBA)"
        )
        everyone, failures, extra = run(args, out, Path(tmp))
        # after the seven are stopped: the sets have the machine to themselves
        requests_file = out / "requests.txt"
        journal = journal_costs(args, requests_file, out, Path(tmp)) if args.journal_instances else None
    per_line = list(extra["events_per_request"])  # type: ignore[call-overload]
    summary, missed = report(everyone, args, per_line, journal)
    summary.update(extra, elapsed_s=time.monotonic() - began)
    print(
        f"TTS modules after `import app`: {extra['engine_modules'] or 'none'}; mapped in workers: none"
        if not failures
        else failures[0]
    )
    print(f"run took {time.monotonic() - began:.0f} s")
    return conclude(out, summary, failures + missed)


def report(
    everyone: list[Contender],
    args: argparse.Namespace,
    per_line: list[int],
    journal: JournalSets | None = None,
) -> tuple[dict[str, object], list[str]]:
    """Print the figures, compare them with the targets: (summary, what missed its target).

    `journal`: the fresh sets' costs (benchlib.journalcost); their medians decide the journal's target.
    """
    by = {c.name: c for c in everyone}
    print()
    print(
        f"{'':20} {'req/s':>7} {'CPU µs/req':>10} {'p99 full':>9} {'half: rate':>11} {'p99 half':>9}"
        f" {'workers (cores, worst round)':>29} {'RSS per worker (start → end)':>30}"
    )
    rows: dict[str, object] = {}
    failures: list[str] = []
    for c in everyone:
        p99 = statistics.median(r.ms("p99_us") for r in c.full)
        balance = c.balance()
        worst = min(balance, key=lambda b: b[0] / b[1] if b[1] else 1.0)
        half = (
            f"{c.paced.rps:5.0f}/{c.paced.data['target_rps']:4.0f} {c.paced.ms('p99_us'):7.2f} ms"
            if c.paced
            else f"{'-':>11} {'-':>9}"
        )
        rss = ", ".join(
            f"{kib(c.start_memory[p])}→{kib(c.end_memory[p])}"
            for p in sorted(c.start_memory)
            if p in c.end_memory
        )
        print(
            f"{c.name:<20} {c.rps():7.0f} {c.cpu_us():10.0f} {p99:6.2f} ms {half}"
            f" {worst[0]:12.2f} / {worst[1]:.2f}        {rss}"
        )
        rows[c.name] = {
            "rps": c.rps(),
            "cpu_us": c.cpu_us(),
            "p99_full_ms": p99,
            "paced": c.paced.data if c.paced else None,
            "balance": balance,
            "rss_kib": {"start": c.start_memory, "end": c.end_memory},
            "rounds": [r.data for r in c.full],
            "events_expected": c.sent_events,
            "events_rows": c.rows,
        }
        if worst[1] and worst[0] / worst[1] < args.min_balance and c.server == "granian":
            failures.append(f"{c.name}: a worker at {worst[0]:.2f} cores while another at {worst[1]:.2f}")
    errors = sum(r.errors for c in everyone for r in c.full + ([c.paced] if c.paced else []))
    hot, lim = by["hotline@granian"], by["limit@granian"]
    speedup, server_only = hot.rps() / by["today@gunicorn"].rps(), hot.rps() / by["hotline@gunicorn"].rps()
    ratio, ratio_g = hot.rps() / lim.rps(), by["hotline@gunicorn"].rps() / by["limit@gunicorn"].rps()
    off = by["journal-off@granian"].rps()
    sqlite_cost, pg_cost = 1 - hot.rps() / off, 1 - by["journal-pg@granian"].rps() / off
    assert hot.paced is not None
    half_p99 = hot.paced.ms("p99_us")
    foreign = [float(r.data["foreign_cpu"]) for c in everyone for r in c.full]
    print()
    print(
        f"hotline granian / today's gunicorn {speedup:5.2f}×  (target ≥ {args.min_speedup});"
        f" the server alone (this hotline on gunicorn) {server_only:.2f}×"
    )
    print(
        f"hotline / limit app, granian      {ratio:6.3f}   (target ≥ {args.min_ratio}),"
        f" gunicorn {ratio_g:.3f}"
    )
    pairs = {
        "hotline / limit app, granian": paired(hot, lim),
        "journal SQLite / off": paired(hot, by["journal-off@granian"]),
        "journal PostgreSQL / off": paired(by["journal-pg@granian"], by["journal-off@granian"]),
    }
    for name, ratios in pairs.items():
        print(
            f"  round by round, {name}: median {statistics.median(ratios):.3f}"
            f" (rounds {min(ratios):.3f}–{max(ratios):.3f})"
        )
    print(f"p99 at half load, hotline granian {half_p99:6.2f} ms (target ≤ {args.max_half_p99_ms})")
    one_each = f"journal cost vs off, one instance each: SQLite {sqlite_cost:+.1%}, PostgreSQL {pg_cost:+.1%}"
    if journal is not None:
        costs = journal.costs
        errors += journal.errors
        sqlite_cost, pg_cost = median_cost(costs["sqlite"]), median_cost(costs["postgresql"])
        print(one_each)
        print(
            f"journal cost vs off, median of {len(journal.rps)} fresh sets: SQLite {sqlite_cost:+.1%}"
            f" (sets {', '.join(f'{c:+.1%}' for c in costs['sqlite'])}), PostgreSQL {pg_cost:+.1%}"
            f" (sets {', '.join(f'{c:+.1%}' for c in costs['postgresql'])})"
            f" (target ≤ {args.max_journal_cost:.0%})"
        )
    else:
        print(f"{one_each} (target ≤ {args.max_journal_cost:.0%})")
    for c in (hot, by["journal-pg@granian"]):
        inflight = args.connections * max(per_line)
        print(
            f"journal rows, {c.database}: {c.rows} events in the database, {c.sent_events} from the requests"
            f" sent (in flight at wrk's end: up to {args.connections} requests)"
        )
        if c.rows is None or c.rows < c.sent_events - inflight or c.rows > c.sent_events:
            failures.append(f"{c.name}: {c.rows} journal rows for {c.sent_events} events sent")
    print(f"errors: {errors} (socket errors, timeouts, statuses ≥ 400, every server)")
    print(f"other processes' CPU per round: median {statistics.median(foreign):.0%}, max {max(foreign):.0%}")
    if speedup < args.min_speedup:
        failures.append(f"speed-up {speedup:.2f} < {args.min_speedup}")
    if ratio < args.min_ratio:
        failures.append(f"hotline/limit {ratio:.3f} < {args.min_ratio}")
    if half_p99 > args.max_half_p99_ms:
        failures.append(f"half-load p99 {half_p99:.2f} ms > {args.max_half_p99_ms} ms")
    if sqlite_cost > args.max_journal_cost or pg_cost > args.max_journal_cost:
        failures.append(f"journal cost SQLite {sqlite_cost:.1%}, PostgreSQL {pg_cost:.1%}")
    if errors:
        failures.append(f"{errors} errors")
    summary: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "command": "bench/webhook " + " ".join(sys.argv[1:]),
        "servers": rows,
        "speedup": speedup,
        "speedup_server_only": server_only,
        "today": TODAY,
        "ratio_granian": ratio,
        "ratio_gunicorn": ratio_g,
        "paired_rounds": pairs,
        "half_load_p99_ms": half_p99,
        "journal_cost": {"sqlite": sqlite_cost, "postgresql": pg_cost},
        "journal_sets": {"costs": journal.costs, "rps": journal.rps} if journal else None,
        "errors": errors,
        "foreign_cpu": foreign,
        "failures": failures,
    }
    return summary, failures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
