"""The journal's tables (SQLAlchemy Core): one row per call, one per event. No phone number in clear."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table

# Deterministic constraint names, so migrations name the same things on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

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
    Column("number_hash", String(64), index=True),  # HMAC-SHA256 of the number with IVR_NUMBER_KEY
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("call_sid", String(64), nullable=False, index=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # see ivr.store.journal.KINDS
    Column("position", String(16), nullable=False),  # the key path where it happened
    Column("detail", String(40), nullable=False),  # answer or menu id, digits, outcome, status
)
