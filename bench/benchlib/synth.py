"""bench/synth: `flask ivr synth` with nothing to do, and a cold offline synthesis of the whole flow."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib.common import PYTHON, ROOT, copy_ops_files, service_env

NOOP_TARGET_S = 1.0
SPEED_TARGET = 30.0


def synth(env: dict[str, str], *extra: str) -> float:
    """Wall seconds of one `flask --app app ivr synth` process, start to exit."""
    started = time.perf_counter()
    subprocess.run(
        [str(PYTHON), "-m", "flask", "--app", "app", "ivr", "synth", *extra],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/synth", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="nothing-to-do runs to take the median of")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_ops_files(Path(tmp), audio=False)  # cold: nothing synthesized yet
        env = service_env(work)
        cold = synth(env)
        manifest = json.loads((work / "audio" / "manifest.json").read_text("utf-8"))
        audio_s = sum(entry["duration_s"] for entry in manifest["files"].values())
        noop = statistics.median(synth(env) for _ in range(args.rounds))
    speed = audio_s / cold
    print(
        f"cold offline synthesis: {len(manifest['files'])} prompts, {audio_s:.1f} s of audio in {cold:.1f} s "
        f"wall = {speed:.1f}x real time on {os.cpu_count()} CPUs (target >= {SPEED_TARGET:.0f}x)"
    )
    print(f"nothing to do: {noop:.2f} s wall, median of {args.rounds} (target < {NOOP_TARGET_S:.0f} s)")
    return 0 if speed >= SPEED_TARGET and noop < NOOP_TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
