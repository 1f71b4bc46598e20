"""Open or closed at an instant; when closed, what the caller hears: why now, when the line opens next."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ivr.flow.catalog import CLOSED_PIECES, date_id, month_id, time_id, weekday_id
from ivr.flow.model import Flow


@dataclass(frozen=True)
class Availability:
    """Whether a person can be reached now; when not, the calendar's reason and the notice to play."""

    open: bool
    reason: str
    notice: tuple[str, ...] = ()  # prompt ids, in order


def next_opening(flow: Flow, at: dt.datetime) -> tuple[str, ...]:
    """「次の受付は、12月1日月曜日の9時からです。」 as prompt ids (「本日の9時から」 when it is today)."""
    calendar = flow.calendar
    opening = calendar.next_opening(at)
    if opening is None:
        return ("next.unknown",)
    today = at.astimezone(ZoneInfo(calendar.timezone)).date()
    if opening.date() == today:
        day: tuple[str, ...] = ("next.today",)
    else:
        day = (month_id(opening.month), date_id(opening.day), weekday_id(opening.weekday()))
    return ("next.intro", *day, "next.at", time_id(opening.time()), "next.end")


def availability(flow: Flow, at: dt.datetime) -> Availability:
    """Open now, or closed with why (受付時間外, 定休日, 祝日, 年末年始, 臨時休業) and the next opening."""
    status = flow.calendar.status(at)
    if status.open:
        return Availability(True, status.reason)
    if status.reason == "emergency":
        return Availability(False, status.reason, (flow.emergency_prompt,))
    why = CLOSED_PIECES.get(status.reason, CLOSED_PIECES["weekend_or_closed_day"])
    return Availability(False, status.reason, (why, *next_opening(flow, at)))
