"""What tests share besides fixtures: the test instants, the app on copied ops files, TwiML readers."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from ivr import create_app
from ivr.call.render import Renderer
from ivr.flow.bundle import Bundle
from ivr.state import state_of
from ivr.store import engine as engines
from ivr.store import migrate
from ivr.testing import CALL_FORM, Twilio
from ivr.testing import sign as twilio_sign

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-auth-token-0123456789abcdef"
NUMBER_KEY = "test-number-key-0123456789abcdef"
SECRET_KEY = "test-secret-key-0123456789abcdef"
DATA_KEY = "dGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg5YWJjZGVmMDA="  # a Fernet key (32 bytes, url-safe base64)
BASE = "https://ivr.example.jp"
TOKYO = dt.timezone(dt.timedelta(hours=9))
# A Wednesday at 10:00 in Tokyo: inside business hours.
OPEN_INSTANT = dt.datetime(2026, 11, 25, 10, 0, tzinfo=TOKYO)
CLOSED_INSTANT = dt.datetime(2026, 11, 25, 20, 0, tzinfo=TOKYO)
DROP = object()
# What CLOSED_INSTANT hears when it asks for a person: the day's hours are over, and the line opens
# again on Thursday 26 November at 9:00.
CLOSED_NOTICE = (
    "closed.after_hours",
    "next.intro",
    "month.11",
    "date.26",
    "day.thu",
    "next.at",
    "time.0900",
    "next.end",
)


class FixedClock:
    """A clock that says what the test tells it."""

    def __init__(self, instant: dt.datetime) -> None:
        self.instant = instant

    def __call__(self) -> dt.datetime:
        return self.instant


def copy_files(dest: Path) -> Path:
    """A private copy of flows.yaml, prompts/ and audio/ in dest."""
    shutil.copy(ROOT / "flows.yaml", dest / "flows.yaml")
    shutil.copytree(ROOT / "prompts", dest / "prompts")
    shutil.copytree(ROOT / "audio", dest / "audio")
    return dest


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


def make_app(files: Path, clock: FixedClock, *, serving: bool = True, **overrides: Any) -> Flask:
    """An app on a copy of the real files, signatures on, with the fixed clock and its own journal."""
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
        "SECRET_KEY": SECRET_KEY,
        "IVR_DATA_KEY": DATA_KEY,
    }
    if "DATABASE_URL" not in overrides:
        config["DATABASE_URL"] = migrated_sqlite(files)
    config.update(overrides)
    # DROP leaves a setting to the environment and the defaults
    return create_app({k: v for k, v in config.items() if v is not DROP}, serving=serving)


def sign(url: str, form: dict[str, str], token: str = TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for this URL and form."""
    return twilio_sign(url, form, token)


def twilio_for(client: FlaskClient) -> Twilio:
    """The signed Twilio stand-in for a test app (the test token and base URL)."""
    return Twilio(client, TOKEN, BASE, CALL_FORM)


def bundle_of(app: Flask) -> Bundle:
    """The flow bundle the app serves now."""
    loaded = state_of(app).loaded
    assert loaded is not None, "the app has no flow loaded"
    return loaded.bundle


def renderer_of(app: Flask) -> Renderer:
    """The renderer of the flow the app serves now."""
    loaded = state_of(app).loaded
    assert loaded is not None, "the app has no flow loaded"
    return loaded.renderer


def parse(response: TestResponse) -> ElementTree.Element:
    """The TwiML root of a response, after checking status and content type."""
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype in ("text/xml", "application/xml")
    root = ElementTree.fromstring(response.data)
    assert root.tag == "Response"
    return root


def heard(app: Flask, element: ElementTree.Element) -> list[str]:
    """The prompt ids a caller hears from a TwiML element, whether played from audio or said."""
    bundle = bundle_of(app)
    by_file = {entry.file: pid for pid, entry in bundle.audio.items()}
    by_speech = {(p.speech, p.rate): pid for pid, p in bundle.prompts.items()}
    ids = []
    for child in element.iter():
        if child.tag == "Play":
            ids.append(by_file[(child.text or "").rsplit("/", 1)[-1]])
        elif child.tag == "Say":
            slower = child.find("prosody")  # a slow replay said with SSML: <prosody rate="80%">
            if slower is None:
                ids.append(by_speech[(child.text or "", 1.0)])
            else:
                ids.append(by_speech[(slower.text or "", int(slower.get("rate", "")[:-1]) / 100)])
    return ids


def query(url: str) -> dict[str, str]:
    """The query parameters of an absolute URL, as a plain dict."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def edit(path: Path, old: str, new: str) -> None:
    """Change a file as an editor would (the text must be there), with an mtime a stat stamp cannot miss."""
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    before = path.stat().st_mtime_ns
    path.write_text(text.replace(old, new, 1), "utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh Python at the project's root (its own exit hooks, logging and threads)."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def wait_for(condition: Callable[[], bool], seconds: float) -> float:
    """Seconds until the condition held (another thread's or process's work); fails after `seconds`."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < seconds, "the condition did not hold in time"
        time.sleep(0.01)
    return time.monotonic() - began


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on a server (tests never meet), dropped afterwards."""
    url = make_url(engines.normalize(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def without_queue(flows: Path) -> None:
    """Remove the `queue:` section from a flows.yaml: the flow then dials the agent directly."""
    lines = flows.read_text("utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("queue:"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i].startswith(" "))
    flows.write_text("".join(lines[:start] + lines[end:]), "utf-8")


def closed_port_url() -> str:
    """A PostgreSQL URL on a local port nothing listens on: a database that is down."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing"
