"""The console's users: argon2id password hashes, roles, lockout after wrong passwords, the audit journal."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, Row, delete, insert, select, update

from ivr.store.tables import audit, users, utc

ROLES = ("viewer", "agent", "admin")  # each sees what the one before it sees, and more
MAX_FAILURES = 5  # wrong passwords in a row that lock the account
LOCK_FOR = dt.timedelta(minutes=15)
MIN_PASSWORD = 12
_hasher = PasswordHasher()  # argon2id, memory-hard, salted; parameters travel inside each hash


@functools.cache
def _dummy() -> str:
    """A hash to verify against when the name is unknown: as long as for a real user (no name probing).

    Made at the first login, not at import (~0.1 s in every worker and every ops command).
    """
    return _hasher.hash("no such user: the same work as a real check")


@dataclass(frozen=True)
class User:
    """A console user as the pages see it (never the hash)."""

    name: str
    role: str
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None

    def may(self, role: str) -> bool:
        """True when this user's role is the given one or above."""
        return ROLES.index(self.role) >= ROLES.index(role)


class UserError(ValueError):
    """A user change that cannot be made; the message says why."""


def _user(row: Row[Any]) -> User:
    return User(row.name, row.role, row.locked_until, row.last_login_at)


def check_password(password: str) -> None:
    """Refuse a password too short to resist guessing."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters long")


def check_role(role: str) -> None:
    """Refuse a role that does not exist."""
    if role not in ROLES:
        raise UserError(f"role {role!r} does not exist: use {', '.join(ROLES)}")


def note(engine: Engine, now: dt.datetime, name: str, action: str, detail: str = "") -> None:
    """Journal one thing a console user did (or had done to them)."""
    with engine.begin() as connection:
        connection.execute(
            insert(audit).values(at=utc(now), who=name[:64], action=action, detail=detail[:200])
        )


def add(engine: Engine, now: dt.datetime, name: str, role: str, password: str) -> None:
    """Create a user; UserError when the name is taken or the role or password will not do."""
    check_role(role)
    check_password(password)
    with engine.begin() as connection:
        if connection.execute(select(users.c.name).where(users.c.name == name)).first():
            raise UserError(f"user {name!r} exists already: change the password with `ivr user passwd`")
        connection.execute(
            insert(users).values(
                name=name,
                role=role,
                password_hash=_hasher.hash(password),
                failed_logins=0,
                created_at=utc(now),
            )
        )
    note(engine, now, name, "user-added", role)


def remove(engine: Engine, now: dt.datetime, name: str) -> None:
    """Delete a user; UserError when there is none by that name."""
    with engine.begin() as connection:
        if not connection.execute(delete(users).where(users.c.name == name)).rowcount:
            raise UserError(f"there is no user {name!r} (`ivr user list` shows who there is)")
    note(engine, now, name, "user-removed")


def set_password(engine: Engine, now: dt.datetime, name: str, password: str, role: str | None = None) -> None:
    """A new password (and role, when given); it also lifts a lockout."""
    check_password(password)
    values: dict[str, Any] = {
        "password_hash": _hasher.hash(password),
        "failed_logins": 0,
        "locked_until": None,
    }
    if role is not None:
        check_role(role)
        values["role"] = role
    with engine.begin() as connection:
        if not connection.execute(update(users).where(users.c.name == name).values(**values)).rowcount:
            raise UserError(f"there is no user {name!r}: add it with `ivr user add {name} --role viewer`")
    note(engine, now, name, "password-changed", role or "")


def listing(engine: Engine) -> list[User]:
    """Every user, by name."""
    with engine.connect() as connection:
        return [_user(row) for row in connection.execute(select(users).order_by(users.c.name))]


def get(engine: Engine, name: str) -> User | None:
    """One user by name."""
    with engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.name == name)).first()
    return _user(row) if row else None


def authenticate(engine: Engine, now: dt.datetime, name: str, password: str) -> tuple[User | None, str]:
    """(the user, "ok") for the right password; (None, why) otherwise: "unknown", "wrong", "locked" (was
    locked already) or "locked-now" (this wrong password locked it)."""
    at = utc(now)
    with engine.begin() as connection:
        row = connection.execute(select(users).where(users.c.name == name)).first()
        if row is None:
            _verify(_dummy(), password)
            outcome = "unknown"
        elif row.locked_until is not None and row.locked_until > at:
            outcome = "locked"
        elif _verify(row.password_hash, password):
            connection.execute(
                update(users)
                .where(users.c.name == name)
                .values(failed_logins=0, locked_until=None, last_login_at=at)
            )
            return _user(row), "ok"
        else:
            failures = row.failed_logins + 1
            locked = at + LOCK_FOR if failures >= MAX_FAILURES else None
            connection.execute(
                update(users)
                .where(users.c.name == name)
                .values(failed_logins=0 if locked else failures, locked_until=locked)
            )
            outcome = "locked-now" if locked else "wrong"
    return None, outcome


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def recent_audit(engine: Engine, limit: int = 50) -> list[Row[Any]]:
    """The newest audit lines first."""
    with engine.connect() as connection:
        return list(connection.execute(select(audit).order_by(audit.c.id.desc()).limit(limit)))
