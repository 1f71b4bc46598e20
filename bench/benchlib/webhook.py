"""bench/webhook: what a webhook costs — the production hotline against the limit app, side by side.

The hotline (`python serve.py`, journal on SQLite) and the limit app (benchlib/limit.py on plain granian,
the same workers and threads, no access log) run at once; the same signed wrk load goes to each in
alternated rounds (forward, then backward), for POST /voice alone and for the webhook mix; then the hotline
is paced at half its measured capacity. `--postgres URL` adds the hotline with its journal on PostgreSQL.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from xml.etree import ElementTree

from benchlib import wrk
from benchlib.common import (
    Server,
    conclude,
    copy_ops_files,
    database,
    require_wrk,
    results_folder,
    serve,
    serve_settings,
    service_env,
)
from benchlib.traffic import Req, call_form, gather, send, signed, write_requests

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


def workloads(calls: int = 8) -> dict[str, list[Req]]:
    """POST /voice alone (new calls), and the mix: half new calls, half Gather actions (each its own call)."""
    voice, mix = [], []
    for c in range(calls):
        for i, (position, digits) in enumerate(GATHER_STEPS):
            n = c * 100 + i
            voice.append(signed("/voice", call_form(n)))
            mix += [voice[-1], gather(f"/voice/key?p={position}&n=0&x=0", n, digits)]
    return {"voice": voice, "mix": mix}


def check(server: Server, requests: list[Req]) -> list[bytes]:
    """Every request answers 200 TwiML (a bad signature would make the bench measure 403s)."""
    bodies = []
    for req in requests:
        answer = send(server.url, req)
        if answer.status != 200 or ElementTree.fromstring(answer.body).tag != "Response":
            raise SystemExit(f"{server.name} {req.path}: {answer.status} {answer.body[:200]!r}")
        bodies.append(answer.body)
    return bodies


def limit_document(bodies: list[bytes], path: Path) -> Path:
    """The shortest real hotline answer, padded with an XML comment to the answers' mean size."""
    body, size = min(bodies, key=len), round(statistics.mean(len(b) for b in bodies))
    pad = b"<!--" + b"x" * max(0, size - len(body) - 7) + b"-->"
    path.write_bytes(body.replace(b"</Response>", pad + b"</Response>", 1))
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Options (defaults: about 4 minutes)."""
    parser = argparse.ArgumentParser(prog="bench/webhook", description=__doc__)
    parser.add_argument("--rounds", type=int, default=6, help="alternated rounds per workload (default 6)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per wrk run (default 6)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load each")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--postgres", metavar="URL", help="also the hotline with its journal on PostgreSQL")
    parser.add_argument("--min-ratio", type=float, default=0.80, help="hotline / limit app req/s (0.80)")
    parser.add_argument("--max-half-p99-ms", type=float, default=5.0, help="p99 at half load (5 ms)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the bench; 0 when every target is met."""
    args = parse_args(argv)
    require_wrk()
    out = results_folder("webhook")
    loads = workloads()
    files_of = {name: write_requests(out / f"{name}.txt", reqs) for name, reqs in loads.items()}
    load = {"connections": args.connections, "threads": args.threads}
    full: dict[tuple[str, str], list[wrk.WrkResult]] = {}
    half: dict[str, wrk.WrkResult] = {}
    reference: dict[str, wrk.WrkResult] = {}
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp, ExitStack() as stack:
        files = copy_ops_files(Path(tmp) / "ops")
        env = service_env(files)
        s = serve_settings(env)
        print(f"granian: {s['workers']} workers × {s['blocking_threads']} threads each (serve.py's settings)")
        servers = {"hotline": stack.enter_context(serve("hotline", env, out))}
        bodies = check(servers["hotline"], loads["mix"])
        limit_env = {**env, "BENCH_LIMIT_TWIML": str(limit_document(bodies, out / "limit.xml"))}
        servers["limit"] = stack.enter_context(serve("limit", limit_env, out, limit=True))
        if args.postgres:
            url = stack.enter_context(database("postgresql", Path(tmp), args.postgres))
            servers["hotline-pg"] = stack.enter_context(
                serve("hotline-pg", service_env(files, DATABASE_URL=url), out)
            )
        for server in servers.values():
            check(server, loads["mix"])
            for file in files_of.values():
                wrk.run("warmup", server.url, file, duration_s=args.warmup, **load)
        print(f"wrk: {args.threads} threads, {args.connections} connections, {args.duration:g} s runs")
        for i in range(args.rounds):
            for name, file in files_of.items():
                for label, server in list(servers.items())[:: 1 if i % 2 == 0 else -1]:
                    result = wrk.run(label, server.url, file, duration_s=args.duration, **load)
                    full.setdefault((label, name), []).append(result)
                    print(
                        f"  round {i + 1} {name:<5} {label:<10} {result.rps:7.0f} req/s"
                        f"  p99 {result.ms('p99_us'):6.2f} ms  errors {result.errors}",
                        flush=True,
                    )
        for name, file in files_of.items():  # the hotline paced at half its capacity (32 connections)
            rate = wrk.pooled_rps(full["hotline", name]) / 2
            per_thread = f"{rate / args.threads:.1f}"
            for label in ("hotline", "limit"):  # the limit app at the same rate: what the machine allows
                paced = wrk.run(
                    f"half {label}",
                    servers[label].url,
                    file,
                    per_thread,
                    duration_s=args.duration,
                    script=wrk.PACED_LUA,
                    **load,
                )
                paced.data["target_rps"] = rate
                (half if label == "hotline" else reference)[name] = paced
    return conclude(out, *report(full, half, reference, args))


def report(
    full: dict[tuple[str, str], list[wrk.WrkResult]],
    half: dict[str, wrk.WrkResult],
    reference: dict[str, wrk.WrkResult],
    args: argparse.Namespace,
) -> tuple[dict[str, object], list[str]]:
    """Print the figures against the targets: (summary, what missed its target)."""
    summary: dict[str, object] = {}
    failures = []
    print()
    for name, paced in half.items():
        rps = {label: wrk.pooled_rps(runs) for (label, w), runs in full.items() if w == name}
        rounds = [h.rps / lim.rps for h, lim in zip(full["hotline", name], full["limit", name], strict=True)]
        ratio, p99 = rps["hotline"] / rps["limit"], paced.ms("p99_us")
        print(
            f"{name:<5} hotline {rps['hotline']:6.0f} req/s, limit {rps['limit']:6.0f}: ratio {ratio:.3f}"
            f" (rounds {min(rounds):.3f}–{max(rounds):.3f}; target ≥ {args.min_ratio})"
        )
        print(
            f"{'':5} half load: {paced.rps:.0f} of {paced.data['target_rps']:.0f} req/s,"
            f" p99 {p99:.2f} ms (target ≤ {args.max_half_p99_ms}); the limit app at that rate:"
            f" p99 {reference[name].ms('p99_us'):.2f} ms"
        )
        if pg := rps.get("hotline-pg"):
            print(
                f"{'':5} journal on PostgreSQL: {pg:6.0f} req/s, {pg / rps['limit']:.3f} of the limit,"
                f" {pg / rps['hotline'] - 1:+.1%} against SQLite"
            )
        if ratio < args.min_ratio:
            failures.append(f"{name}: hotline/limit {ratio:.3f} < {args.min_ratio}")
        if p99 > args.max_half_p99_ms:
            failures.append(f"{name}: half-load p99 {p99:.2f} ms > {args.max_half_p99_ms} ms")
        summary[name] = {
            "rps": rps,
            "ratio": ratio,
            "round_ratios": rounds,
            "half": paced.data,
            "half_limit": reference[name].data,
        }
    paced_runs = [*half.values(), *reference.values()]
    errors = sum(r.errors for runs in full.values() for r in runs) + sum(h.errors for h in paced_runs)
    print(f"errors: {errors} (socket errors, timeouts, statuses ≥ 400)")
    if errors:
        failures.append(f"{errors} errors")
    summary["runs"] = {f"{label} {name}": [r.data for r in runs] for (label, name), runs in full.items()}
    return summary, failures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
