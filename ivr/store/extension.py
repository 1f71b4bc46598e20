"""The store as the app's extension: the one place that makes its engines, number key, sealer and writers.

`init_app` makes them once per app (per worker); everyone else asks this module for them. It is the only
module under store/ that knows Flask: the rest of the store takes an engine and plain values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ivr import clock
from ivr.config import ConfigError
from ivr.store import engine as engines
from ivr.store import migrate
from ivr.store.journal import Journal
from ivr.store.number_key import NumberKey
from ivr.store.rows import finisher
from ivr.store.sealed import Sealer, parse_keys
from ivr.store.waits import Refresher, Snapshot

log = logging.getLogger("ivr.journal")

# The writes a caller's webhook waits for (committing a callback reservation; the agents' line, whose
# callers are staff) are bounded well inside Twilio's 15 s and the request deadline.
SYNC_TIMEOUT_S = 3.0


@dataclass
class Store:
    """What an app holds of the store: made by init_app, replaced only by tests."""

    engine: Engine
    sync_engine: Engine  # every wait bounded by SYNC_TIMEOUT_S
    number_key: NumberKey  # IVR_NUMBER_KEY: the journal's calls, the reservations, the agents' caller IDs
    sealer: Sealer | None  # IVR_DATA_KEY: callback numbers; None when no key is set (development)
    refresher: Refresher  # the queue's estimate, refreshed by a thread of this worker
    journal: Journal | None  # this worker's writer; None in the ops commands, which never journal calls


def of(app: Flask) -> Store:
    """The app's store."""
    found: Store = app.extensions["ivr.store"]
    return found


def current() -> Store:
    """The current app's store."""
    found: Store = current_app.extensions["ivr.store"]
    return found


def engine() -> Engine:
    """The current app's database engine."""
    return current().engine


def sync_engine() -> Engine:
    """The engine for writes a webhook waits for: every wait bounded by SYNC_TIMEOUT_S."""
    return current().sync_engine


def keyed_hash(number: str) -> str:
    """The number's HMAC with IVR_NUMBER_KEY, as the journal, the reservations and the agent list keep it."""
    return current().number_key.hash(number)


def sealer() -> Sealer:
    """Encrypts and decrypts callback numbers (IVR_DATA_KEY); LookupError when no key is set."""
    found = current().sealer
    if found is None:
        raise LookupError("IVR_DATA_KEY is not set: callback numbers cannot be sealed or opened")
    return found


def estimate() -> Snapshot:
    """The queue's last estimate and waiting count, from memory (never waits on the database)."""
    return current().refresher.current()


def journal() -> Journal | None:
    """This worker's journal writer (None when the app does not journal calls)."""
    return current().journal


def check_schema(engine: Engine, url: str) -> None:
    """Refuse to serve on a database behind the migrations; a database that is down only gets a warning."""
    try:
        problem = migrate.behind(engine)
    except SQLAlchemyError as error:
        log.error(
            "journal database %s unreachable at start (%s): calls are answered, events wait in memory",
            engines.display(url),
            str(error).splitlines()[0],
        )
        return
    if problem:
        raise ConfigError(f"DATABASE_URL={engines.display(url)}: {problem}")


def init_app(app: Flask, *, serving: bool, estimate_settings: Callable[[], tuple[int, int]]) -> None:
    """Make the engines, the number key, the sealer and the estimate's refresher; when serving calls, check
    the schema and make this worker's journal writer.

    `estimate_settings`: the loaded flow's (window in minutes, least history) for the queue's estimate.
    """
    url = app.config["DATABASE_URL"] or engines.default_url(app.instance_path)
    app.config["DATABASE_URL"] = url
    main = engines.create(url)
    keys = app.config.get("IVR_DATA_KEY")
    key = NumberKey(str(app.config["IVR_NUMBER_KEY"]).encode("utf-8"))
    store = Store(
        engine=main,
        sync_engine=engines.create(url, timeout_s=SYNC_TIMEOUT_S),
        number_key=key,
        sealer=Sealer(parse_keys(str(keys))) if keys else None,
        refresher=Refresher(main, lambda: clock.now(app), estimate_settings),
        journal=None,
    )
    app.extensions["ivr.store"] = store
    if serving:
        check_schema(main, url)
        store.journal = Journal(main, prepare=finisher(key))
