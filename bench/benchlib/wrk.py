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
PACED_LUA = BENCH / "wrk" / "paced.lua"


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured (latencies in microseconds)."""

    label: str
    data: dict[str, Any]

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
    seconds = sum(float(r.data["duration_us"]) / 1e6 for r in results)
    return sum(int(r.data["requests"]) for r in results) / seconds


def start(
    url: str,
    requests_file: Path,
    *args: str,
    connections: int,
    duration_s: float,
    threads: int = 2,
    script: Path = REQUESTS_LUA,
) -> subprocess.Popen[str]:
    """Start wrk in the background on the requests of the file (--timeout 5s: slower counts as a timeout)."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "5s",
    ]
    command += ["-s", str(script), url, "--", str(requests_file), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(label: str, proc: subprocess.Popen[str], timeout_s: float = 60.0) -> WrkResult:
    """Wait for a wrk started by start() and parse its BENCHJSON line."""
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    for line in out.splitlines():
        if proc.returncode == 0 and line.startswith("BENCHJSON "):
            return WrkResult(label, json.loads(line.removeprefix("BENCHJSON ")))
    raise RuntimeError(f"wrk {label} failed ({proc.returncode}): {err}{out}")


def run(
    label: str, url: str, requests_file: Path, *args: str, duration_s: float, **options: Any
) -> WrkResult:
    """start() then finish(): one wrk run, bounded by its own duration."""
    return finish(label, start(url, requests_file, *args, duration_s=duration_s, **options), duration_s + 30)
