"""Traffic through the menu for the map: keys pressed at each position, and how often each step happened."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, or_, select

from ivr.store.tables import calls, events, events_between, utc


@dataclass(frozen=True)
class Traffic:
    """Counts over the calls that started in a range."""

    keys: Counter[tuple[str, str]]  # (position, digits) → presses
    kinds: Counter[str]  # event kind → how many
    outcomes: Counter[str]  # agent-done outcome → how many


def build(engine: Engine, start: dt.datetime | None, end: dt.datetime | None) -> Traffic:
    """The traffic of calls that started in [start, end) (None: no bound), as the report counts calls."""
    sids = select(calls.c.call_sid)
    if start is not None:
        sids = sids.where(calls.c.started_at >= utc(start))
    if end is not None:
        sids = sids.where(calls.c.started_at < utc(end))
    in_range = and_(
        *events_between(utc(start) if start else None, utc(end) if end else None),
        events.c.call_sid.in_(sids.scalar_subquery()),
    )
    count = func.count().label("n")
    with engine.connect() as connection:
        # a key that led somewhere is on the row of where it led (pressed); one that led nowhere, a key row
        digits = func.coalesce(events.c.pressed, events.c.detail).label("digits")
        keys = connection.execute(
            select(events.c.position, digits, count)
            .where(in_range, or_(events.c.pressed.is_not(None), events.c.kind == "key"))
            .group_by(events.c.position, digits)
        ).all()
        kinds = connection.execute(select(events.c.kind, count).where(in_range).group_by(events.c.kind)).all()
        outcomes = connection.execute(
            select(events.c.detail, count)
            .where(in_range, events.c.kind == "agent-done")
            .group_by(events.c.detail)
        ).all()
    return Traffic(
        Counter({(row.position, row.digits): int(row.n) for row in keys}),
        Counter({row.kind: int(row.n) for row in kinds}),
        Counter({row.detail: int(row.n) for row in outcomes}),
    )
