"""One batch of journal events into the database, in one transaction: all of it or none of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, case, func, insert
from sqlalchemy.dialects import postgresql, sqlite

from ivr.store.tables import calls, events

if TYPE_CHECKING:
    from ivr.store.journal import Event


def call_rows(batch: Sequence[Event]) -> list[dict[str, Any]]:
    """One row per call in the batch: the earliest time seen, the end, duration, status and number."""
    rows: dict[str, dict[str, Any]] = {}
    for event in batch:
        row = rows.setdefault(
            event.call_sid,
            {
                "call_sid": event.call_sid,
                "started_at": event.at,
                "ended_at": None,
                "duration_s": None,
                "status": None,
                "number_masked": None,
                "number_hash": None,
            },
        )
        row["started_at"] = min(row["started_at"], event.at)
        if event.number_hash:
            row["number_masked"], row["number_hash"] = event.number_masked, event.number_hash
        if event.kind == "status":
            row["status"] = event.detail
            if event.duration_s is not None:
                row["duration_s"] = event.duration_s
            if event.ended:
                row["ended_at"] = event.at
    # one lock order for every writer: two workers upserting the same calls cannot deadlock
    return [rows[sid] for sid in sorted(rows)]


def write_batch(engine: Engine, batch: Sequence[Event]) -> None:
    """Insert the events and create or complete their calls' rows."""
    dialect = engine.dialect.name
    upsert = postgresql.insert(calls) if dialect == "postgresql" else sqlite.insert(calls)
    new = upsert.excluded
    statement = upsert.on_conflict_do_update(
        index_elements=[calls.c.call_sid],
        set_={
            "started_at": case(
                (new.started_at < calls.c.started_at, new.started_at), else_=calls.c.started_at
            ),
            "ended_at": func.coalesce(new.ended_at, calls.c.ended_at),
            "duration_s": func.coalesce(new.duration_s, calls.c.duration_s),
            "status": func.coalesce(new.status, calls.c.status),
            "number_masked": func.coalesce(calls.c.number_masked, new.number_masked),
            "number_hash": func.coalesce(calls.c.number_hash, new.number_hash),
        },
    )
    event_rows = [
        {
            "call_sid": e.call_sid,
            "at": e.at,
            "kind": e.kind,
            "position": e.position,
            "detail": e.detail,
            "amount": e.amount,
        }
        for e in batch
    ]
    with engine.begin() as connection:
        connection.execute(insert(events), event_rows)
        connection.execute(statement, call_rows(batch))
