"""Shared fixtures: the app on a copy of the real flow files, a signing Twilio client, a fixed clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from helpers import OPEN_INSTANT, FixedClock, copy_files, make_app, twilio_for
from ivr.testing import Twilio


@pytest.fixture
def clock() -> FixedClock:
    """The instant the app believes it is; a weekday inside business hours unless the test moves it."""
    return FixedClock(OPEN_INSTANT)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A private copy of flows.yaml, prompts/ and audio/ that a test may edit."""
    return copy_files(tmp_path)


@pytest.fixture
def app(files: Path, clock: FixedClock) -> Flask:
    """The hotline app as Twilio sees it."""
    return make_app(files, clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A plain HTTP client (no signature)."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Runs `flask ivr …` commands against the app."""
    return app.test_cli_runner()


@pytest.fixture
def twilio(client: FlaskClient) -> Twilio:
    """A signing Twilio stand-in."""
    return twilio_for(client)
