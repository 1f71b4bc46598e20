"""Shared fixtures: the app on the real flow files, a signing Twilio client, a fixed clock."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from ivr import create_app
from ivr.store import engine as engines
from ivr.store import migrate

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-auth-token-0123456789abcdef"
NUMBER_KEY = "test-number-key-0123456789abcdef"
BASE = "https://ivr.example.jp"
TOKYO = dt.timezone(dt.timedelta(hours=9))
# A Wednesday at 10:00 in Tokyo: inside business hours.
OPEN_INSTANT = dt.datetime(2026, 11, 25, 10, 0, tzinfo=TOKYO)
CLOSED_INSTANT = dt.datetime(2026, 11, 25, 20, 0, tzinfo=TOKYO)


DROP = object()


class FixedClock:
    """A clock that says what the test tells it."""

    def __init__(self, instant: dt.datetime) -> None:
        self.instant = instant

    def __call__(self) -> dt.datetime:
        return self.instant


@pytest.fixture
def clock() -> FixedClock:
    """The instant the app believes it is; a weekday inside business hours unless the test moves it."""
    return FixedClock(OPEN_INSTANT)


def copy_files(dest: Path) -> Path:
    """A private copy of flows.yaml, prompts/ and audio/ in dest."""
    shutil.copy(ROOT / "flows.yaml", dest / "flows.yaml")
    shutil.copytree(ROOT / "prompts", dest / "prompts")
    shutil.copytree(ROOT / "audio", dest / "audio")
    return dest


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A private copy of flows.yaml, prompts/ and audio/ that a test may edit."""
    return copy_files(tmp_path)


_MIGRATED: list[Path] = []


def migrated_sqlite(dest: Path) -> str:
    """The URL of a SQLite journal at the newest revision in dest (a copy of one migrated per session)."""
    if not _MIGRATED:
        template = Path(tempfile.mkdtemp(prefix="ivr-test-db-")) / "journal.db"
        engine = engines.create(f"sqlite:///{template}")
        migrate.upgrade(engine)
        engine.dispose()
        _MIGRATED.append(template)
    shutil.copy(_MIGRATED[0], dest / "journal.db")
    return f"sqlite:///{dest / 'journal.db'}"


def make_app(files: Path, clock: FixedClock, **overrides: Any) -> Flask:
    """An app on a copy of the real files, signatures on, with the fixed clock."""
    config: dict[str, Any] = {
        "TESTING": True,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": BASE,
        "IVR_FLOWS": str(files / "flows.yaml"),
        "IVR_PROMPTS": str(files / "prompts"),
        "IVR_AUDIO": str(files / "audio"),
        "IVR_CLOCK": clock,
        "IVR_RELOAD_INTERVAL_S": 0.0,
        "IVR_NUMBER_KEY": NUMBER_KEY,
    }
    if "DATABASE_URL" not in overrides:
        config["DATABASE_URL"] = migrated_sqlite(files)
    config.update(overrides)
    # DROP leaves a setting to the environment and the defaults
    return create_app({k: v for k, v in config.items() if v is not DROP})


@pytest.fixture
def app(files: Path, clock: FixedClock) -> Iterator[Flask]:
    """The hotline app as Twilio sees it."""
    yield make_app(files, clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A plain HTTP client (no signature)."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Runs `flask ivr …` commands against the app."""
    return app.test_cli_runner()


def sign(url: str, form: dict[str, str], token: str = TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for this URL and form."""
    return str(RequestValidator(token).compute_signature(url, form))


class Twilio:
    """Posts to the app the way Twilio does: absolute URL under PUBLIC_BASE_URL, signed form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post(self, url: str, **form: str) -> TestResponse:
        """POST a signed webhook; `url` may be absolute (from TwiML) or a path."""
        absolute = url if url.startswith("http") else BASE + url
        data = {
            "CallSid": "CA00000000000000000000000000000001",
            "From": "+819012345678",
            "To": "+81120701675",
            **form,
        }
        path = absolute.removeprefix(BASE)
        return self.client.post(path, data=data, headers={"X-Twilio-Signature": sign(absolute, data)})


@pytest.fixture
def twilio(client: FlaskClient) -> Twilio:
    """A signing Twilio stand-in."""
    return Twilio(client)


def parse(response: TestResponse) -> ElementTree.Element:
    """The TwiML root of a response, after checking status and content type."""
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype in ("text/xml", "application/xml")
    root = ElementTree.fromstring(response.data)
    assert root.tag == "Response"
    return root


def heard(app: Flask, element: ElementTree.Element) -> list[str]:
    """The prompt ids a caller hears from a TwiML element, whether played from audio or said."""
    bundle = app.extensions["ivr.state"].loaded.bundle
    by_file = {entry.file: pid for pid, entry in bundle.audio.items()}
    by_speech = {prompt.speech: pid for pid, prompt in bundle.prompts.items()}
    ids = []
    for child in element.iter():
        if child.tag == "Play":
            ids.append(by_file[(child.text or "").rsplit("/", 1)[-1]])
        elif child.tag == "Say":
            ids.append(by_speech[child.text or ""])
    return ids


def query(url: str) -> dict[str, str]:
    """The query parameters of an absolute URL, as a plain dict."""
    from urllib.parse import parse_qs, urlsplit

    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def scratch_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database on TEST_DATABASE_URL's server, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL server to run this on (.ci/run sets it)")
    url = make_url(engines.normalize(base))
    name = f"ivr_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"  # test runs sharing the server never meet
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
