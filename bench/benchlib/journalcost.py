"""bench/webhook's journal phase: the journal's cost on fresh server instances, journal off against on.

The same code runs a few percent faster or slower in one server instance's workers than in another's
(where their memory lands, their hash seeds): two fresh instances of the same hotline differed by up to
8 % in req/s against one journal-off instance (bench/README.md, 2026-11-30). With one instance a side, that
bias goes into the journal's cost whole, however many rounds alternate. Here each of `--journal-instances`
sets starts the hotline with its journal off, on SQLite and on PostgreSQL afresh, alternates
`--journal-rounds` rounds between the three (forward, then backward), and stops them gracefully; a set's
cost is 1 − on/off of its req/s pooled over its rounds, and the cost the target reads is the median of the
sets'.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

from benchlib import wrk
from benchlib.common import HOTLINE, NOJOURNAL, App, copy_ops_files, serve, service_env
from ivr.testing import scratch_database

KINDS: tuple[tuple[str, App], ...] = (("off", NOJOURNAL), ("sqlite", HOTLINE), ("postgresql", HOTLINE))


class JournalSets(NamedTuple):
    """What the fresh sets measured: each set's cost by database, each set's req/s, every run's errors."""

    costs: dict[str, list[float]]
    rps: list[dict[str, float]]
    errors: int


@contextmanager
def journal_url(kind: str, name: Path, postgres: str) -> Iterator[str]:
    """A fresh journal database: a scratch one on the PostgreSQL server, else the SQLite file `name`.db."""
    if kind == "postgresql":
        with scratch_database(postgres, "ivr_bench_journal") as url:
            yield url
    else:
        yield f"sqlite:///{name.with_suffix('.db')}"


def one_set(
    n: int, args: argparse.Namespace, requests_file: Path, out: Path, tmp: Path
) -> tuple[dict[str, float], int]:
    """Start the three afresh, alternate the rounds: each one's req/s pooled, and the errors seen."""
    folder = tmp / f"journal-set-{n}"
    files = copy_ops_files(folder)
    done: dict[str, list[wrk.WrkResult]] = {kind: [] for kind, _ in KINDS}
    with ExitStack() as stack:
        servers = {}
        for kind, app in KINDS:
            url = stack.enter_context(journal_url(kind, folder / f"journal-{kind}", args.postgres))
            env = service_env(files, DATABASE_URL=url)
            servers[kind] = stack.enter_context(serve(f"journal-{kind}-{n}", app, env, out))
        for server in servers.values():
            wrk.run("warmup", server.url, requests_file, connections=args.connections, duration_s=args.warmup)
        order = list(servers)
        for r in range(args.journal_rounds):
            for kind in order if r % 2 == 0 else order[::-1]:
                done[kind].append(
                    wrk.run(
                        f"journal-{kind}-{n}",
                        servers[kind].url,
                        requests_file,
                        connections=args.connections,
                        duration_s=args.duration,
                        threads=args.threads,
                    )
                )
    rps = {kind: wrk.pooled_rps(runs) for kind, runs in done.items()}
    return rps, sum(r.errors for runs in done.values() for r in runs)


def journal_costs(args: argparse.Namespace, requests_file: Path, out: Path, tmp: Path) -> JournalSets:
    """Start `--journal-instances` fresh sets one after another and measure each (see the module's doc)."""
    costs: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    sets, errors = [], 0
    print(
        f"journal on fresh instances: {args.journal_instances} sets of off, SQLite and PostgreSQL,"
        f" {args.journal_rounds} alternated rounds each:",
        flush=True,
    )
    for n in range(1, args.journal_instances + 1):
        rps, errs = one_set(n, args, requests_file, out, tmp)
        sets.append(rps)
        errors += errs
        for kind in costs:
            costs[kind].append(1 - rps[kind] / rps["off"])
        sqlite, pg = costs["sqlite"][-1], costs["postgresql"][-1]
        print(
            f"  set {n}: off {rps['off']:5.0f} req/s, SQLite {rps['sqlite']:5.0f} ({sqlite:+.1%}),"
            f" PostgreSQL {rps['postgresql']:5.0f} ({pg:+.1%})  errors {errs}",
            flush=True,
        )
    return JournalSets(costs, sets, errors)


def median_cost(costs: list[float]) -> float:
    """The cost the target reads: the median over the sets."""
    return statistics.median(costs)
