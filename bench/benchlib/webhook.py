"""bench/webhook: the hotline against a constant-TwiML Flask baseline, same gunicorn config, same wrk load."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree

from benchlib import wrk
from benchlib.common import (
    BENCH,
    RESULTS,
    ForeignLoad,
    Server,
    conclude,
    copy_ops_files,
    engine_modules_after_import,
    gunicorn,
    gunicorn_settings,
    kib,
    mapped_engine_libraries,
    require_wrk,
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


def request_mix(calls: int = 8) -> list[Req]:
    """Half POST /voice (a new call), half Gather actions; each request of a distinct call."""
    mix: list[Req] = []
    for c in range(calls):
        for i, (position, digits) in enumerate(GATHER_STEPS):
            n = c * 100 + i
            mix.append(signed("/voice", call_form(n)))
            mix.append(gather(f"/voice/key?p={position}&n=0&x=0", n, digits))
    return mix


def check_mix(server: Server, mix: list[Req]) -> list[bytes]:
    """Every request of the mix answers 200 TwiML (a bad signature would make the bench measure 403s)."""
    bodies = []
    for req in mix:
        answer = send(server.url, req)
        if answer.status != 200 or ElementTree.fromstring(answer.body).tag != "Response":
            raise SystemExit(f"{req.path}: {answer.status} {answer.body[:200]!r}")
        bodies.append(answer.body)
    return bodies


def baseline_document(bodies: list[bytes], size: int, path: Path) -> Path:
    """The shortest real hotline response, padded with an XML comment to `size` bytes."""
    body = min(bodies, key=len)
    pad = max(0, size - len(body) - len(b"<!---->"))
    document = body.replace(b"</Response>", b"<!--" + b"x" * pad + b"--></Response>", 1)
    path.write_bytes(document)
    return path


def memory_line(label: str, memory: dict[int, int]) -> str:
    """RSS of each worker on one line."""
    cells = ", ".join(f"{pid}: {kib(rss)}" for pid, rss in sorted(memory.items()))
    return f"  {label:<22} {cells}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Options (defaults: the figures in bench/README.md)."""
    parser = argparse.ArgumentParser(prog="bench/webhook", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="service/baseline pairs (default 5)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured load each")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--min-ratio", type=float, default=0.9)
    parser.add_argument("--max-p99-ms", type=float, default=10.0)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the bench; 0 when every target is met."""
    args = parse_args(argv)
    require_wrk()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"webhook-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp:
        env = service_env(copy_ops_files(Path(tmp) / "ops"))
        settings = gunicorn_settings(env)
        print(
            f"gunicorn.conf.py: workers={settings['workers']} {settings['worker_class']} "
            f"threads={settings['threads']} max_requests={settings['max_requests']} "
            f"accesslog={settings['accesslog']!r}"
        )
        print(f"wrk: {args.threads} threads, {args.connections} connections, {args.duration:g} s runs")
        imported = engine_modules_after_import(env)
        mix = request_mix()
        requests_file = write_requests(out / "requests.txt", mix)
        with gunicorn("service", "app:app", env, out) as service:
            start_memory = service.memory()
            bodies = check_mix(service, mix)
            sizes = [len(body) for body in bodies]
            mean_size = round(statistics.mean(sizes))
            doc = baseline_document(bodies, mean_size, out / "baseline.xml")
            base_env = {**env, "BENCH_BASELINE_TWIML": str(doc)}
            with gunicorn("baseline", "benchlib.baseline:app", base_env, out, pythonpath=BENCH) as baseline:
                base_start_memory = baseline.memory()
                print(
                    f"responses: {min(sizes)}–{max(sizes)} bytes, mean {mean_size};"
                    f" baseline {len(doc.read_bytes())}"
                )
                results = load(service, baseline, requests_file, args)
                end_memory = service.memory()
                base_end_memory = baseline.memory()
            maps = {pid: mapped_engine_libraries(pid) for pid in service.workers()}
            recycled = len(set(start_memory) - set(end_memory))
            base_recycled = len(set(base_start_memory) - set(base_end_memory))
    summary, report_failures = report(
        args, results, start_memory, end_memory, base_start_memory, base_end_memory
    )
    print(f"TTS modules after `import app`: {imported or 'none'}")
    print(f"TTS libraries mapped in workers: {sum(maps.values(), []) or 'none'}")
    print(f"workers recycled by max_requests during the run: service {recycled}, baseline {base_recycled}")
    summary.update(
        engine_modules=imported,
        engine_maps=maps,
        recycled={"service": recycled, "baseline": base_recycled},
        settings=settings,
    )
    failures = list(report_failures)
    if imported or any(maps.values()):
        failures.append("a TTS engine is loaded in the web worker")
    return conclude(out, summary, failures)


def load(
    service: Server, baseline: Server, requests_file: Path, args: argparse.Namespace
) -> list[wrk.WrkResult]:
    """Warm both up, then alternate service and baseline runs (ABBA order cancels slow drifts)."""
    for server in (service, baseline):
        wrk.run("warmup", server.url, requests_file, connections=args.connections, duration_s=args.warmup)
    results = []
    for i in range(args.rounds):
        order = (service, baseline) if i % 2 == 0 else (baseline, service)
        for server in order:
            foreign = ForeignLoad()
            result = wrk.run(
                server.name,
                server.url,
                requests_file,
                connections=args.connections,
                duration_s=args.duration,
                threads=args.threads,
            )
            result.data["foreign_cpu"] = foreign.share()
            results.append(result)
            print(
                f"  round {i + 1} {server.name:<8} {result.rps:8.0f} req/s  p50 {result.ms('p50_us'):5.2f} ms"
                f"  p99 {result.ms('p99_us'):6.2f} ms  errors {result.errors}"
                f"  other processes' CPU {result.data['foreign_cpu']:4.0%}",
                flush=True,
            )
    return results


def report(
    args: argparse.Namespace,
    results: list[wrk.WrkResult],
    start_memory: dict[int, int],
    end_memory: dict[int, int],
    base_start_memory: dict[int, int],
    base_end_memory: dict[int, int],
) -> tuple[dict[str, object], list[str]]:
    """Print the figures, compare them with the targets: (summary, what missed its target)."""
    ours = [r for r in results if r.label == "service"]
    base = [r for r in results if r.label == "baseline"]
    rps = sum(r.requests for r in ours) / sum(r.data["duration_us"] / 1e6 for r in ours)
    base_rps = sum(r.requests for r in base) / sum(r.data["duration_us"] / 1e6 for r in base)
    ratio = rps / base_rps
    p50 = statistics.median(r.ms("p50_us") for r in ours)
    p99 = statistics.median(r.ms("p99_us") for r in ours)
    worst_p99 = max(r.ms("p99_us") for r in ours)
    base_p50 = statistics.median(r.ms("p50_us") for r in base)
    base_p99 = statistics.median(r.ms("p99_us") for r in base)
    errors = sum(r.errors for r in results)
    print()
    print(f"service   {rps:8.0f} req/s   p50 {p50:5.2f} ms   p99 {p99:5.2f} ms (worst round {worst_p99:.2f})")
    print(f"baseline  {base_rps:8.0f} req/s   p50 {base_p50:5.2f} ms   p99 {base_p99:5.2f} ms")
    print(f"ratio     {ratio:8.3f}   (target ≥ {args.min_ratio})")
    print(f"errors    {errors} (socket errors, timeouts, statuses ≥ 400, both servers)")
    foreign = max(float(r.data["foreign_cpu"]) for r in results)
    print(f"other processes took up to {foreign:.0%} of the CPUs in a round (shared machine: see README)")
    print("worker RSS (service):")
    print(memory_line("after start", start_memory))
    print(memory_line("after the run", end_memory))
    print("worker RSS (baseline):")
    print(memory_line("after start", base_start_memory))
    print(memory_line("after the run", base_end_memory))
    failures = []
    if ratio < args.min_ratio:
        failures.append(f"ratio {ratio:.3f} < {args.min_ratio}")
    if p99 > args.max_p99_ms:
        failures.append(f"p99 {p99:.2f} ms > {args.max_p99_ms} ms")
    if errors:
        failures.append(f"{errors} errors")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "command": "bench/webhook " + " ".join(sys.argv[1:]),
        "service_rps": rps,
        "baseline_rps": base_rps,
        "ratio": ratio,
        "p50_ms": p50,
        "p99_ms": p99,
        "worst_round_p99_ms": worst_p99,
        "baseline_p50_ms": base_p50,
        "baseline_p99_ms": base_p99,
        "errors": errors,
        "max_foreign_cpu": foreign,
        "rounds": [{"label": r.label, **r.data} for r in results],
        "rss_kib": {
            "service_start": start_memory,
            "service_end": end_memory,
            "baseline_start": base_start_memory,
            "baseline_end": base_end_memory,
        },
        "failures": failures,
    }, failures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
