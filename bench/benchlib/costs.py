"""bench/costs: CPU microseconds per webhook in-process, whole and by part — where a request's time goes.

No server, no network: the WSGI app is called directly with the bench's signed request mix, and each
part (form parsing, signature, call-log line) is timed alone. CPU time (not wall time), minimum over
repeats, so other load on a shared machine matters less than it does for bench/webhook. Then the journal
writer's CPU per event on a scratch SQLite file, and on a scratch PostgreSQL database with `--postgres URL`
(client thread and, the server being on this machine, its backend process).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import logging
import os
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder

from benchlib.common import BASE, TOKEN, copy_ops_files, service_env
from benchlib.traffic import Req, call_form, gather, signed

if TYPE_CHECKING:
    from ivr.store.journal import Event

MIX = [("", "1"), ("1", "2"), ("12", "*"), ("1", "#"), ("", "9"), ("", None), ("1", "0")]


def requests() -> list[Req]:
    """A new call and seven Gather actions: the shape of bench/webhook's mix."""
    return [signed("/voice", call_form(1))] + [gather(f"/voice/key?p={p}&n=0&x=0", 2, d) for p, d in MIX]


def wsgi_environs(reqs: list[Req]) -> list[tuple[dict[str, Any], bytes]]:
    """Each request as a WSGI environ and its body (a new input stream is made from it for each call)."""
    environs = []
    for req in reqs:
        path, _, query = req.path.partition("?")
        builder = EnvironBuilder(
            method="POST",
            path=path,
            query_string=query,
            data=req.body,
            headers=list(req.all_headers().items()),
        )
        environ = builder.get_environ()
        environs.append((environ, environ["wsgi.input"].read()))
    return environs


def serving_logs() -> None:
    """The served app's logging (lines written by a thread), into /dev/null."""
    from ivr import logs

    stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # noqa: SIM115  (lives as long as the run)
    logs.configure(serving=True)
    sys.stderr = stderr


def per_request_us(app: Callable[..., Any], reqs: list[Req], rounds: int, *, sustained: int = 0) -> float:
    """Least CPU time of one request through the WSGI app, averaged over the mix.

    sustained=N: instead, the process's CPU over N passes of the mix in one go (every thread: the
    journal's writer included, its last batch flushed), best of `rounds`.
    """
    environs = wsgi_environs(reqs)
    status: list[str] = []

    def once(times: int) -> float:
        start = time.process_time()
        for _ in range(times):
            for environ, body in environs:
                status.clear()
                b"".join(app({**environ, "wsgi.input": io.BytesIO(body)}, lambda s, h: status.append(s)))
                assert status[0].startswith("200"), status
        return time.process_time() - start

    once(20)
    if not sustained:
        return min(once(50) for _ in range(rounds)) / (50 * len(environs)) * 1e6
    journal = getattr(app, "extensions", {}).get("ivr.journal")
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        once(sustained)
        if journal is not None:
            journal.flush()
        best = min(best, time.process_time() - start)
    return best / (sustained * len(environs)) * 1e6


def part_us(stmt: Callable[[], object], number: int = 5000) -> float:
    """Least CPU time of one call."""
    return min(timeit.repeat(stmt, number=number, repeat=7, timer=time.process_time)) / number * 1e6


# One call as the journal sees it, one row per webhook: the start menu's (the incoming call, with the
# caller's number), a menu and an invalid key, the agent asked for, a queue wait with its seconds, the
# status callback that ends it. (kind, position, detail, keys pressed)
CALL_EVENTS = (
    ("menu", "", "main", None),
    ("menu", "", "support", "1"),
    ("key", "1", "7", None),
    ("agent", "1", "", "0"),
    ("queue-left", "1", "bridged", None),
    ("status", "1", "completed", None),
)


def journal_batches(count: int, size: int, tag: str, spacing: int = 300) -> list[list[Event]]:
    """`count` batches of `size` events of calls that overlap as on a busy line.

    Call n's events come at n, n + spacing, n + 2 spacing, … (in call starts): with spacing > size / 6 a
    batch holds about one event of each of `size` different calls, at every stage (a few beginning, a few
    ending), so nearly every event also upserts its call's row, as in production, where a batch is one
    second of a line whose calls last minutes. CallSids look like Twilio's (CA and 32 random hex digits)
    and every caller's number hash differs: rows land at random places in those indexes.
    """
    from ivr.store.journal import Event

    start = dt.datetime(2026, 11, 25, 1, 0, 0, 123456)
    timed: list[tuple[int, int, Event]] = []
    for n in range(count * size // len(CALL_EVENTS)):
        sid = f"CA{hashlib.md5(f'{tag}-{n}'.encode()).hexdigest()}"
        caller = hashlib.sha256(f"{tag}-{n}".encode()).hexdigest()
        for step, (kind, position, detail, pressed) in enumerate(CALL_EVENTS):
            t = n + step * spacing
            incoming = step == 0
            event = Event(
                call_sid=sid,
                at=start + dt.timedelta(milliseconds=100 * t, microseconds=n % 997),
                kind=kind,
                position=position,
                detail=detail,
                number_masked="+81********78" if incoming else None,
                number_hash=caller if incoming else None,
                duration_s=step * spacing // 10 if kind == "status" else None,
                ended=kind == "status",
                amount=35 if kind == "queue-left" else None,
                pressed=pressed,
            )
            timed.append((t, n, event))
    timed.sort(key=lambda item: item[:2])
    stream = [event for _, _, event in timed]
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def backend_cpu_s(engine: Any) -> float:
    """CPU seconds (user + system) the server's backends for this database have used so far."""
    from sqlalchemy import text

    with engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # another machine or container: no figure
                return float("nan")
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def scratch_journal(postgres: str | None) -> Iterator[str]:
    """A migrated, empty journal database: a SQLite temp file, or a scratch database on `postgres`."""
    from ivr.store import engine as engines
    from ivr.store import migrate
    from ivr.testing import scratch_database

    with tempfile.TemporaryDirectory() as tmp:
        if postgres:
            with scratch_database(postgres, "ivr_bench_costs") as url:
                engine = engines.create(url)
                migrate.upgrade(engine)
                engine.dispose()
                yield url
        else:
            url = f"sqlite:///{Path(tmp) / 'journal.db'}"
            engine = engines.create(url)
            migrate.upgrade(engine)
            engine.dispose()
            yield url


def journal_writer_us(
    postgres: str | None, rounds: int = 3, batches: int = 20, size: int = 2000
) -> tuple[float, float]:
    """Least CPU µs per event of write_batch: the writing thread's, the server backend's (nan on SQLite).

    Each round starts from an empty database: the cost grows with the tables (more index pages to touch
    and write back per batch), so rounds on one growing database would not be comparable.
    """
    from ivr.store import engine as engines
    from ivr.store.write import write_batch

    client, server = [], []
    for r in range(rounds):
        warm, work = journal_batches(2, size, f"warm{r}"), journal_batches(batches, size, f"r{r}")
        events = sum(map(len, work))
        with scratch_journal(postgres) as url:
            engine = engines.create(url)
            for batch in warm:  # connect, fill the caches
                write_batch(engine, batch)
            backend = backend_cpu_s(engine) if postgres else float("nan")
            start = time.thread_time()
            for batch in work:
                write_batch(engine, batch)
            client.append((time.thread_time() - start) / events * 1e6)
            if postgres:
                server.append((backend_cpu_s(engine) - backend) / events * 1e6)
            engine.dispose()
    return min(client), min(server, default=float("nan"))


def writer_beside_busy_thread(batches: int = 10, size: int = 2000) -> float:
    """Wall ms per batch of write_batch on SQLite while another thread runs Python without pause.

    As in a served worker under load: a request thread holds the GIL, the switch interval is serve.settle's.
    A driver that lets go of the GIL at each row waits up to that interval for it back at each row.
    """
    import threading

    from ivr.store import engine as engines
    from ivr.store.write import write_batch

    work = journal_batches(batches, size, "busy")
    busy = threading.Event()

    def spin() -> None:
        while not busy.is_set():
            sum(range(1000))

    interval = sys.getswitchinterval()
    with scratch_journal(None) as url:
        engine = engines.create(url)
        write_batch(engine, journal_batches(1, size, "warm")[0])
        spinner = threading.Thread(target=spin)
        sys.setswitchinterval(0.0005)
        spinner.start()
        try:
            start = time.perf_counter()
            for batch in work:
                write_batch(engine, batch)
            elapsed = time.perf_counter() - start
        finally:
            busy.set()
            spinner.join()
            sys.setswitchinterval(interval)
            engine.dispose()
    return elapsed / batches * 1000


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(prog="bench/costs", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="repeats to take the minimum of")
    parser.add_argument(
        "--postgres", metavar="URL", default=None, help="also time the journal writer on a scratch database"
    )
    args = parser.parse_args()
    serving_logs()
    with tempfile.TemporaryDirectory() as tmp:
        files = copy_ops_files(Path(tmp))
        os.environ.update(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=BASE, IVR_FLOWS=str(files / "flows.yaml"))
        os.environ.update(IVR_PROMPTS=str(files / "prompts"), IVR_AUDIO=str(files / "audio"))
        os.environ.update(service_env(files))  # the journal on, as served
        document = Path(tmp) / "baseline.xml"
        document.write_text("<Response>" + "x" * 420 + "</Response>")
        os.environ["BENCH_BASELINE_TWIML"] = str(document)
        from twilio.request_validator import RequestValidator

        from benchlib.baseline import app as baseline
        from ivr import create_app
        from ivr.web.fields import parse_pairs
        from ivr.web.signature import Validator

        reqs = requests()
        hotline = create_app()
        row("baseline app (constant TwiML)", per_request_us(baseline, reqs, args.rounds), "µs / request")
        row("hotline", per_request_us(hotline, reqs, args.rounds), "µs / request")
        unjournaled = create_app()
        unjournaled.extensions.pop("ivr.journal").stop()  # as benchlib/nojournal.py serves it
        # the request thread's part of the journal (building and buffering events); the writer's is below
        row("hotline, journal off", per_request_us(unjournaled, reqs, args.rounds), "µs / request")
        # the journal's whole cost: 12 000 requests in a row, so the writer's batches are in the figure
        print("sustained (12 000 requests, every thread of the process, best of 3):")
        row("  hotline", per_request_us(hotline, reqs, 3, sustained=1500), "µs / request")
        row("  hotline, journal off", per_request_us(unjournaled, reqs, 3, sustained=1500), "µs / request")
        body, url = reqs[1].body, BASE + reqs[1].path
        form = MultiDict(parse_qsl(body, keep_blank_values=True))
        signature = reqs[1].headers["X-Twilio-Signature"]
        twilio, ours = RequestValidator(TOKEN), Validator(TOKEN)
        call_log = logging.getLogger("ivr.call")
        line = ("%s call=%s from=%s %s", "key", "CA" + "0" * 32, "+81*******78", "p=1 digits=2")
        print("parts (one Gather action, 28 fields):")
        row("  form parsing (parse_qsl)", part_us(lambda: parse_qsl(body, keep_blank_values=True)))
        row("  form parsing (ivr.web.fields)", part_us(lambda: parse_pairs(body)))
        row("  RequestValidator.validate", part_us(lambda: twilio.validate(url, form, signature)))
        row("  ivr.web.signature.Validator", part_us(lambda: ours.validate(url, form, signature)))
        row("  call-log line (masked)", part_us(lambda: call_log.info(*line)))
    print("journal writer (write_batch, batches of 2000 events, 6 a call):")
    row("  SQLite", journal_writer_us(None)[0], "µs / event")
    row("  SQLite beside a busy thread", writer_beside_busy_thread(), "ms / batch (wall)")
    if args.postgres:
        client, server = journal_writer_us(args.postgres)
        row("  PostgreSQL, writing thread", client, "µs / event")
        row("  PostgreSQL, server backend", server, "µs / event")


def row(label: str, value: float, unit: str = "µs") -> None:
    """One aligned line of the report."""
    print(f"{label:32s}{value:7.1f} {unit}")


if __name__ == "__main__":
    main()
