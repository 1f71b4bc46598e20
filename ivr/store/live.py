"""What the console shows as happening now: calls started lately that no status callback has ended."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from ivr.store.report import utc
from ivr.store.tables import calls, events

RECENT = dt.timedelta(hours=1)  # a call older than this without an end lost its status callback
_WHERE = ("menu", "answer", "agent", "agent-closed", "agent-done")


@dataclass(frozen=True)
class LiveCall:
    """A call in progress: masked number only, where it is now."""

    call_sid: str
    started_at: dt.datetime  # aware UTC
    number_masked: str | None
    where: str  # the last menu or answer heard, or agent; "" before the first one
    last_event_at: dt.datetime  # aware UTC


def in_progress(
    engine: Engine, now: dt.datetime, within: dt.timedelta = RECENT, limit: int = 200
) -> list[LiveCall]:
    """Calls that started within `within` before now and have no end yet, newest first."""
    since = utc(now - within)
    with engine.connect() as connection:
        rows = connection.execute(
            select(calls.c.call_sid, calls.c.started_at, calls.c.number_masked)
            .where(calls.c.started_at >= since, calls.c.ended_at.is_(None))
            .order_by(calls.c.started_at.desc())
            .limit(limit)
        ).all()
        sids = [row.call_sid for row in rows]
        steps = connection.execute(
            select(events.c.call_sid, events.c.at, events.c.kind, events.c.detail)
            .where(events.c.call_sid.in_(sids))
            .order_by(events.c.call_sid, events.c.at, events.c.id)
        ).all()
    where: dict[str, str] = {}
    last: dict[str, dt.datetime] = {}
    for step in steps:
        last[step.call_sid] = step.at
        if step.kind in _WHERE:
            where[step.call_sid] = "agent" if step.kind.startswith("agent") else str(step.detail)
    return [
        LiveCall(
            row.call_sid,
            row.started_at.replace(tzinfo=dt.UTC),
            row.number_masked,
            where.get(row.call_sid, ""),
            last.get(row.call_sid, row.started_at).replace(tzinfo=dt.UTC),
        )
        for row in rows
    ]
