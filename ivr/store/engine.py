"""The database engine from DATABASE_URL: SQLite (WAL, busy_timeout) by default, PostgreSQL via psycopg 3."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 5000  # two workers writing one SQLite file wait for each other instead of failing


def default_url(instance_path: str | Path) -> str:
    """The embedded SQLite file in the Flask instance folder: what `make run` uses."""
    return f"sqlite:///{Path(instance_path) / 'ivr.db'}"


def normalize(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and always use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def display(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return make_url(normalize(url)).render_as_string(hide_password=True)


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; WAL keeps the file whole
    cursor.close()


def create(url: str, *, timeout_s: float | None = None) -> Engine:
    """An engine for the URL; connects lazily (creating it never fails because a server is down).

    `timeout_s` bounds every wait (connecting, a lock, a statement): for the one write a caller waits on.
    """
    parsed = make_url(normalize(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # best effort: a folder that cannot be made is a database that is down, found at the first write
            with contextlib.suppress(OSError):
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        busy_s = timeout_s if timeout_s is not None else BUSY_TIMEOUT_MS / 1000
        # sqlite3's timeout is SQLite's busy timeout (PRAGMA busy_timeout reads it back)
        engine = create_engine(parsed, connect_args={"timeout": busy_s})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if timeout_s is not None:
        limit_ms = int(timeout_s * 1000)
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=2,
            max_overflow=4,
            pool_timeout=timeout_s,
            connect_args={
                "connect_timeout": max(1, int(timeout_s)),
                "options": f"-c statement_timeout={limit_ms} -c lock_timeout={limit_ms}",
            },
        )
    # A down server must fail a write in seconds (the writer retries), never hang it.
    return create_engine(
        parsed, pool_pre_ping=True, pool_size=2, max_overflow=2, connect_args={"connect_timeout": 3}
    )
