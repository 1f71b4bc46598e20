"""Callback reservations: reserve once per number, claim the oldest for an agent, record each outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ivr.store.tables import OPEN_STATES, callbacks

Reserved = Literal["reserved", "duplicate"]
# An attempt whose outcome never came back (the agent's call dropped, a worker died) is free again after this.
STALE_CALLING = dt.timedelta(minutes=30)
RETRY = frozenset({"busy", "no-answer", "failed"})
DONE = frozenset({"talked", "wrong-number"})


@dataclass(frozen=True)
class Claimed:
    """A reservation an agent is about to call: its id and sealed number."""

    id: int
    number_sealed: str
    number_masked: str
    attempts: int


def reserve(
    engine: Engine,
    *,
    number_hash: str,
    sealed: str,
    masked: str,
    call_sid: str,
    asked_at: dt.datetime,
    now: dt.datetime,
) -> Reserved:
    """Commit a reservation, or say one is already open for this number; raises when the database fails."""
    row = {
        "number_hash": number_hash,
        "number_sealed": sealed,
        "number_masked": masked,
        "call_sid": call_sid[:64],
        "asked_at": asked_at,
        "reserved_at": now,
        "status": "pending",
        "attempts": 0,
        "next_try_at": now,
    }
    try:
        with engine.begin() as connection:
            open_one = connection.execute(
                select(callbacks.c.id).where(
                    callbacks.c.number_hash == number_hash, callbacks.c.status.in_(OPEN_STATES)
                )
            ).first()
            if open_one is not None:
                return "duplicate"
            connection.execute(insert(callbacks), row)
    except IntegrityError:  # the same number reserved at the same instant by another worker
        return "duplicate"
    return "reserved"


def claim(engine: Engine, agent: str, now: dt.datetime) -> Claimed | None:
    """Mark the oldest due reservation (by when its caller first asked) as being called by the agent."""
    due = or_(
        and_(callbacks.c.status == "pending", callbacks.c.next_try_at <= now),
        and_(callbacks.c.status == "calling", callbacks.c.next_try_at <= now - STALE_CALLING),
    )
    for _ in range(5):  # another agent may take the same one first: then the next
        with engine.begin() as connection:
            found = connection.execute(
                select(
                    callbacks.c.id, callbacks.c.number_sealed, callbacks.c.number_masked, callbacks.c.attempts
                )
                .where(due, callbacks.c.number_sealed.is_not(None))
                .order_by(callbacks.c.asked_at, callbacks.c.id)
                .limit(1)
            ).first()
            if found is None:
                return None
            taken = connection.execute(
                update(callbacks)
                .where(callbacks.c.id == found.id, due)
                .values(status="calling", agent=agent[:40], next_try_at=now)
            ).rowcount
            if taken == 1:
                return Claimed(
                    int(found.id), str(found.number_sealed), str(found.number_masked), found.attempts
                )
    return None


def outcome(
    engine: Engine,
    callback_id: int,
    result: str,
    now: dt.datetime,
    *,
    agent: str,
    attempts: int,
    retry_min: int,
) -> str:
    """Record how the agent's call to the customer ended; the new status, or "unknown" if not theirs.

    New status: pending, done or gave-up. "unknown": the reservation is not this agent's attempt any more
    (closed meanwhile, or taken over as stale by another agent), and nothing changes. One transaction, and
    the update holds only while the attempt count read is still the row's: two outcomes racing for one
    reservation cannot both count, nor one count for another agent's attempt.
    """
    mine = and_(
        callbacks.c.id == callback_id, callbacks.c.status == "calling", callbacks.c.agent == agent[:40]
    )
    with engine.begin() as connection:
        made = connection.execute(select(callbacks.c.attempts).where(mine)).scalar()
        if made is None:
            return "unknown"
        values: dict[str, Any] = {"outcome": result[:20]}
        if result in DONE:
            values.update(status="done", closed_at=now, attempts=made + 1)
        elif result in RETRY and made + 1 >= attempts:
            values.update(status="gave-up", closed_at=now, attempts=made + 1)
        elif result in RETRY:
            values.update(
                status="pending", attempts=made + 1, next_try_at=now + dt.timedelta(minutes=retry_min)
            )
        else:  # canceled: the agent hung up before it rang; not an attempt
            values.update(status="pending", next_try_at=now)
        changed = connection.execute(
            update(callbacks).where(mine, callbacks.c.attempts == made).values(values)
        ).rowcount
    return str(values["status"]) if changed == 1 else "unknown"


def take(engine: Engine, callback_id: int, agent: str, now: dt.datetime) -> bool:
    """Mark one open reservation as being called by the agent (a call made by hand, from the console).

    Refused (False) when it is closed, or when someone else is calling it and the attempt is not stale.
    """
    free = or_(
        callbacks.c.status == "pending",
        and_(callbacks.c.status == "calling", callbacks.c.agent == agent[:40]),
        and_(callbacks.c.status == "calling", callbacks.c.next_try_at <= now - STALE_CALLING),
    )
    with engine.begin() as connection:
        taken = connection.execute(
            update(callbacks)
            .where(callbacks.c.id == callback_id, free)
            .values(status="calling", agent=agent[:40], next_try_at=now)
        ).rowcount
    return bool(taken == 1)


def get(engine: Engine, callback_id: int) -> Any | None:
    """One reservation, or None."""
    with engine.connect() as connection:
        return connection.execute(select(callbacks).where(callbacks.c.id == callback_id)).first()


def oldest_open(engine: Engine, limit: int = 5) -> tuple[int, list[Any]]:
    """How many reservations are open, and the first few of them in order (oldest request first)."""
    is_open = callbacks.c.status.in_(OPEN_STATES)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(callbacks).where(is_open)).scalar_one()
        first = connection.execute(
            select(callbacks).where(is_open).order_by(callbacks.c.asked_at, callbacks.c.id).limit(limit)
        ).all()
    return int(count), list(first)


def pending(engine: Engine) -> int:
    """Reservations still to be called."""
    with engine.connect() as connection:
        found = connection.execute(
            select(func.count()).select_from(callbacks).where(callbacks.c.status.in_(OPEN_STATES))
        ).scalar_one()
    return int(found)


def listing(engine: Engine) -> list[Any]:
    """Every reservation, oldest request first."""
    with engine.connect() as connection:
        return list(
            connection.execute(select(callbacks).order_by(callbacks.c.asked_at, callbacks.c.id)).all()
        )


def erase_numbers(engine: Engine, before: dt.datetime) -> int:
    """Erase the sealed number of reservations closed before the instant; how many."""
    with engine.begin() as connection:
        return int(
            connection.execute(
                update(callbacks)
                .where(callbacks.c.closed_at < before, callbacks.c.number_sealed.is_not(None))
                .values(number_sealed=None)
            ).rowcount
        )


def delete_closed(engine: Engine, before: dt.datetime) -> int:
    """Delete reservations closed before the instant (the journal's retention); how many."""
    with engine.begin() as connection:
        return int(connection.execute(delete(callbacks).where(callbacks.c.closed_at < before)).rowcount)
