"""bench/instructions: the journal's share of a webhook's work, counted in instructions (callgrind).

Wall and CPU times on this shared VM vary by ±10 % between rounds, more than the 5 % the journal's target
is about; instructions executed do not depend on the machine's other load. The costs mix (a new call and
seven Gather actions, bench/costs) runs in-process under `valgrind --tool=callgrind` five times: journal
off with no request (start-up), journal off, journal on (its writer and every batch included), and the
limit app of bench/webhook with no request and with them (issue 15's ratio, the WSGI app's part of it).
With `--postgres` the journal writes to a PostgreSQL server: the worker's side is counted, not the server's.

The writer writes what a second brought, and under callgrind that is ~50 times fewer events than
on the served line: its batches would hold a handful of events each, and each batch's fixed cost
(transaction, commit, metrics) would be counted as if paid every few requests. So here the writer's timer
is off and the child writes a batch every `--batch` events, the size a worker's batches have at the load
measured: bench/webhook's full load brings ~2000 events a second to each worker (a batch a second, at most
2000), its half load ~1000.
PYTHONHASHSEED is fixed; the log's timed thread still makes a few thousand instructions a request vary
between runs, so use many passes.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchlib.common import ROOT, copy_ops_files, service_env
from ivr.testing import scratch_database


def child(mode: str, passes: int, batch: int, mix: str, database: str) -> None:
    """Run the mix `passes` times on the hotline with its journal on or off, or on the limit app.

    The journal writes a batch each `batch` events. "limit": bench/webhook's limit app, answering its
    constant document (made from the hotline's answers to the mix, as bench/webhook makes it).
    """
    from benchlib.costs import requests, serving_logs, wsgi_environs
    from benchlib.webhook import baseline_document, request_mix

    files = copy_ops_files(Path(tempfile.mkdtemp()))
    os.environ.update(service_env(files, **({"DATABASE_URL": database} if database else {})))
    import serve
    from ivr import create_app

    serving_logs()
    app = create_app()
    journal = app.extensions.get("ivr.journal")
    if mode in ("off", "limit") and journal is not None:
        app.extensions.pop("ivr.journal").stop()
    elif journal is not None:
        journal.interval_s = 1e6  # its thread starts, then only this loop's flushes write
    environs = wsgi_environs(requests() if mix == "costs" else request_mix())
    wsgi: Callable[..., Any] = app
    if mode == "limit":
        bodies = [b"".join(_answer(app, environ, body)) for environ, body in environs]
        size = round(sum(map(len, bodies)) / len(bodies))
        os.environ["BENCH_BASELINE_TWIML"] = str(baseline_document(bodies, size, files / "limit.xml"))
        from benchlib import baseline

        wsgi = baseline.app
    serve.settle()
    for _ in range(5 + passes):  # 5 unmeasured by difference: the 0-pass run makes them too
        for environ, body in environs:
            b"".join(_answer(wsgi, environ, body))
            if mode == "on" and journal is not None and journal.depth >= batch:
                assert journal.flush()
    if mode == "on" and journal is not None:
        assert journal.flush()
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown in the count


def _answer(wsgi: Callable[..., Any], environ: dict[str, Any], body: bytes) -> Iterable[bytes]:
    """One request through a WSGI app; its body (asserting a 200)."""
    status: list[str] = []
    answer: Iterable[bytes] = wsgi({**environ, "wsgi.input": io.BytesIO(body)}, lambda s, h: status.append(s))
    assert status[0].startswith("200"), status
    return answer


def counted(batch: int, mix: str, database: str, *runs: tuple[str, int]) -> list[int]:
    """Instructions of each child run (mode, passes) under callgrind, run side by side.

    `database`: a PostgreSQL server's URL, each child on a scratch database of its own; "" for SQLite.
    """
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}"}
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    with ExitStack() as stack:
        # as serve.py serves: the metrics in prometheus_client's multiprocess files (set before its import)
        env["PROMETHEUS_MULTIPROC_DIR"] = stack.enter_context(tempfile.TemporaryDirectory())
        urls = [
            stack.enter_context(scratch_database(database, "bench_instr")) if database else "" for _ in runs
        ]
        children = [
            subprocess.Popen(
                [*command, "-m", "benchlib.instructions", "--child", mode, str(passes), url]
                + ["--batch", str(batch), "--mix", mix],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for (mode, passes), url in zip(runs, urls, strict=True)
        ]
        found: list[int] = []
        for (mode, passes), process in zip(runs, children, strict=True):
            out, err = process.communicate()
            total = re.search(r"Collected : (\d+)", err)
            if process.returncode != 0 or total is None:
                raise SystemExit(f"callgrind run {mode} {passes} failed:\n{out[-2000:]}{err[-2000:]}")
            found.append(int(total.group(1)))
        return found


def main() -> None:
    """Print instructions per request: journal off and on, the journal's share, the limit app's."""
    parser = argparse.ArgumentParser(prog="bench/instructions", description=__doc__)
    parser.add_argument("--passes", type=int, default=500, help="passes of the mix (default 500)")
    parser.add_argument(
        "--batch", type=int, default=2000, help="events per batch written (default 2000; see above)"
    )
    parser.add_argument(
        "--mix",
        choices=("costs", "webhook"),
        default="costs",
        help="costs: a new call and seven Gather actions (default); webhook: bench/webhook's, half new calls",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="",
        help="the journal on this PostgreSQL server (a scratch database per run) instead of SQLite;"
        " its server's own work is not counted, only the worker's",
    )
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PASSES", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.batch, args.mix, args.child[2])
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    from benchlib.costs import requests as costs_mix
    from benchlib.webhook import request_mix

    requests = args.passes * len(costs_mix() if args.mix == "costs" else request_mix())
    runs = (("off", 0), ("off", args.passes), ("on", args.passes), ("limit", 0), ("limit", args.passes))
    start, off, on, limit_start, limit = counted(args.batch, args.mix, args.postgres, *runs)
    per_off, per_on = (off - start) / requests, (on - start) / requests
    per_limit = (limit - limit_start) / requests
    print(f"requests: {requests} (the {args.mix} mix {args.passes} times), batches of {args.batch} events")
    print(f"journal on {'PostgreSQL (the worker only)' if args.postgres else 'SQLite'}")
    print("instructions per request:")
    print(f"  journal off  {per_off:12,.0f}")
    print(f"  journal on   {per_on:12,.0f}  (the writer and every batch included)")
    print(f"  the journal  {per_on - per_off:12,.0f}  = {(per_on - per_off) / per_off:.1%} of the request")
    print(f"  limit app    {per_limit:12,.0f}")
    # The server's own work (granian's HTTP, in Rust) is the same for both and not counted here: served,
    # the same amount on both sides brings the ratio closer to 1; this is the apps' own part only.
    print(f"limit app / hotline (journal on), the WSGI app's work only: {per_limit / per_on:.3f}")


if __name__ == "__main__":
    main()
