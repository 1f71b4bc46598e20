"""Business calendar for the hotline: opening hours, holidays and ops overrides, in Asia/Tokyo."""

import datetime
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays

# Days searched by next_opening; a longer closure than this is treated as "no known reopening".
_SEARCH_DAYS = 60


@dataclass(frozen=True)
class OpeningHours:
    """One opening window in a day; close is exclusive."""

    open: datetime.time
    close: datetime.time

    def __post_init__(self) -> None:
        if self.open.tzinfo is not None or self.close.tzinfo is not None:
            raise ValueError("OpeningHours times must be naive local times")
        if not self.open < self.close:
            raise ValueError(f"OpeningHours open {self.open} must be before close {self.close}")


@dataclass(frozen=True)
class CalendarStatus:
    """Whether the hotline is open at an instant, and why."""

    open: bool
    reason: str
    holiday_name: str | None = None


def default_weekly() -> dict[int, OpeningHours | None]:
    """Return Mon-Fri 9:00-17:00 with Saturday and Sunday closed."""
    weekday = OpeningHours(datetime.time(9, 0), datetime.time(17, 0))
    return {0: weekday, 1: weekday, 2: weekday, 3: weekday, 4: weekday, 5: None, 6: None}


@functools.lru_cache(maxsize=32)
def _jp_holidays(year: int) -> holidays.HolidayBase:
    """Return the Japanese national holidays of one year, built once per process."""
    # expand=False keeps the cached object immutable, so concurrent lookups never repopulate it.
    return holidays.country_holidays("JP", language="ja", years=year, expand=False)


def national_holiday_name(day: datetime.date) -> str | None:
    """Return the Japanese name of the national holiday on day, or None."""
    name: str | None = _jp_holidays(day.year).get(day)
    return name


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly hours plus holidays and ops overrides, evaluated in one timezone."""

    weekly: Mapping[int, OpeningHours | None]
    bank_holidays: tuple[tuple[int, int], ...] = ((12, 31), (1, 1), (1, 2), (1, 3))
    closed_dates: frozenset[datetime.date] = frozenset()
    open_dates: Mapping[datetime.date, OpeningHours] = field(default_factory=dict)
    emergency_closure: bool = False
    timezone: str = "Asia/Tokyo"

    def __post_init__(self) -> None:
        # Fail at config load rather than on the first call.
        ZoneInfo(self.timezone)

    def status(self, at: datetime.datetime) -> CalendarStatus:
        """Return whether the hotline is open at the aware instant at, with the reason."""
        local = self._localize(at)
        hours, reason, holiday_name = self._day_rule(local.date())
        if hours is None:
            return CalendarStatus(open=False, reason=reason, holiday_name=holiday_name)
        now = local.time()
        if now < hours.open:
            return CalendarStatus(open=False, reason="before_hours")
        if now >= hours.close:
            return CalendarStatus(open=False, reason="after_hours")
        return CalendarStatus(open=True, reason="open")

    def is_open(self, at: datetime.datetime) -> bool:
        """Return True when the hotline is open at the aware instant at."""
        return self.status(at).open

    def hours_on(self, day: datetime.date) -> OpeningHours | None:
        """Return the opening hours on a local date, or None when closed all day."""
        return self._day_rule(day)[0]

    def opening_times(self) -> list[datetime.time]:
        """Every time of day the line opens at, in the weekly hours or on an extra open day, sorted."""
        hours = [*self.weekly.values(), *self.open_dates.values()]
        return sorted({h.open for h in hours if h is not None})

    def next_opening(self, at: datetime.datetime) -> datetime.datetime | None:
        """Return the first instant >= at when open (in self.timezone), or None within 60 days."""
        local = self._localize(at)
        if self.emergency_closure:
            return None
        tz = ZoneInfo(self.timezone)
        for offset in range(_SEARCH_DAYS + 1):
            day = local.date() + datetime.timedelta(days=offset)
            hours = self.hours_on(day)
            if hours is None:
                continue
            start = datetime.datetime.combine(day, hours.open, tzinfo=tz)
            end = datetime.datetime.combine(day, hours.close, tzinfo=tz)
            if local < end:
                return max(start, local)
        return None

    def _localize(self, at: datetime.datetime) -> datetime.datetime:
        # A naive time is ambiguous (server clocks run in UTC), so refuse it instead of guessing.
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"BusinessCalendar needs a timezone-aware datetime, got naive {at.isoformat()}")
        return at.astimezone(ZoneInfo(self.timezone))

    def _day_rule(self, day: datetime.date) -> tuple[OpeningHours | None, str, str | None]:
        """Return (hours, closed reason, holiday name) for a local date, applying the precedence."""
        if self.emergency_closure:
            return None, "emergency", None
        if day in self.closed_dates:
            return None, "ops_closed", None
        extra = self.open_dates.get(day)
        if extra is not None:
            return extra, "open", None
        if (day.month, day.day) in self.bank_holidays:
            return None, "bank_holiday", None
        holiday_name = national_holiday_name(day)
        if holiday_name is not None:
            return None, "national_holiday", holiday_name
        hours = self.weekly.get(day.weekday())
        if hours is None:
            return None, "weekend_or_closed_day", None
        return hours, "open", None
