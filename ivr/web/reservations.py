"""Shared by the queue, callback and agent-line webhooks: sealer, short-timeout engine, estimate."""

from __future__ import annotations

import datetime as dt

from flask import Flask, current_app, request
from sqlalchemy import Engine

from ivr import clock
from ivr.state import Loaded, state_of
from ivr.store import engine as engines
from ivr.store.numbers import NumberKey
from ivr.store.sealed import Sealer, parse_keys
from ivr.store.tables import utc
from ivr.store.waits import Refresher, Snapshot

# The one place a caller's webhook waits on the database is committing a reservation (and the agent line,
# whose callers are staff): well inside Twilio's 15 s and the request deadline (IVR_REQUEST_TIMEOUT_S).
SYNC_TIMEOUT_S = 3.0


def sealer() -> Sealer:
    """Encrypts and decrypts callback numbers (IVR_DATA_KEY)."""
    found: Sealer = current_app.extensions["ivr.sealer"]
    return found


def sync_engine() -> Engine:
    """The engine for writes a webhook waits for: every wait bounded by SYNC_TIMEOUT_S."""
    found: Engine = current_app.extensions["ivr.engine.sync"]
    return found


def keyed_hash(number: str) -> str:
    """The number's HMAC with IVR_NUMBER_KEY (as the journal keeps it), with the worker's key state."""
    key: NumberKey = current_app.extensions["ivr.number_key"]
    return key.hash(number)


def snapshot() -> Snapshot:
    """The queue's last estimate and waiting count, from memory (never waits on the database)."""
    refresher: Refresher = current_app.extensions["ivr.refresher"]
    return refresher.current()


def refresher_of(app: Flask) -> Refresher:
    """The app's estimate refresher (tests refresh it by hand)."""
    found: Refresher = app.extensions["ivr.refresher"]
    return found


def now_s() -> int:
    """The app's clock as Unix seconds (what the URLs carry as `t`)."""
    return int(clock.now().timestamp())


def asked() -> int:
    """When the caller first asked for a person, as carried in the URL (`t`); now when missing or absurd."""
    value = request.args.get("t", "")
    now = now_s()
    if value.isdigit() and now - 86400 < int(value) <= now + 60:
        return int(value)
    return now


def asked_at() -> dt.datetime:
    """`asked()` as the naive UTC the tables hold."""
    return dt.datetime.fromtimestamp(asked(), dt.UTC).replace(tzinfo=None)


def naive_now() -> dt.datetime:
    """The app's clock as naive UTC."""
    return utc(clock.now())


def flag(name: str) -> int:
    """A 0/1 flag from the query."""
    return 1 if request.args.get(name) == "1" else 0


def init_app(app: Flask) -> None:
    """Build the sealer, the short-timeout engine and this worker's estimate refresher."""
    keys = app.config.get("IVR_DATA_KEY")
    if keys:
        app.extensions["ivr.sealer"] = Sealer(parse_keys(str(keys)))
    url = str(app.config["DATABASE_URL"])
    app.extensions["ivr.engine.sync"] = engines.create(url, timeout_s=SYNC_TIMEOUT_S)

    def settings() -> tuple[int, int]:
        loaded: Loaded | None = state_of(app).loaded
        q = loaded.bundle.flow.queue if loaded else None
        return (q.estimate_window_min, q.estimate_min_history) if q else (60, 5)

    app.extensions["ivr.refresher"] = Refresher(
        app.extensions["ivr.engine"], app.extensions["ivr.clock"], settings
    )
