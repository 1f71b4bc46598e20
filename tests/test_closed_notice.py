"""The closed notice is composed from the calendar: why the line is closed now and when it opens next."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import TOKYO, FixedClock, bundle_of, make_app
from ivr.call.availability import availability
from ivr.flow.bundle import Bundle


def flow_with(files: Path, clock: FixedClock, **hours: Any) -> Bundle:
    """The bundle of the shipped flow with some `hours:` fields replaced."""
    path = files / "flows.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    data["hours"].update(hours)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return bundle_of(make_app(files, clock))


def said(bundle: Bundle, at: dt.datetime) -> str:
    """What a caller pressing 0 at that instant hears before the menu."""
    now = availability(bundle.flow, at)
    assert not now.open
    return "".join(bundle.prompts[p].text for p in now.notice)


def at(day: str, hour: int, minute: int = 0) -> dt.datetime:
    """An instant in Tokyo."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=TOKYO)


SATURDAY_OPEN = {"sat": "10:00-15:30"}
CASES = [
    # (hours overrides, instant, what is said)
    ({}, at("2026-11-25", 8, 15), "ただいまの時間は、受付時間外です。次の受付は、本日の9時からです。"),
    ({}, at("2026-11-27", 18), "本日の受付は終了いたしました。次の受付は、11月30日月曜日の9時からです。"),
    (
        {},
        at("2026-11-28", 11),
        "本日は、定休日のため、お休みをいただいております。次の受付は、11月30日月曜日の9時からです。",
    ),
    (
        {"weekly": SATURDAY_OPEN},
        at("2026-11-27", 18),
        "本日の受付は終了いたしました。次の受付は、11月28日土曜日の10時からです。",
    ),
    (
        {"open_dates": {dt.date(2026, 11, 28): "13:30-16:00"}},
        at("2026-11-27", 18),
        "本日の受付は終了いたしました。次の受付は、11月28日土曜日の13時30分からです。",
    ),
    (
        {"closed_dates": [dt.date(2026, 11, 30)]},
        at("2026-11-30", 10),
        "本日は、臨時休業とさせていただいております。次の受付は、12月1日火曜日の9時からです。",
    ),
    (
        {},
        at("2026-11-23", 10),
        "本日は、祝日のため、お休みをいただいております。次の受付は、11月24日火曜日の9時からです。",
    ),
    (
        {},
        at("2026-12-31", 10),
        "年末年始のため、お休みをいただいております。次の受付は、1月4日月曜日の9時からです。",
    ),
    ({"emergency_closure": True}, at("2026-11-25", 10), None),
]
IDS = [
    "before-hours",
    "friday-evening",
    "saturday",
    "saturday-open",
    "extra-open-day",
    "ops-closed-monday",
    "labour-thanksgiving",
    "new-year",
    "emergency",
]


@pytest.mark.parametrize(("hours", "instant", "expected"), CASES, ids=IDS)
def test_the_notice_is_true_for_the_flow(
    files: Path, clock: FixedClock, hours: dict[str, Any], instant: dt.datetime, expected: str | None
) -> None:
    if "weekly" in hours:
        weekly = yaml.safe_load((files / "flows.yaml").read_text("utf-8"))["hours"]["weekly"]
        hours = {**hours, "weekly": {**weekly, **hours["weekly"]}}
    bundle = flow_with(files, clock, **hours)
    if expected is None:
        expected = bundle.prompts[bundle.flow.emergency_prompt].text
    assert said(bundle, instant) == expected


def test_every_piece_the_notice_can_name_has_a_prompt(files: Path, clock: FixedClock) -> None:
    bundle = flow_with(
        files, clock, weekly={**{d: "9:00-17:00" for d in ("mon", "tue")}, "wed": "8:45-12:00"}
    )
    for offset in range(0, 400, 7):
        for hour in (0, 8, 12, 18):
            instant = at("2026-11-25", hour) + dt.timedelta(days=offset)
            now = availability(bundle.flow, instant)
            assert all(p in bundle.prompts for p in now.notice), (instant, now.notice)


def test_the_first_of_the_month_is_read_tsuitachi(app: Any) -> None:
    prompts = bundle_of(app).prompts
    assert (prompts["date.1"].text, prompts["date.1"].speech) == ("1日", "ついたち")
    assert prompts["date.11"].speech == "11日"
