"""bench/instructions: the journal's share of a webhook's work, counted in instructions (callgrind).

Wall and CPU times on this shared VM vary by ±10 % between rounds, more than the 5 % the journal's target
is about; instructions executed do not depend on the machine's other load. The costs mix (a new call and
seven Gather actions, bench/costs) runs in-process under `valgrind --tool=callgrind` three times: journal
off with no request (start-up), journal off, journal on (its writer and every batch included).

The writer writes what a second brought, and under callgrind a second brings ~50 times fewer events than
on the served line: its batches would hold a handful of events each, and each batch's fixed cost
(transaction, commit, metrics) would be counted as if paid every few requests. So here the writer's timer
is off and the child writes a batch every `--batch` events, the size a worker's batches have at the load
measured: bench/webhook's full load brings ~1500 events a second to each worker, its half load ~750.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib.common import ROOT, copy_ops_files, service_env


def child(mode: str, passes: int, batch: int, mix: str) -> None:
    """Run the mix `passes` times on the app with its journal on or off, a batch each `batch` events."""
    from benchlib.costs import requests, serving_logs, wsgi_environs
    from benchlib.webhook import request_mix

    files = copy_ops_files(Path(tempfile.mkdtemp()))
    os.environ.update(service_env(files))
    import serve
    from ivr import create_app

    serving_logs()
    app = create_app()
    wsgi: Callable[..., Any] = app
    journal = app.extensions.get("ivr.journal")
    if mode == "off" and journal is not None:
        app.extensions.pop("ivr.journal").stop()
    elif journal is not None:
        journal.interval_s = 1e6  # its thread starts, then only this loop's flushes write
    serve.settle()
    environs = wsgi_environs(requests() if mix == "costs" else request_mix())
    status: list[str] = []
    for _ in range(5 + passes):  # 5 unmeasured by difference: the off-0 run makes them too
        for environ, body in environs:
            status.clear()
            b"".join(wsgi({**environ, "wsgi.input": io.BytesIO(body)}, lambda s, h: status.append(s)))
            assert status[0].startswith("200"), status
            if mode == "on" and journal is not None and journal.depth >= batch:
                assert journal.flush()
    if mode == "on" and journal is not None:
        assert journal.flush()
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown in the count


def counted(batch: int, mix: str, *runs: tuple[str, int]) -> list[int]:
    """Instructions of each child run (mode, passes) under callgrind, run side by side."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}"}
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    children = [
        subprocess.Popen(
            [*command, "-m", "benchlib.instructions", "--child", mode, str(passes)]
            + ["--batch", str(batch), "--mix", mix],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode, passes in runs
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
    """Print instructions per request, journal off and on, and the journal's share."""
    parser = argparse.ArgumentParser(prog="bench/instructions", description=__doc__)
    parser.add_argument("--passes", type=int, default=500, help="passes of the mix (default 500)")
    parser.add_argument(
        "--batch", type=int, default=1000, help="events per batch written (default 1000; see above)"
    )
    parser.add_argument(
        "--mix",
        choices=("costs", "webhook"),
        default="costs",
        help="costs: a new call and seven Gather actions (default); webhook: bench/webhook's, half new calls",
    )
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PASSES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.batch, args.mix)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    from benchlib.costs import requests as costs_mix
    from benchlib.webhook import request_mix

    requests = args.passes * len(costs_mix() if args.mix == "costs" else request_mix())
    start, off, on = counted(args.batch, args.mix, ("off", 0), ("off", args.passes), ("on", args.passes))
    per_off, per_on = (off - start) / requests, (on - start) / requests
    print(f"requests: {requests} (the {args.mix} mix {args.passes} times), batches of {args.batch} events")
    print("instructions per request:")
    print(f"  journal off  {per_off:12,.0f}")
    print(f"  journal on   {per_on:12,.0f}  (the writer and every batch included)")
    print(f"  the journal  {per_on - per_off:12,.0f}  = {(per_on - per_off) / per_off:.1%} of the request")


if __name__ == "__main__":
    main()
