"""`flask --app app ivr db upgrade`, `ivr report` and `ivr purge`: the journal's ops commands."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ivr import clock
from ivr.state import get_state
from ivr.store import extension as store
from ivr.store import migrate, reservations
from ivr.store import report as reports
from ivr.store.tables import utc

_AGE = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")
_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


def _database_failed(error: SQLAlchemyError) -> click.ClickException:
    url = store.engine().url.render_as_string(hide_password=True)
    return click.ClickException(f"database {url}: {str(error).splitlines()[0]}")


@click.group("db")
def db() -> None:
    """The journal's database."""


@db.command("upgrade")
@with_appcontext
def upgrade() -> None:
    """Create or migrate the tables to what this code needs (running it again changes nothing)."""
    try:
        before, after = migrate.upgrade(store.engine())
    except SQLAlchemyError as error:
        raise _database_failed(error) from error
    shown = store.engine().url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"{shown}: already at revision {after}")
    else:
        click.echo(f"{shown}: migrated from {before or 'empty'} to {after}")


def parse_instant(text: str | None, *, end: bool) -> dt.datetime | None:
    """YYYY-MM-DD (a Tokyo day: --to includes the whole day) or an ISO time (Tokyo unless it says)."""
    if not text:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = dt.datetime.fromisoformat(text).replace(tzinfo=reports.TOKYO)
            return day + dt.timedelta(days=1) if end else day
        found = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise click.BadParameter(f"{text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from error
    return found if found.tzinfo else found.replace(tzinfo=reports.TOKYO)


def table(figures: dict[str, Any]) -> str:
    """The report as aligned text for people."""
    lines = [f"calls {figures['calls']}   from {figures['from'] or '-'} to {figures['to'] or '-'}"]
    rate = figures["deflection_rate"]
    lines.append(f"deflected {figures['deflected']} ({rate:.0%})" if rate is not None else "deflected 0")
    requests = figures["agent_requests"]
    lines.append(f"agent requests: in hours {requests['in_hours']}, out of hours {requests['out_of_hours']}")
    first = figures["seconds_to_first_answer"]
    lines.append(f"seconds to the first answer: median {first['median']}, mean {first['mean']}")
    lines.append(f"callers {figures['callers']}, repeat callers {figures['repeat_callers']}")
    for section in ("calls_per_day", "calls_per_hour", "answers", "transfers", "hangups"):
        lines.append(f"\n{section.replace('_', ' ')}:")
        width = max((len(k) for k in figures[section]), default=0)
        lines.extend(f"  {key:<{width}}  {value:>6}" for key, value in figures[section].items())
    return "\n".join(lines)


def _flat(key: str, value: object) -> list[tuple[str, object]]:
    """Nested figures as dotted keys (queue → wait_s.median); lists as JSON in one cell."""
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flat(f"{key}.{k}" if key else str(k), v)]
    if isinstance(value, list):
        return [(key, json.dumps(value, ensure_ascii=False, default=str))]
    return [(key, value)]


def csv_rows(figures: dict[str, Any]) -> list[tuple[str, str, object]]:
    """The report as (section, key, value) rows, one figure a row."""
    return [
        (name, key, value)
        for name, section in figures.items()
        if name != "answers_ranked"
        for key, value in _flat("", section)
    ]


@click.command("report")
@click.option("--from", "start", help="first day (YYYY-MM-DD, Tokyo) or instant; default: the beginning")
@click.option("--to", "end", help="last day (included) or instant (excluded); default: now")
@click.option("--format", "form", type=click.Choice(["table", "csv", "json"]), default="table")
@with_appcontext
def report(start: str | None, end: str | None, form: str) -> None:
    """Calls, answers, deflection, agent requests, transfers, hang-ups and repeat callers."""
    try:
        figures = reports.build(store.engine(), parse_instant(start, end=False), parse_instant(end, end=True))
    except SQLAlchemyError as error:
        raise _database_failed(error) from error
    if form == "json":
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2))
    elif form == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("section", "key", "value"))
        writer.writerows(csv_rows(figures))
    else:
        click.echo(table(figures))


def parse_age(text: str) -> dt.timedelta:
    """'90d', '12h', '2w' → a duration."""
    found = _AGE.match(text)
    if not found or int(found.group(1)) == 0:
        raise click.BadParameter(f"{text!r}: say how old, e.g. 90d (days), 12h (hours) or 2w (weeks)")
    return int(found.group(1)) * _UNITS[found.group(2)]


@click.command("purge")
@click.option("--older-than", "age", help="e.g. 90d; default: IVR_RETENTION_DAYS (90) days")
@with_appcontext
def purge(age: str | None) -> None:
    """Delete calls and events older than the retention period."""
    from flask import current_app

    keep = parse_age(age) if age else dt.timedelta(days=int(current_app.config["IVR_RETENTION_DAYS"]))
    cutoff = clock.now() - keep
    loaded = get_state().loaded
    keep_numbers = loaded.bundle.flow.queue.callback_retention_days if loaded else 30
    erase_before = utc(clock.now() - dt.timedelta(days=keep_numbers))
    try:
        n_calls, n_events = reports.purge(store.engine(), cutoff)
        erased = reservations.erase_numbers(store.engine(), erase_before)
        closed = reservations.delete_closed(store.engine(), utc(cutoff))
    except SQLAlchemyError as error:
        raise _database_failed(error) from error
    click.echo(
        f"deleted {n_calls} calls and {n_events} events from before {cutoff.isoformat(timespec='seconds')}"
    )
    click.echo(
        f"erased the numbers of {erased} finished callback reservations (kept {keep_numbers} days), "
        f"deleted {closed} finished before the cutoff"
    )
