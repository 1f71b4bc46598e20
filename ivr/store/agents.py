"""The agents allowed on the agent line: their caller ID (as a keyed hash) and a slowly hashed PIN."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from ivr.store.tables import agents

# scrypt (hashlib): salted and slow on purpose, so a stolen table does not give the PINs away
_N, _R, _P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    """A salted scrypt hash of a PIN, with its parameters: scrypt$n$r$p$salt$hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


class AgentExists(ValueError):
    """An agent with this name or number is already on the list."""


def add(engine: Engine, name: str, number_hash: str, masked: str, pin: str, now: dt.datetime) -> None:
    """Put an agent on the list."""
    row = {
        "name": name,
        "number_hash": number_hash,
        "number_masked": masked,
        "pin_hash": hash_pin(pin),
        "added_at": now,
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(agents), row)
    except IntegrityError as error:
        raise AgentExists(name) from error


def remove(engine: Engine, name: str) -> bool:
    """Take an agent off the list; False when there was none by that name."""
    with engine.begin() as connection:
        return bool(connection.execute(delete(agents).where(agents.c.name == name)).rowcount)


def listing(engine: Engine) -> list[Any]:
    """Every agent (name, masked number, when added)."""
    with engine.connect() as connection:
        query = select(agents.c.name, agents.c.number_masked, agents.c.added_at).order_by(agents.c.name)
        return list(connection.execute(query).all())


def by_number(engine: Engine, number_hash: str) -> tuple[str, str] | None:
    """(name, pin hash) of the agent calling from this number, if any."""
    with engine.connect() as connection:
        row = connection.execute(
            select(agents.c.name, agents.c.pin_hash).where(agents.c.number_hash == number_hash)
        ).first()
    return (str(row.name), str(row.pin_hash)) if row else None


def pin_ok(pin_hash: str, pin: str) -> bool:
    """Whether the keyed PIN is the agent's."""
    try:
        scheme, n, r, p, salt, digest = pin_hash.split("$")
        if scheme != "scrypt" or not pin:
            return False
        again = hashlib.scrypt(
            pin.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(again.hex(), digest)
