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

# The console's people (issue 13): a memory-hard hash of each password, never the password.
users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),  # viewer, agent or admin (ivr.store.users.ROLES)
    Column("password_hash", String(255), nullable=False),  # argon2id, with its own salt and parameters
    Column("failed_logins", Integer, nullable=False, default=0),  # wrong passwords in a row
    Column("locked_until", DateTime),  # naive UTC; a login before it is refused even with the right password
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
)

# Who did what in the console, when: logins, wrong passwords, lockouts, user changes (and later reveals).
audit = Table(
    "audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("user_name", String(64), nullable=False),
    Column("action", String(32), nullable=False),  # login, login-failed, locked, logout, user-added, …
    Column("detail", String(200), nullable=False, default=""),
)
