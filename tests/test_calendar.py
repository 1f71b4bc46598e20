"""Tests for ivr.calendar: opening hours, holidays, ops overrides and next_opening."""

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.flow.calendar import BusinessCalendar, CalendarStatus, OpeningHours, default_weekly

TOKYO = ZoneInfo("Asia/Tokyo")
UTC = datetime.UTC

# Weekdays checked with datetime.date(...).strftime("%A") before use.
WED = datetime.date(2026, 11, 4)  # Wednesday, ordinary working day
FRI = datetime.date(2026, 11, 6)  # Friday
SAT = datetime.date(2026, 11, 7)  # Saturday
SUN = datetime.date(2026, 11, 8)  # Sunday
MON = datetime.date(2026, 11, 9)  # Monday, ordinary working day
BUNKA = datetime.date(2026, 11, 3)  # Tuesday, 文化の日
FURIKAE = datetime.date(2026, 5, 6)  # Wednesday, 振替休日 for 憲法記念日 on Sunday 5/3
KOKUMIN = datetime.date(2026, 9, 22)  # Tuesday, 国民の休日 between 敬老の日 and 秋分の日
NYE = datetime.date(2026, 12, 31)  # Thursday

SAT_HOURS = OpeningHours(datetime.time(10, 0), datetime.time(14, 0))


def tokyo(day: datetime.date, hour: int, minute: int = 0, second: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute, second), tzinfo=TOKYO)


def cal(**overrides: object) -> BusinessCalendar:
    return BusinessCalendar(weekly=default_weekly(), **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (tokyo(WED, 8, 59), CalendarStatus(False, "before_hours")),
        (tokyo(WED, 8, 59, 59), CalendarStatus(False, "before_hours")),
        (tokyo(WED, 9, 0), CalendarStatus(True, "open")),
        (tokyo(WED, 16, 59), CalendarStatus(True, "open")),
        (tokyo(WED, 16, 59, 59), CalendarStatus(True, "open")),
        (tokyo(WED, 17, 0), CalendarStatus(False, "after_hours")),
        (tokyo(WED, 0, 0), CalendarStatus(False, "before_hours")),
        (tokyo(WED, 23, 59), CalendarStatus(False, "after_hours")),
        (tokyo(SAT, 10, 0), CalendarStatus(False, "weekend_or_closed_day")),
        (tokyo(SUN, 10, 0), CalendarStatus(False, "weekend_or_closed_day")),
        (tokyo(BUNKA, 10, 0), CalendarStatus(False, "national_holiday", "文化の日")),
        (tokyo(FURIKAE, 10, 0), CalendarStatus(False, "national_holiday", "振替休日")),
        (tokyo(KOKUMIN, 10, 0), CalendarStatus(False, "national_holiday", "国民の休日")),
        (tokyo(NYE, 10, 0), CalendarStatus(False, "bank_holiday")),
        # 1/1 is also 元日: the bank holiday rule comes first.
        (tokyo(datetime.date(2027, 1, 1), 10, 0), CalendarStatus(False, "bank_holiday")),
        (tokyo(datetime.date(2027, 1, 3), 10, 0), CalendarStatus(False, "bank_holiday")),  # Sunday
        (tokyo(datetime.date(2028, 1, 3), 10, 0), CalendarStatus(False, "bank_holiday")),  # Monday
        (tokyo(datetime.date(2026, 12, 30), 10, 0), CalendarStatus(True, "open")),  # Wednesday
        (tokyo(datetime.date(2027, 1, 4), 9, 0), CalendarStatus(True, "open")),  # Monday
    ],
    ids=[
        "weekday-0859-before",
        "weekday-085959-before",
        "weekday-0900-open",
        "weekday-1659-open",
        "weekday-165959-open",
        "weekday-1700-after",
        "weekday-midnight-before",
        "weekday-2359-after",
        "saturday-closed",
        "sunday-closed",
        "bunka-no-hi",
        "furikae-kyujitsu",
        "kokumin-no-kyujitsu",
        "dec31-bank-holiday",
        "jan1-bank-beats-national",
        "jan3-sunday-bank-holiday",
        "jan3-monday-bank-holiday",
        "dec30-open",
        "jan4-open",
    ],
)
def test_status_default_calendar(at: datetime.datetime, expected: CalendarStatus) -> None:
    assert cal().status(at) == expected
    assert cal().is_open(at) is expected.open


@pytest.mark.parametrize(
    ("calendar", "at", "expected"),
    [
        (cal(closed_dates=frozenset({WED})), tokyo(WED, 10, 0), CalendarStatus(False, "ops_closed")),
        (cal(closed_dates=frozenset({WED})), tokyo(MON, 10, 0), CalendarStatus(True, "open")),
        (cal(open_dates={SAT: SAT_HOURS}), tokyo(SAT, 9, 59), CalendarStatus(False, "before_hours")),
        (cal(open_dates={SAT: SAT_HOURS}), tokyo(SAT, 10, 0), CalendarStatus(True, "open")),
        (cal(open_dates={SAT: SAT_HOURS}), tokyo(SAT, 13, 59, 59), CalendarStatus(True, "open")),
        (cal(open_dates={SAT: SAT_HOURS}), tokyo(SAT, 14, 0), CalendarStatus(False, "after_hours")),
        (cal(open_dates={SAT: SAT_HOURS}), tokyo(SUN, 10, 0), CalendarStatus(False, "weekend_or_closed_day")),
        (cal(open_dates={BUNKA: SAT_HOURS}), tokyo(BUNKA, 11, 0), CalendarStatus(True, "open")),
        (cal(open_dates={NYE: SAT_HOURS}), tokyo(NYE, 11, 0), CalendarStatus(True, "open")),
        # An open date replaces the weekday hours rather than adding to them.
        (cal(open_dates={WED: SAT_HOURS}), tokyo(WED, 9, 30), CalendarStatus(False, "before_hours")),
        (
            cal(closed_dates=frozenset({SAT}), open_dates={SAT: SAT_HOURS}),
            tokyo(SAT, 11, 0),
            CalendarStatus(False, "ops_closed"),
        ),
        (cal(emergency_closure=True), tokyo(WED, 10, 0), CalendarStatus(False, "emergency")),
        (
            cal(emergency_closure=True, open_dates={SAT: SAT_HOURS}),
            tokyo(SAT, 11, 0),
            CalendarStatus(False, "emergency"),
        ),
        (cal(bank_holidays=()), tokyo(NYE, 10, 0), CalendarStatus(True, "open")),
    ],
    ids=[
        "ops-closed-weekday",
        "ops-closed-other-day-open",
        "extra-saturday-before",
        "extra-saturday-open",
        "extra-saturday-last-second",
        "extra-saturday-after",
        "extra-saturday-not-sunday",
        "open-date-beats-national-holiday",
        "open-date-beats-bank-holiday",
        "open-date-replaces-weekday-hours",
        "ops-closed-beats-open-date",
        "emergency-weekday",
        "emergency-beats-open-date",
        "no-bank-holidays",
    ],
)
def test_status_overrides(
    calendar: BusinessCalendar, at: datetime.datetime, expected: CalendarStatus
) -> None:
    assert calendar.status(at) == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime.datetime(2026, 11, 4, 1, 0, tzinfo=UTC), CalendarStatus(True, "open")),
        (datetime.datetime(2026, 11, 4, 8, 0, tzinfo=UTC), CalendarStatus(False, "after_hours")),
        # 23:30 UTC on the holiday is 08:30 the next (working) day in Tokyo.
        (datetime.datetime(2026, 11, 3, 23, 30, tzinfo=UTC), CalendarStatus(False, "before_hours")),
        (
            datetime.datetime(2026, 11, 4, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=9))),
            CalendarStatus(True, "open"),
        ),
    ],
    ids=["utc-1000-jst-open", "utc-1700-jst-after", "utc-date-differs", "fixed-offset-plus9"],
)
def test_status_converts_to_tokyo(at: datetime.datetime, expected: CalendarStatus) -> None:
    assert cal().status(at) == expected


@pytest.mark.parametrize(
    "method",
    [BusinessCalendar.status, BusinessCalendar.is_open, BusinessCalendar.next_opening],
    ids=["status", "is_open", "next_opening"],
)
def test_naive_datetime_rejected(method: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        method(cal(), datetime.datetime(2026, 11, 4, 10, 0))  # type: ignore[operator]


@pytest.mark.parametrize(
    ("calendar", "at", "expected"),
    [
        (cal(), tokyo(FRI, 17, 0), tokyo(MON, 9, 0)),
        (cal(), tokyo(datetime.date(2026, 12, 30), 18, 0), tokyo(datetime.date(2027, 1, 4), 9, 0)),
        (cal(), tokyo(WED, 7, 0), tokyo(WED, 9, 0)),
        (cal(), tokyo(WED, 10, 30), tokyo(WED, 10, 30)),
        (cal(), tokyo(datetime.date(2026, 11, 2), 17, 0), tokyo(WED, 9, 0)),  # Monday -> skips 文化の日
        (cal(), datetime.datetime(2026, 11, 6, 8, 0, tzinfo=UTC), tokyo(MON, 9, 0)),  # Fri 17:00 JST
        (cal(open_dates={SAT: SAT_HOURS}), tokyo(FRI, 17, 0), tokyo(SAT, 10, 0)),
        (cal(closed_dates=frozenset({MON})), tokyo(FRI, 17, 0), tokyo(datetime.date(2026, 11, 10), 9, 0)),
        (cal(emergency_closure=True), tokyo(WED, 10, 0), None),
        (BusinessCalendar(weekly={}), tokyo(WED, 10, 0), None),
    ],
    ids=[
        "friday-close-to-monday",
        "dec30-evening-to-jan4",
        "early-morning-same-day",
        "already-open-returns-at",
        "skips-national-holiday",
        "utc-input",
        "extra-open-saturday",
        "skips-ops-closed-monday",
        "emergency-none",
        "never-open-none",
    ],
)
def test_next_opening(
    calendar: BusinessCalendar, at: datetime.datetime, expected: datetime.datetime | None
) -> None:
    result = calendar.next_opening(at)
    assert result == expected
    if result is not None:
        assert result.tzinfo == TOKYO
        assert calendar.is_open(result)


@pytest.mark.parametrize(
    ("days_ahead", "found"), [(60, True), (61, False)], ids=["day-60-found", "day-61-beyond-search"]
)
def test_next_opening_searches_60_days(days_ahead: int, found: bool) -> None:
    only_day = WED + datetime.timedelta(days=days_ahead)
    calendar = BusinessCalendar(weekly={}, open_dates={only_day: SAT_HOURS})
    expected = tokyo(only_day, 10, 0) if found else None
    assert calendar.next_opening(tokyo(WED, 10, 0)) == expected


@pytest.mark.parametrize(
    ("calendar", "day", "expected"),
    [
        (cal(), WED, OpeningHours(datetime.time(9, 0), datetime.time(17, 0))),
        (cal(), SAT, None),
        (cal(), BUNKA, None),
        (cal(), NYE, None),
        (cal(open_dates={SAT: SAT_HOURS}), SAT, SAT_HOURS),
        (cal(emergency_closure=True), WED, None),
    ],
    ids=["weekday", "saturday", "national-holiday", "bank-holiday", "extra-open-day", "emergency"],
)
def test_hours_on(calendar: BusinessCalendar, day: datetime.date, expected: OpeningHours | None) -> None:
    assert calendar.hours_on(day) == expected


@pytest.mark.parametrize(
    ("open_", "close"),
    [(datetime.time(17, 0), datetime.time(9, 0)), (datetime.time(9, 0), datetime.time(9, 0))],
    ids=["reversed", "empty"],
)
def test_opening_hours_rejects_bad_window(open_: datetime.time, close: datetime.time) -> None:
    with pytest.raises(ValueError, match="before close"):
        OpeningHours(open_, close)


def test_unknown_timezone_rejected_at_construction() -> None:
    with pytest.raises(ZoneInfoNotFoundError, match="Nowhere/City"):
        BusinessCalendar(weekly=default_weekly(), timezone="Nowhere/City")


@given(
    st.datetimes(
        min_value=datetime.datetime(2025, 1, 1),
        max_value=datetime.datetime(2028, 12, 31),
        timezones=st.sampled_from([TOKYO, UTC]),
    )
)
def test_next_opening_is_consistent_with_is_open(at: datetime.datetime) -> None:
    calendar = cal()
    result = calendar.next_opening(at)
    assert result is not None
    assert result >= at
    assert calendar.is_open(result)
    assert (result == at) is calendar.is_open(at)
