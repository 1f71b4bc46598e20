"""Run wrk with the replay scripts in bench/wrk and read back its one-line JSON summary."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.common import BENCH

REQUESTS_LUA = BENCH / "wrk" / "requests.lua"
CHECKED_LUA = BENCH / "wrk" / "checked.lua"


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured (latencies in microseconds)."""

    label: str
    data: dict[str, Any]

    @property
    def requests(self) -> int:
        """Completed requests."""
        return int(self.data["requests"])

    @property
    def rps(self) -> float:
        """Requests per second over the run."""
        return float(self.data["requests"]) / (float(self.data["duration_us"]) / 1e6)

    def ms(self, key: str) -> float:
        """A latency figure (p50_us, p99_us, …) in milliseconds."""
        return float(self.data[key]) / 1000.0

    @property
    def errors(self) -> int:
        """Socket errors, timeouts and (for requests.lua) HTTP statuses of 400 and above."""
        keys = ("connect_errors", "read_errors", "write_errors", "timeouts", "status_errors")
        return sum(int(self.data[k]) for k in keys)


def pooled_rps(results: list[WrkResult]) -> float:
    """Requests per second over several runs together (each run weighed by its length)."""
    return sum(r.requests for r in results) / sum(float(r.data["duration_us"]) / 1e6 for r in results)


def command(
    url: str, script: Path, args: list[str], connections: int, threads: int, duration_s: float
) -> list[str]:
    """The wrk command line (--timeout 5s: a webhook slower than that counts as a timeout)."""
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
        "--",
        *args,
    ]


def parse(label: str, output: str) -> WrkResult:
    """The BENCHJSON line of wrk's output."""
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            return WrkResult(label, json.loads(line.removeprefix("BENCHJSON ")))
    raise RuntimeError(f"wrk printed no summary:\n{output}")


def run(
    label: str,
    url: str,
    requests_file: Path,
    *,
    connections: int,
    duration_s: float,
    threads: int = 2,
    script: Path = REQUESTS_LUA,
    extra_args: tuple[str, ...] = (),
) -> WrkResult:
    """Load url for duration_s with the requests of the file; bounded by wrk's own duration."""
    proc = start(
        url,
        requests_file,
        connections=connections,
        duration_s=duration_s,
        threads=threads,
        script=script,
        extra_args=extra_args,
    )
    return finish(label, proc, duration_s + 30)


def start(
    url: str,
    requests_file: Path,
    *,
    connections: int,
    duration_s: float,
    threads: int = 2,
    script: Path = REQUESTS_LUA,
    extra_args: tuple[str, ...] = (),
) -> subprocess.Popen[str]:
    """Start wrk in the background (the soak runs several at once); read it with finish()."""
    cmd = command(url, script, [str(requests_file), *extra_args], connections, threads, duration_s)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(label: str, proc: subprocess.Popen[str], timeout_s: float) -> WrkResult:
    """Wait for a background wrk and parse its summary."""
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"wrk {label} failed ({proc.returncode}): {err}{out}")
    return parse(label, out)
