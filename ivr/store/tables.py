"""The journal's tables (SQLAlchemy Core): one row per call, one per event. No phone number in clear."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text, text
from sqlalchemy.sql.elements import ColumnElement

# Deterministic constraint names, so migrations name the same things on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)


# The longest a call's events can follow its start (Twilio ends any call after 24 hours): the calls that
# started in a range have their events in that range and up to this much later.
CALL_SPAN = dt.timedelta(hours=24)
# How far the events' clocks (workers, replicas) may be behind the call's start as another one saw it.
CLOCK_SLACK = dt.timedelta(minutes=5)


def events_between(start: dt.datetime | None, end: dt.datetime | None) -> list[ColumnElement[bool]]:
    """Conditions on events.at for the calls that started in [start, end) (naive UTC; None: no bound)."""
    bounds: list[ColumnElement[bool]] = []
    if start is not None:
        bounds.append(events.c.at >= start - CLOCK_SLACK)
    if end is not None:
        bounds.append(events.c.at < end + CALL_SPAN)
    return bounds


def utc(instant: dt.datetime) -> dt.datetime:
    """An aware instant as the naive UTC the tables hold."""
    if instant.tzinfo is dt.UTC:  # the system clock's (every journal event): no conversion to make
        return instant.replace(tzinfo=None)
    return instant.astimezone(dt.UTC).replace(tzinfo=None)


# Times are naive UTC: compared as text on SQLite, as timestamps on PostgreSQL, the same order on both.
calls = Table(
    "calls",
    metadata,
    Column("call_sid", String(64), primary_key=True),
    Column("started_at", DateTime, nullable=False, index=True),  # the first event seen (the incoming call)
    Column("ended_at", DateTime),  # when the status callback said the call ended
    Column("duration_s", Integer),  # CallDuration from the status callback
    Column("status", String(20)),  # the last CallStatus
    Column("number_masked", String(32)),  # +81********78
    # HMAC-SHA256 of the number with IVR_NUMBER_KEY; not indexed (migration 0006): read by time range
    Column("number_hash", String(64)),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    # not indexed (migration 0004): queries find events by time, then by call
    Column("call_sid", String(64), nullable=False),
    Column("at", DateTime, nullable=False, index=True),
    # what a webhook noted: menu, answer, key, agent, status, queue-entered, line-login, …
    Column("kind", String(20), nullable=False),
    Column("position", String(16), nullable=False),  # the key path where it happened
    Column("detail", String(40), nullable=False),  # answer or menu id, digits, outcome, status
    Column("amount", Integer),  # a number the event carries: seconds waited in the queue (QueueTime)
    # the keys that led to this event, pressed at its position (one row per webhook: migration 0005)
    Column("pressed", String(4)),
)
# The queue's entries and exits by time (partial: only they pay for it). A query uses the index when its
# WHERE holds this very condition, spelled out: SQLite cannot match a partial index to bound parameters.
QUEUE_EVENT = text("events.kind IN ('queue-entered', 'queue-left')")
Index("ix_events_queue", events.c.at, sqlite_where=QUEUE_EVENT, postgresql_where=QUEUE_EVENT)

# While a reservation is open (pending, or being called), one number has one reservation: the database
# refuses a second, so two workers reserving the same number at once cannot both succeed.
OPEN_STATES = ("pending", "calling")
_OPEN = text("status IN ('pending', 'calling')")
callbacks = Table(
    "callbacks",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("number_hash", String(64), nullable=False, index=True),  # HMAC with IVR_NUMBER_KEY
    Column("number_sealed", Text),  # Fernet token of the number (IVR_DATA_KEY); erased after retention
    Column("number_masked", String(32), nullable=False),
    Column("call_sid", String(64), nullable=False),
    Column("asked_at", DateTime, nullable=False, index=True),  # when the caller first asked for a person
    Column("reserved_at", DateTime, nullable=False),
    Column("status", String(12), nullable=False),  # pending, calling, done, gave-up
    Column("attempts", Integer, nullable=False),
    Column("next_try_at", DateTime, nullable=False),
    Column("outcome", String(20)),  # the last: talked, no-answer, busy, failed, wrong-number
    Column("agent", String(40)),  # who took it last
    Column("closed_at", DateTime),
    Index(
        "uq_callbacks_open_number",
        "number_hash",
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    ),
)

agents = Table(
    "agents",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("number_hash", String(64), nullable=False, unique=True),  # the caller ID they call from
    Column("number_masked", String(32), nullable=False),
    Column("pin_hash", String(200), nullable=False),  # scrypt$n$r$p$salt$hash (ivr.store.agents)
    Column("added_at", DateTime, nullable=False),
)

# Who did what, when: numbers revealed (ivr callbacks … --reveal --as NAME, the console), console
# logins, wrong passwords, lockouts and user changes.
audit = Table(
    "audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("who", String(64), nullable=False),
    Column("action", String(32), nullable=False),  # reveal, login, login-failed, locked, user-added, …
    Column("detail", String(200), nullable=False, default=""),
)

# The console's people (issue 13): a memory-hard hash of each password, never the password.
users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),  # viewer, agent or admin (ivr.store.accounts.ROLES)
    Column("password_hash", String(255), nullable=False),  # argon2id, with its own salt and parameters
    Column("failed_logins", Integer, nullable=False, default=0),  # wrong passwords in a row
    Column("locked_until", DateTime),  # naive UTC; a login before it is refused even with the right password
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
)
