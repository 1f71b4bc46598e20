"""Shared fixtures: the app on a copy of the real flow files, a signing Twilio client, a fixed clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from helpers import (
    OPEN_INSTANT,
    FixedClock,
    copy_files,
    make_app,
    scratch_database,
    twilio_for,
    without_queue,
)
from ivr.store import engine as engines
from ivr.store import migrate
from ivr.testing import Twilio


@pytest.fixture
def clock() -> FixedClock:
    """The instant the app believes it is; a weekday inside business hours unless the test moves it."""
    return FixedClock(OPEN_INSTANT)


@pytest.fixture
def files(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A private copy of flows.yaml, prompts/ and audio/ that a test may edit.

    A test marked `direct_dial` gets the flow without its `queue:` section: `0` dials the agent directly.
    """
    copied = copy_files(tmp_path)
    if request.node.get_closest_marker("direct_dial"):
        without_queue(copied / "flows.yaml")
    return copied


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


def scratch_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database on TEST_DATABASE_URL's server, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL server to run this on (.ci/run sets it)")
    with scratch_database(base, f"ivr_test_{os.getpid()}") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, and a scratch PostgreSQL database when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from scratch_postgres()


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """The empty database, migrated to the newest revision."""
    engine = engines.create(database_url)
    migrate.upgrade(engine)
    engine.dispose()
    return database_url
