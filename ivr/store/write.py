"""One batch of journal events into the database, in one transaction: all of it or none of it.

The writer's CPU is taken from the webhooks' (and so is a PostgreSQL server's on the same machine), so rows
go to the driver as plain tuples with as little work per row as each database allows: on SQLite one
executemany per table straight to sqlite3; on PostgreSQL COPY for the events, and COPY of the batch's
call rows into a session-private staging table merged into `calls` by one INSERT … ON CONFLICT.
SQLAlchemy still owns the connection and the transaction (pool, pre-ping, rollback, error wrapping).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Dialect, Engine, exc
from sqlalchemy.types import DateTime

if TYPE_CHECKING:
    from ivr.store.journal import Event

EVENT_COLUMNS = "call_sid, at, kind, position, detail, amount"
CALL_COLUMNS = "call_sid, started_at, ended_at, duration_s, status, number_masked, number_hash"
_EVENT_FIELDS = itemgetter(0, 1, 2, 3, 4, 9)  # Event's fields in EVENT_COLUMNS order
_AT = itemgetter(1)
_CALL_KINDS = ("incoming", "status")  # the events that bring a call's number and its end

# What a batch says about a call merged with the row already there: the earliest start; the end, duration
# and status when the batch has them; the number first recorded. The WHERE leaves alone the rows this would
# not change, most of them: a busy line's batch holds a menu or a key of each of hundreds of calls whose
# start is already written, and rewriting those rows unchanged (a new row version and index entries) was
# a quarter of PostgreSQL's CPU for the batch in bench/costs.
_MERGE = """\
ON CONFLICT (call_sid) DO UPDATE SET
    started_at = CASE WHEN excluded.started_at < calls.started_at
        THEN excluded.started_at ELSE calls.started_at END,
    ended_at = coalesce(excluded.ended_at, calls.ended_at),
    duration_s = coalesce(excluded.duration_s, calls.duration_s),
    status = coalesce(excluded.status, calls.status),
    number_masked = coalesce(calls.number_masked, excluded.number_masked),
    number_hash = coalesce(calls.number_hash, excluded.number_hash)
WHERE excluded.started_at < calls.started_at
    OR excluded.ended_at IS NOT NULL OR excluded.duration_s IS NOT NULL OR excluded.status IS NOT NULL
    OR (calls.number_masked IS NULL AND excluded.number_masked IS NOT NULL)
    OR (calls.number_hash IS NULL AND excluded.number_hash IS NOT NULL)"""

_SQLITE_EVENTS = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
_SQLITE_CALLS = f"INSERT INTO calls ({CALL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)\n{_MERGE}"
_SQLITE_TEXT_LENGTH = len("2026-01-01 00:00:00.000000")

# The staging table lives as long as the server connection and empties at each commit; created inside a
# batch's transaction, so a failed batch takes it away too (the flag in the connection's info is set
# only after a commit, and the pool clears that info with the connection).
_STAGE = "journal_calls_stage"
_STAGED = "ivr.journal_calls_stage"
_PG_STAGE = f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (LIKE calls) ON COMMIT DELETE ROWS"
_PG_EVENTS = f"COPY events ({EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_PG_EVENT_TYPES = ("varchar", "timestamp", "varchar", "varchar", "varchar", "int4")
_PG_STAGE_CALLS = f"COPY {_STAGE} ({CALL_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_PG_CALL_TYPES = ("varchar", "timestamp", "timestamp", "int4", "varchar", "varchar", "varchar")
# ORDER BY: the rows are locked in call_sid order by every writer, so two workers cannot deadlock
_PG_CALLS = (
    f"INSERT INTO calls ({CALL_COLUMNS})\nSELECT {CALL_COLUMNS} FROM {_STAGE} ORDER BY call_sid\n{_MERGE}"
)


def call_rows(batch: Sequence[Event], times: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """One row per call in the batch (CALL_COLUMNS), in call_sid order: start, end, duration, status, number.

    `times` replaces the events' `at` (SQLite's text form, which sorts as the times do).
    """
    rows: dict[str, list[Any]] = {}
    for (sid, _, kind, _, detail, masked, number, duration, ended, _), at in zip(
        batch, map(_AT, batch) if times is None else times, strict=True
    ):
        row = rows.get(sid)
        if row is None:
            rows[sid] = row = [sid, at, None, None, None, None, None]
        elif at < row[1]:
            row[1] = at
        if number:
            row[5], row[6] = masked, number
        if kind == "status":
            row[4] = detail
            if duration is not None:
                row[3] = duration
            if ended:
                row[2] = at
    # one lock order for every writer: two workers upserting the same calls cannot deadlock
    return [tuple(rows[sid]) for sid in sorted(rows)]


class KnownCalls:
    """The calls one writer has already given a row: later events of theirs need not touch it.

    A call's row changes only with its start (the earliest event: this writer's first one of the call
    was upserted, and its later ones are later), its number (incoming) and its end (status): so an
    event of a known call that is neither incoming nor status adds nothing to its row. Without this,
    nearly every event also upserted its call's row (a random page of the calls' key index each).
    Bounded: the oldest calls are forgotten first (their next event upserts again, harmlessly).
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._sids: dict[str, None] = {}  # insertion-ordered: the oldest first

    def __contains__(self, sid: object) -> bool:
        return sid in self._sids

    def add(self, sids: Sequence[str]) -> None:
        """Remember calls whose rows are committed."""
        for sid in sids:
            self._sids[sid] = None
        for _ in range(len(self._sids) - self.size):
            del self._sids[next(iter(self._sids))]


def _rows_needed(batch: Sequence[Event], known: KnownCalls | None) -> list[int]:
    """The batch's events that can change their call's row (all of them without `known`)."""
    return [
        i for i, e in enumerate(batch) if known is None or e.kind in _CALL_KINDS or e.call_sid not in known
    ]


def write_batch(engine: Engine, batch: Sequence[Event], known: KnownCalls | None = None) -> None:
    """Insert the events and create or complete their calls' rows, in one transaction.

    `known`: the calls this writer already gave a row; updated once the batch is committed.
    """
    if not batch:
        return
    needed = _rows_needed(batch, known)
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
    events = [(e[0], at, e[2], e[3], e[4], e[9]) for e, at in zip(batch, times, strict=True)]
    calls = call_rows([batch[i] for i in needed], [times[i] for i in needed])
    with engine.begin() as connection:
        # exec_driver_sql: sqlite3's executemany on the tuples as they are, no SQLAlchemy bind processing
        connection.exec_driver_sql(_SQLITE_EVENTS, events)
        if calls:
            connection.exec_driver_sql(_SQLITE_CALLS, calls)
    return calls


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
                for row in map(_EVENT_FIELDS, batch):
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
