"""`flask --app app ivr user add|remove|list|passwd NAME --role viewer|agent|admin`: the console's users."""

from __future__ import annotations

import re
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ivr import clock
from ivr.store import accounts
from ivr.store import extension as store
from ivr.store.accounts import ROLES, UserError
from ivr.store.tables import utc

_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def _name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not _NAME.match(value):
        raise click.BadParameter(f"{value!r}: use 1-64 letters, digits and . _ @ - (e.g. sato.h)")
    return value


def read_password() -> str:
    """Asked twice at a terminal; one line of standard input otherwise (scripts, `echo … |`)."""
    if sys.stdin.isatty():
        return str(click.prompt("password", hide_input=True, confirmation_prompt="password again"))
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.UsageError(
            "no password on standard input: pipe one line, e.g. `printf '%s\\n' \"$PW\" | …`"
        )
    return line


def _run(action: object) -> None:
    try:
        action()  # type: ignore[operator]
    except UserError as error:
        raise click.UsageError(str(error)) from error
    except SQLAlchemyError as error:
        url = store.engine().url.render_as_string(hide_password=True)
        raise click.ClickException(
            f"database {url}: {str(error).splitlines()[0]} (run `flask --app app ivr db upgrade` first?)"
        ) from error


@click.group("user")
def user() -> None:
    """The people who may log in to /console, and their roles (viewer < agent < admin)."""


@user.command("add")
@click.argument("name", callback=_name)
@click.option("--role", type=click.Choice(ROLES), required=True, help="viewer: figures; agent, admin: more.")
@with_appcontext
def add(name: str, role: str) -> None:
    """Add a user; the password is asked twice (or read from standard input)."""
    password = read_password()
    _run(lambda: accounts.add(store.engine(), clock.now(), name, role, password))
    click.echo(f"added {name} ({role})")


@user.command("remove")
@click.argument("name", callback=_name)
@with_appcontext
def remove(name: str) -> None:
    """Remove a user; their open sessions end at their next request."""
    _run(lambda: accounts.remove(store.engine(), clock.now(), name))
    click.echo(f"removed {name}")


@user.command("passwd")
@click.argument("name", callback=_name)
@click.option("--role", type=click.Choice(ROLES), help="Change the role too.")
@with_appcontext
def passwd(name: str, role: str | None) -> None:
    """Set a new password (and lift a lockout); asked twice, or read from standard input."""
    password = read_password()
    _run(lambda: accounts.set_password(store.engine(), clock.now(), name, password, role))
    click.echo(f"password of {name} changed" + (f", role {role}" if role else ""))


@user.command("list")
@with_appcontext
def listing() -> None:
    """Every user with role, lock and last login (UTC)."""
    found: list[accounts.User] = []
    _run(lambda: found.extend(accounts.listing(store.engine())))
    now = utc(clock.now())
    for u in found:
        locked = (
            f"locked until {u.locked_until:%Y-%m-%d %H:%M}" if u.locked_until and u.locked_until > now else ""
        )
        last = f"last login {u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never logged in"
        click.echo(f"{u.name:<24} {u.role:<7} {last} {locked}".rstrip())
    if not found:
        click.echo("no users yet: add one with `flask --app app ivr user add NAME --role admin`")
