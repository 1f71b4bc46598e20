"""The `hours:` section of flows.yaml: weekly hours, holidays, closed and open dates, emergency closure."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

from ivr.flow.calendar import BusinessCalendar, OpeningHours, default_weekly
from ivr.flow.fields import Section
from ivr.flow.yamlpos import Document

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_MISSING = object()


def _span(doc: Document, path: tuple[Any, ...], value: Any) -> OpeningHours | None:
    match = SPAN.match(value.strip()) if isinstance(value, str) else None
    if match:
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60 and (h1, m1) < (h2, m2):
            return OpeningHours(dt.time(h1, m1), dt.time(h2, m2))
    doc.problem(path, f"{value!r} is not an opening time span", 'write it like "9:00-17:00", or closed')
    return None


def _date(doc: Document, path: tuple[Any, ...], value: Any) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        doc.problem(path, f"{value!r} is not a date", "write it like 2026-12-28", key=isinstance(value, str))
        return None


def calendar(doc: Document) -> tuple[BusinessCalendar, str]:
    """The business calendar from the `hours:` section, and the emergency-closure prompt id."""
    sec = Section(
        doc,
        ("hours",),
        (
            "timezone",
            "weekly",
            "bank_holidays",
            "closed_dates",
            "open_dates",
            "emergency_closure",
            "emergency_prompt",
        ),
    )
    weekly: dict[int, OpeningHours | None] = dict(default_weekly())
    days = Section(doc, ("hours", "weekly"), DAYS)
    for i, day in enumerate(DAYS):
        value = days.get(day, _MISSING)
        if value is not _MISSING:
            weekly[i] = None if value in ("closed", None) else _span(doc, ("hours", "weekly", day), value)
    bank: list[tuple[int, int]] = []
    for i, value in enumerate(_list(doc, sec, "bank_holidays", ["12-31", "01-01", "01-02", "01-03"])):
        try:
            month, mday = (int(p) for p in str(value).split("-"))
            dt.date(2024, month, mday)  # a leap year, so 02-29 is accepted
            bank.append((month, mday))
        except ValueError:
            doc.problem(
                ("hours", "bank_holidays", i), f"{value!r} is not a month-day", 'write it like "12-31"'
            )
    closed = [
        _date(doc, ("hours", "closed_dates", i), v) for i, v in enumerate(_list(doc, sec, "closed_dates", []))
    ]
    opened = Section(doc, ("hours", "open_dates"), [str(k) for k in sec.get("open_dates") or {}])
    open_dates: dict[dt.date, OpeningHours] = {}
    for raw, value in opened.data.items():
        open_day, span = (
            _date(doc, ("hours", "open_dates", raw), raw),
            _span(doc, ("hours", "open_dates", raw), value),
        )
        if open_day and span:
            open_dates[open_day] = span
    timezone = sec.text("timezone", "Asia/Tokyo") or "Asia/Tokyo"
    try:
        zoneinfo.ZoneInfo(timezone)
    except (ValueError, KeyError, zoneinfo.ZoneInfoNotFoundError):
        doc.problem(("hours", "timezone"), f"unknown time zone {timezone!r}", "write timezone: Asia/Tokyo")
        timezone = "Asia/Tokyo"
    calendar = BusinessCalendar(
        weekly=weekly,
        bank_holidays=tuple(bank),
        closed_dates=frozenset(d for d in closed if d),
        open_dates=open_dates,
        emergency_closure=sec.flag("emergency_closure", False),
        timezone=timezone,
    )
    return calendar, sec.text("emergency_prompt", "emergency_closed") or "emergency_closed"


def _list(doc: Document, sec: Section, name: str, default: list[Any]) -> list[Any]:
    value = sec.get(name, default)
    if value is None:
        return []
    if not isinstance(value, list):
        doc.problem(
            (*sec.path, name),
            f"'{name}' must be a list",
            f"write each entry on its own '- ' line under {name}:",
        )
        return []
    return value
