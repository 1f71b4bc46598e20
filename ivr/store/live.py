"""What the console shows as happening now: calls in progress, callers in the queue, agents on the line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from ivr.store import waits
from ivr.store.tables import calls, events, events_between, utc

RECENT = dt.timedelta(hours=1)  # a call older than this without an end lost its status callback
_WHERE = ("menu", "answer", "agent", "agent-closed", "agent-done")


@dataclass(frozen=True)
class LiveCall:
    """A call in progress: masked number only, where it is now."""

    call_sid: str
    started_at: dt.datetime  # aware UTC
    number_masked: str | None
    where: str  # the last menu or answer heard, agent, queue, agent-line (staff); "" before the first one
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
            .where(*events_between(since, None), events.c.call_sid.in_(sids))
            .order_by(events.c.at, events.c.id)  # each call's steps in order, read along ix_events_at
        ).all()
    where: dict[str, str] = {}
    last: dict[str, dt.datetime] = {}
    for step in steps:
        last[step.call_sid] = step.at
        if step.kind in _WHERE:
            where[step.call_sid] = "agent" if step.kind.startswith("agent") else str(step.detail)
        elif step.kind in ("queue-entered", "queue-left"):
            where[step.call_sid] = "queue" if step.kind == "queue-entered" else "agent"
        elif step.kind.startswith("line-"):
            where[step.call_sid] = "agent-line"
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


@dataclass(frozen=True)
class Waiting:
    """A caller in the queue now: since when, and the masked number."""

    call_sid: str
    entered_at: dt.datetime  # aware UTC
    number_masked: str | None


def waiting(engine: Engine, now: dt.datetime) -> list[Waiting]:
    """The callers who entered the queue and have not left it, longest wait first."""
    entered = waits.waiting_calls(engine, utc(now))
    sids = [w.call_sid for w in entered]
    with engine.connect() as connection:
        numbers = dict(
            connection.execute(
                select(calls.c.call_sid, calls.c.number_masked).where(calls.c.call_sid.in_(sids))
            ).all()
        )
    return [
        Waiting(w.call_sid, w.entered_at.replace(tzinfo=dt.UTC), numbers.get(w.call_sid)) for w in entered
    ]


@dataclass(frozen=True)
class OnLine:
    """An agent on the agent line now: who, since when, the last thing done and when."""

    call_sid: str
    agent: str
    since: dt.datetime  # aware UTC, the login
    last: str  # the last agent-line event: line-login, line-take, line-outcome
    last_detail: str  # queue / callback for a take, how the call went for an outcome (talked, busy, …)
    last_at: dt.datetime  # aware UTC


def on_agent_line(engine: Engine, now: dt.datetime, within: dt.timedelta = RECENT) -> list[OnLine]:
    """Agent-line calls signed in with a PIN that no status callback has ended, longest on the line first."""
    since = utc(now - within)
    with engine.connect() as connection:
        rows = connection.execute(
            select(events.c.call_sid, events.c.at, events.c.kind, events.c.detail)
            .select_from(events.join(calls, calls.c.call_sid == events.c.call_sid))
            .where(
                *events_between(since, None),
                calls.c.started_at >= since,
                calls.c.ended_at.is_(None),
                events.c.kind.in_(("line-login", "line-take", "line-outcome")),
            )
            .order_by(events.c.at, events.c.id)
        ).all()
    found: dict[str, OnLine] = {}
    for row in rows:
        at = row.at.replace(tzinfo=dt.UTC)
        if row.kind == "line-login":
            found[row.call_sid] = OnLine(row.call_sid, str(row.detail), at, row.kind, "", at)
        elif row.call_sid in found:
            was = found[row.call_sid]
            found[row.call_sid] = OnLine(was.call_sid, was.agent, was.since, row.kind, str(row.detail), at)
    return sorted(found.values(), key=lambda line: line.since)
