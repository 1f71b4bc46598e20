"""create_app: serving and command modes are chosen by the caller, and building it again changes nothing."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import DATA_KEY, DROP, ROOT, FixedClock, make_app
from ivr.config import StartRefused
from ivr.privacy import MaskingFilter


def masking_filters() -> int:
    """How many masking filters sit on the root logger, its handlers and the ivr logger."""
    root = logging.getLogger()
    places = [root, logging.getLogger("ivr"), *root.handlers]
    return sum(isinstance(f, MaskingFilter) for place in places for f in place.filters)


def test_building_the_app_three_times_installs_masking_once(files: Path, clock: FixedClock) -> None:
    make_app(files, clock)
    once = masking_filters()
    make_app(files, clock)
    make_app(files, clock)
    assert once >= 2
    assert masking_filters() == once


def test_command_mode_reports_what_serving_mode_refuses(files: Path, clock: FixedClock) -> None:
    (files / "flows.yaml").write_text("start: nowhere\n", "utf-8")
    with pytest.raises(StartRefused, match="TWILIO_AUTH_TOKEN is not set"):
        make_app(files, clock, TWILIO_AUTH_TOKEN=DROP)
    app = make_app(files, clock, serving=False, TWILIO_AUTH_TOKEN=DROP)
    result = app.test_cli_runner().invoke(args=["ivr", "check"])
    assert result.exit_code == 1
    assert "flows.yaml:1:1: error:" in result.output


def test_the_flask_command_finds_the_ops_group_without_the_serving_app(files: Path) -> None:
    # No token and a broken flow: `python serve.py` would refuse to start, `ivr check` must still speak.
    (files / "flows.yaml").write_text("start: nowhere\n", "utf-8")
    env = {
        k: v for k, v in os.environ.items() if k not in ("TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "IVR_DEV")
    }
    env.update(IVR_FLOWS=str(files / "flows.yaml"), IVR_PROMPTS=str(files / "prompts"))
    flask = Path(sys.executable).parent / "flask"
    done = subprocess.run(
        [str(flask), "--app", "app", "ivr", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr
    assert "flows.yaml:1:8: error: the start menu 'nowhere' does not exist" in done.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN is not set"),
        ({"IVR_FLOWS": "broken"}, "the start menu 'nowhere' does not exist"),
    ],
    ids=["no-token", "broken-flow"],
)
def test_a_refused_start_says_why_once_per_process_without_a_traceback(
    files: Path, env: dict[str, str], message: str
) -> None:
    (files / "broken.yaml").write_text("start: nowhere\nagent: {destination: '+81300000000'}\nmenus: {}\n")
    settings = {
        "TWILIO_AUTH_TOKEN": "token",
        "PUBLIC_BASE_URL": "https://ivr.example.jp",
        "IVR_NUMBER_KEY": "key",
        "SECRET_KEY": "secret",
        "IVR_DATA_KEY": DATA_KEY,
        "IVR_FLOWS": str(files / "flows.yaml"),
        "IVR_PROMPTS": str(files / "prompts"),
        "IVR_AUDIO": str(files / "audio"),
        "DATABASE_URL": f"sqlite:///{files / 'journal.db'}",
        "WEB_CONCURRENCY": "2",  # two workers: granian's own crash-loop check could miss them respawning
        "HOST": "127.0.0.1",
        "PORT": "0",
    }
    settings.update({k: str(files / "broken.yaml") if v == "broken" else v for k, v in env.items()})
    environ = {k: v for k, v in os.environ.items() if k not in settings and k != "IVR_DEV"}
    environ.update({k: v for k, v in settings.items() if v})
    done = subprocess.run(
        [sys.executable, str(ROOT / "serve.py")],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4  # StartRefused's status, passed on by serve.py's preflight
    assert "Traceback" not in done.stderr
    assert done.stderr.count("the hotline refuses to start") == 1  # said once, then serve.py stops
    assert done.stderr.count(message) == 1
    assert "Started worker-" not in done.stdout + done.stderr  # refused before any worker: no respawn loop
