"""`ivr agent add|remove|list` and `ivr callbacks list|export`: the agent list and the reservations."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ivr import clock
from ivr.flow.numbers import E164
from ivr.privacy import mask_number
from ivr.store import accounts, reservations
from ivr.store import agents as agent_list
from ivr.store import extension as store
from ivr.store.sealed import InvalidToken, Sealer
from ivr.store.tables import utc

NAME = re.compile(r"^[A-Za-z0-9._\-]{1,40}$")


def _now() -> dt.datetime:
    return utc(clock.now())


def _failed(error: SQLAlchemyError) -> click.ClickException:
    return click.ClickException(f"database: {str(error).splitlines()[0]}")


@click.group("agent")
def agent() -> None:
    """The agents allowed on the agent line (caller ID + PIN)."""


@agent.command("add")
@click.argument("name")
@click.option("--number", required=True, help="the agent's caller ID, E.164 (+81…)")
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True, help="4–12 digits")
@with_appcontext
def add(name: str, number: str, pin: str) -> None:
    """Allow an agent to use the agent line from their number, with a PIN (stored hashed)."""
    if not NAME.match(name):
        raise click.BadParameter("use up to 40 letters, digits, . _ or -", param_hint="NAME")
    if not E164.match(number):
        raise click.BadParameter('write it like "+819012345678"', param_hint="--number")
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise click.BadParameter("4 to 12 digits", param_hint="--pin")
    if not current_app.config["IVR_NUMBER_KEY"]:
        raise click.ClickException("IVR_NUMBER_KEY is not set: the agent's number is kept as its keyed hash")
    try:
        agent_list.add(store.engine(), name, store.keyed_hash(number), mask_number(number), pin, _now())
    except agent_list.AgentExists:
        raise click.ClickException(f"{name} or that number is already on the list") from None
    except SQLAlchemyError as error:
        raise _failed(error) from error
    click.echo(f"added {name} ({mask_number(number)})")


@agent.command("remove")
@click.argument("name")
@with_appcontext
def remove(name: str) -> None:
    """Take an agent off the list."""
    if not agent_list.remove(store.engine(), name):
        raise click.ClickException(f"no agent named {name}")
    click.echo(f"removed {name}")


@agent.command("list")
@with_appcontext
def list_agents() -> None:
    """The agents, with their numbers masked."""
    for row in agent_list.listing(store.engine()):
        click.echo(f"{row.name}\t{row.number_masked}\tadded {row.added_at:%Y-%m-%d %H:%M} UTC")


@click.group("callbacks")
def callbacks() -> None:
    """Callback reservations, for a center that calls from its own system."""


def _rows(reveal: bool, who: str | None, action: str) -> list[dict[str, Any]]:
    if reveal and not (who and NAME.match(who)):
        raise click.UsageError("--reveal needs --as NAME (who is looking: it is journaled)")
    sealer = None
    if reveal:
        sealer = store.current().sealer
        if sealer is None:
            raise click.ClickException("IVR_DATA_KEY is not set: the numbers cannot be decrypted")
    engine = store.engine()
    try:
        rows = reservations.listing(engine)
        found = [_row(row, sealer) for row in rows]
        if reveal:
            # journaled before anything is shown, as the console's reveals are
            accounts.note(engine, clock.now(), str(who), action, f"{len(found)} reservations")
    except SQLAlchemyError as error:
        raise _failed(error) from error
    return found


def _row(row: Any, sealer: Sealer | None) -> dict[str, Any]:
    number = row.number_masked
    if sealer is not None:
        try:
            number = sealer.open(row.number_sealed) if row.number_sealed else "(erased)"
        except InvalidToken:
            number = "(no key opens it)"
    return {
        "id": row.id,
        "number": number,
        "asked_at": row.asked_at.isoformat(),
        "status": row.status,
        "attempts": row.attempts,
        "outcome": row.outcome or "",
        "agent": row.agent or "",
    }


def _reveal_options(command: Any) -> Any:
    command = click.option("--as", "who", metavar="NAME", help="who reveals (journaled)")(command)
    return click.option("--reveal", is_flag=True, help="show the numbers in clear (journaled)")(command)


@callbacks.command("list")
@_reveal_options
@with_appcontext
def list_callbacks(reveal: bool, who: str | None) -> None:
    """Every reservation, oldest request first; numbers masked unless --reveal --as NAME."""
    for row in _rows(reveal, who, "reveal-list"):
        click.echo("\t".join(str(row[k]) for k in row))


@callbacks.command("export")
@_reveal_options
@click.option("--format", "form", type=click.Choice(["csv", "json"]), default="csv")
@with_appcontext
def export(reveal: bool, who: str | None, form: str) -> None:
    """The reservations as CSV or JSON; numbers masked unless --reveal --as NAME."""
    rows = _rows(reveal, who, "reveal-export")
    if form == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    writer = csv.DictWriter(
        sys.stdout,
        ["id", "number", "asked_at", "status", "attempts", "outcome", "agent"],
        lineterminator="\n",
    )
    writer.writeheader()
    writer.writerows(rows)
