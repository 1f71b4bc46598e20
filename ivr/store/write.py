"""One batch of journal events into the database, in one transaction: all of it or none of it.

The writer's CPU is taken from the webhooks' (and so is a PostgreSQL server's on the same machine), so rows
go to the driver as plain tuples with as little work per row as each database allows: on SQLite
multi-row INSERTs of up to 512 rows straight to sqlite3; on PostgreSQL COPY for the events, and COPY of the
batch's call rows into a session-private staging table merged into `calls` by one INSERT … ON CONFLICT.

Not executemany on SQLite: sqlite3 lets go of the GIL around each row's step, and taking it back waits
for a busy request thread to give it up (up to the switch interval), so a large batch beside a busy
thread would pass the GIL back and forth at every row; one statement per 512 rows lets go of it once per
statement.
SQLAlchemy still owns the connection and the transaction (pool, pre-ping, rollback, error wrapping).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, exc
from sqlalchemy.types import DateTime

from ivr.store.rows import (
    CALL_COLUMNS,
    EVENT_COLUMNS,
    EVENT_FIELDS,
    MERGE,
    Event,
    KnownCalls,
    call_rows,
    rows_needed,
)

_SQLITE_EVENTS = (f"INSERT INTO events ({EVENT_COLUMNS}) VALUES", "", EVENT_COLUMNS.count(",") + 1)
_SQLITE_CALLS = (f"INSERT INTO calls ({CALL_COLUMNS}) VALUES", f"\n{MERGE}", CALL_COLUMNS.count(",") + 1)
# Rows per statement: a power of two, so a batch takes at most ten statement texts (each prepared once,
# then found in sqlite3's statement cache); within the bound variables of a SQLite before 3.32 (999).
_SQLITE_ROWS = 512
_SQLITE_VARIABLES = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999
_SQLITE_TEXT_LENGTH = len("2026-01-01 00:00:00.000000")

# The staging table lives as long as the server connection and empties at each commit; created inside a
# batch's transaction, so a failed batch takes it away too (the flag in the connection's info is set
# only after a commit, and the pool clears that info with the connection).
_STAGE = "journal_calls_stage"
_STAGED = "ivr.journal_calls_stage"
_PG_STAGE = f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (LIKE calls) ON COMMIT DELETE ROWS"
_PG_EVENTS = f"COPY events ({EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_PG_EVENT_TYPES = ("varchar", "timestamp", "varchar", "varchar", "varchar", "int4", "varchar")
_PG_STAGE_CALLS = f"COPY {_STAGE} ({CALL_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_PG_CALL_TYPES = ("varchar", "timestamp", "timestamp", "int4", "varchar", "varchar", "varchar")
# ORDER BY: the rows are locked in call_sid order by every writer, so two workers cannot deadlock
_PG_CALLS = (
    f"INSERT INTO calls ({CALL_COLUMNS})\nSELECT {CALL_COLUMNS} FROM {_STAGE} ORDER BY call_sid\n{MERGE}"
)


def write_batch(engine: Engine, batch: Sequence[Event], known: KnownCalls | None = None) -> None:
    """Insert the events and create or complete their calls' rows, in one transaction.

    `known`: the calls this writer already gave a row; updated once the batch is committed.
    """
    if not batch:
        return
    needed = rows_needed(batch, known)
    if engine.dialect.name == "postgresql":
        calls = _write_postgresql(engine, batch, needed)
    else:
        calls = _write_sqlite(engine, batch, needed)
    if known is not None:
        known.add([row[0] for row in calls])


def _sqlite_times(dialect: Dialect, batch: Sequence[Event]) -> list[str]:
    """The events' times as SQLAlchemy stores a DateTime on SQLite ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    times = [e.at.isoformat(" ", "microseconds") for e in batch]
    if any(len(text) != _SQLITE_TEXT_LENGTH for text in times):
        # an aware time or a year before 1000: SQLAlchemy's own conversion, whatever it does with those
        to_text = DateTime().dialect_impl(dialect).bind_processor(dialect)
        assert to_text is not None
        times = [to_text(e.at) for e in batch]
    return times


def _write_sqlite(engine: Engine, batch: Sequence[Event], needed: Sequence[int]) -> list[tuple[Any, ...]]:
    times = _sqlite_times(engine.dialect, batch)
    events = [(e[0], at, e[2], e[3], e[4], e[9], e[10]) for e, at in zip(batch, times, strict=True)]
    calls = call_rows([batch[i] for i in needed], [times[i] for i in needed])
    with engine.begin() as connection:
        _insert_sqlite(connection, _SQLITE_EVENTS, events)
        _insert_sqlite(connection, _SQLITE_CALLS, calls)
    return calls


@functools.cache
def _sqlite_statement(head: str, tail: str, width: int, rows: int) -> str:
    group = f"({', '.join('?' * width)})"
    return f"{head} {', '.join([group] * rows)}{tail}"


def _insert_sqlite(
    connection: Connection, statement: tuple[str, str, int], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert the rows in as few statements as SQLite takes (see the module's docstring)."""
    head, tail, width = statement
    size, start = _SQLITE_ROWS, 0
    while size * width > _SQLITE_VARIABLES:
        size //= 2
    while start < len(rows):
        while size > len(rows) - start:
            size //= 2
        # exec_driver_sql: the values go to sqlite3 as they are, no SQLAlchemy bind processing
        values = tuple(chain.from_iterable(rows[start : start + size]))
        connection.exec_driver_sql(_sqlite_statement(head, tail, width, size), values)
        start += size


def _write_postgresql(engine: Engine, batch: Sequence[Event], needed: Sequence[int]) -> list[tuple[Any, ...]]:
    calls = call_rows([batch[i] for i in needed])
    with engine.begin() as connection:
        _copy_postgresql(engine, connection, batch, calls)
        if calls:
            connection.exec_driver_sql(_PG_CALLS)
        info = connection.connection.info
    info[_STAGED] = True  # committed: the staging table exists for as long as this server connection
    return calls


def _copy_postgresql(
    engine: Engine, connection: Connection, batch: Sequence[Event], calls: Sequence[tuple[Any, ...]]
) -> None:
    """COPY the events into `events` and the call rows into the staging table, on psycopg directly."""
    pooled = connection.connection
    driver: Any = pooled.driver_connection  # psycopg.Connection
    statement = _PG_STAGE
    try:
        with driver.cursor() as cursor:
            if not pooled.info.get(_STAGED):
                cursor.execute(_PG_STAGE)
            statement = _PG_EVENTS
            with cursor.copy(_PG_EVENTS) as copy:
                copy.set_types(_PG_EVENT_TYPES)
                for row in map(EVENT_FIELDS, batch):
                    copy.write_row(row)
            statement = _PG_STAGE_CALLS
            with cursor.copy(_PG_STAGE_CALLS) as copy:
                copy.set_types(_PG_CALL_TYPES)
                for row in calls:
                    copy.write_row(row)
    except engine.dialect.loaded_dbapi.Error as error:
        # SQLAlchemy did not run these statements, so it did not see the error: do what it does for its
        # own. A dead server connection is invalidated (never handed out again by the pool), and the
        # error is raised as SQLAlchemy's (OperationalError, DataError, …) wrapping psycopg's.
        pooled.info.pop(_STAGED, None)  # whatever happened to the session, create the table again
        gone = engine.dialect.is_disconnect(error, driver, None)
        if gone:
            connection.invalidate(error)
        raise exc.DBAPIError.instance(
            statement,
            None,
            error,
            engine.dialect.loaded_dbapi.Error,
            connection_invalidated=gone,
            dialect=engine.dialect,
        ) from error
