"""Alembic migrations kept in ivr/store/migrations, run programmatically: upgrade, current and head."""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from ivr.store import engine as engines

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND = "flask --app app ivr db upgrade"
_LOCK_ID = 0x1F0C_A11  # pg_advisory_xact_lock key: replicas upgrading at once take turns
# How long an upgrade waits for another one's SQLite write lock: the engine's busy_timeout (5 s) is meant
# for webhooks; an ops command may wait its turn behind a slow migration (SQLite built without usleep
# retries only once a second, so three upgrades at once could miss 5 s on a loaded machine).
SQLITE_TURN_MS = 60_000


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision the code knows."""
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated). Raises when it cannot be reached."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to head in one transaction; running it again changes nothing. (before, after)."""
    if engine.dialect.name != "sqlite":
        return _upgrade(engine)
    # SQLite answers "database is locked" at once, without waiting, where waiting could deadlock: two
    # connections opening a new file at once, one making it WAL while the other holds the write lock. The
    # upgrade is idempotent: take another turn, within the same bound as a turn's wait.
    end = time.monotonic() + SQLITE_TURN_MS / 1000
    while True:
        try:
            return _upgrade(engine)
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > end:
                raise
            time.sleep(0.1)


def upgrade_url(url: str) -> tuple[str | None, str]:
    """`upgrade` of the database at a URL, with an engine of its own disposed of afterwards."""
    engine = engines.create(url)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()


def _upgrade(engine: Engine) -> tuple[str | None, str]:
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            usual = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_TURN_MS}")
            connection.commit()  # end SQLAlchemy's autobegun transaction: the upgrade begins its own
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_ID})
                elif sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock first: DDL in it, in turns
                before = MigrationContext.configure(connection).get_current_revision()
                command.upgrade(_config(connection), "head")
        finally:
            if sqlite:  # the pooled connection goes back with the webhooks' timeout
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(usual or 0)}")
    return before, head()


def behind(engine: Engine) -> str | None:
    """Why the database cannot serve this code (None when it is at head)."""
    found = current(engine)
    wanted = head()
    if found == wanted:
        return None
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if found is not None and found not in known:
        return f"the database is at revision {found}, newer than this code ({wanted}): deploy the newer code"
    return (
        f"the database is at revision {found or 'none (empty)'}, this code needs {wanted}: "
        f"run `{UPGRADE_COMMAND}` first"
    )
