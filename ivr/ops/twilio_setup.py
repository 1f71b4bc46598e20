"""`flask --app app ivr twilio status|configure`: point the account's numbers at this service."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.flow.numbers import E164
from ivr.ops import twilio_api
from ivr.ops.common import loaded_flow

CONFIGURE = "flask --app app ivr twilio configure"
LOCAL = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


@dataclass(frozen=True)
class Line:
    """A number this service answers, and the webhook Twilio should call for it."""

    role: str
    number: str
    webhook: str  # the path under PUBLIC_BASE_URL

    def wanted(self, base: str) -> dict[str, str]:
        """The voice settings the number should have: the webhook, fallback and status URLs, all POST."""
        urls = (self.webhook, "/voice/fallback", "/voice/status")  # in the order of FIELDS: url, method
        values = [value for path in urls for value in (base + path, "POST")]
        return dict(zip(twilio_api.FIELDS, values, strict=True))


def _number(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not E164.match(value.strip()):
        raise click.BadParameter(f"{value!r} is not an E.164 number: write it like +81120701675")
    return value.strip() if value else None


def _options(command: Any) -> Any:
    agent_line = "The agents' number, instead of numbers.agent_line in flows.yaml."
    command = click.option("--agent-line", callback=_number, help=agent_line)(command)
    hotline = "The hotline's number, instead of numbers.hotline in flows.yaml."
    return click.option("--hotline", callback=_number, help=hotline)(command)


@click.group("twilio")
def twilio() -> None:
    """Point the Twilio account's numbers at this service (credentials: see `ivr twilio status --help`)."""


@twilio.command("status")
@_options
@with_appcontext
def status(hotline: str | None, agent_line: str | None) -> None:
    """Show each number's voice URL, fallback URL and status callback now and as this service wants them.

    Credentials come from TWILIO_ACCOUNT_SID and TWILIO_API_KEY + TWILIO_API_SECRET (or
    TWILIO_AUTH_TOKEN); the wanted URLs from PUBLIC_BASE_URL. Exit 0 when both numbers are as wanted,
    1 when something differs or Twilio would ignore the URLs.
    """
    if not _run(hotline, agent_line, apply=False, report_all=True):
        click.get_current_context().exit(1)


@twilio.command("configure")
@_options
@click.option("--dry-run", is_flag=True, help="Show what would change and change nothing.")
@with_appcontext
def configure(hotline: str | None, agent_line: str | None, dry_run: bool) -> None:
    """Set the numbers' voice URL, fallback URL and status callback (all POST) under PUBLIC_BASE_URL.

    The hotline gets PUBLIC_BASE_URL/voice, the agent line PUBLIC_BASE_URL/voice/agent-line; both get
    /voice/fallback and /voice/status. Prints each change before making it. Numbers come from the
    `numbers:` section of flows.yaml unless given. Exit 1 when a number stays bound to a TwiML App or
    a SIP trunk (Twilio then ignores the URLs).
    """
    if not _run(hotline, agent_line, apply=not dry_run, report_all=False):
        click.get_current_context().exit(1)
    if dry_run:
        click.echo(f"dry run: nothing was changed; `{CONFIGURE}` makes these changes")


def _run(hotline: str | None, agent_line: str | None, *, apply: bool, report_all: bool) -> bool:
    """Look up, show and (when `apply`) set each number.

    False when Twilio will not use the URLs, and with `report_all` (status) also when a setting differs.
    """
    base = _base_url()
    lines = _lines(hotline, agent_line)
    rest = twilio_api.client(os.environ, current_app.config.get("TWILIO_API_BASE_URL"))
    if len(lines) == 1:
        click.echo("agent line: none (numbers.agent_line is null in flows.yaml, no --agent-line): skipped")
    good = True
    for line, number in [(line, _find(rest, line)) for line in lines]:
        wanted = line.wanted(base)
        current = twilio_api.settings(number)
        changes = [name for name in twilio_api.FIELDS if current[name] != wanted[name]]
        title = f"{line.role} {line.number} ({number.sid})"
        count = f"{len(changes)} setting{'s' * (len(changes) != 1)} to change"
        click.echo(f"{title}: {count if changes else 'as wanted, nothing to change'}")
        width = max(map(len, twilio_api.FIELDS))
        for name in twilio_api.FIELDS:
            if name in changes:
                click.echo(f"  {name:<{width}}  {current[name] or '(none)'}  →  {wanted[name]}")
            elif report_all:
                click.echo(f"  {name:<{width}}  {current[name]}")
        elsewhere = twilio_api.bound_elsewhere(number)
        if elsewhere:
            click.echo(f"  warning: {elsewhere}", err=True)
        good = good and not elsewhere and not (report_all and changes)
        if apply and changes:
            if twilio_api.update(rest, number, wanted) != wanted:
                raise click.ClickException(f"Twilio did not keep the settings of {title}: run it again")
            click.echo(f"{title}: changed {', '.join(changes)}")
    return good


def _find(rest: Any, line: Line) -> Any:
    """The account's IncomingPhoneNumber for a line; a clear error when the account has no such number."""
    number = twilio_api.lookup(rest, line.number)
    if number is None:
        raise click.ClickException(
            f"the {line.role} {line.number} is not a number of account {rest.account_sid}: buy or port it in "
            f"the Twilio console (Phone Numbers), or give the right one with --{line.role.replace(' ', '-')}"
        )
    return number


def _lines(hotline: str | None, agent_line: str | None) -> list[Line]:
    """The numbers to look at: the options, else the flow's `numbers:` section."""
    if hotline is None or agent_line is None:
        numbers = loaded_flow().bundle.flow.numbers
        hotline = hotline or numbers.hotline
        agent_line = agent_line or numbers.agent_line
    if hotline is None:
        raise click.UsageError('no hotline number: set numbers.hotline in flows.yaml (e.g. "+81120701675")')
    if hotline == agent_line:
        raise click.UsageError("the agent line is the hotline's own number: give the agents their own number")
    lines = [Line("hotline", hotline, "/voice")]
    if agent_line is not None:
        lines.append(Line("agent line", agent_line, "/voice/agent-line"))
    return lines


def _base_url() -> str:
    """PUBLIC_BASE_URL, refused when Twilio could not reach it."""
    base = str(current_app.config["PUBLIC_BASE_URL"])
    parts = urlsplit(base)
    if parts.scheme != "https" or parts.hostname in LOCAL:
        raise click.UsageError(
            f"PUBLIC_BASE_URL is {base}, which Twilio cannot call: set it to this service's public "
            "https origin, e.g. PUBLIC_BASE_URL=https://ivr.example.jp"
        )
    return base
