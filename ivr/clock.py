"""The current instant, injectable so tests and `ivr simulate --at` choose it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from flask import Flask, current_app

from ivr.store.tables import utc

Clock = Callable[[], dt.datetime]
_EPOCH = dt.datetime(1970, 1, 1)


def system_clock() -> dt.datetime:
    """The real time, timezone-aware."""
    return dt.datetime.now(dt.UTC)


def from_stamp(stamp_ns: int) -> dt.datetime:
    """A stamp (nanoseconds since the epoch, UTC) as the naive UTC the store holds, to the microsecond."""
    # the epoch plus positional microseconds: cheaper than datetime.replace, which parses its keywords
    return _EPOCH + dt.timedelta(0, 0, stamp_ns // 1000)


def stamp_of(instant: dt.datetime) -> int:
    """An aware instant as a stamp: nanoseconds since the epoch, UTC (microsecond precision)."""
    since = utc(instant) - _EPOCH
    return ((since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds) * 1000


def now(app: Flask | None = None) -> dt.datetime:
    """The app's notion of now (the current app's, unless the caller already holds it)."""
    clock: Clock = (app or current_app).extensions["ivr.clock"]
    return clock()


def stamp(app: Flask | None = None) -> int:
    """The app's now as a stamp (the current app's, unless the caller holds it): see from_stamp.

    The journal notes this on the request thread and makes the datetime of it in its writer, because
    time.time_ns is one C call where building a datetime in a webhook's cold code is not.
    """
    clock: Callable[[], int] = (app or current_app).extensions["ivr.utc_stamp"]
    return clock()


def init_app(app: Flask) -> None:
    """Use IVR_CLOCK when a test sets one, else the system clock."""
    clock: Clock = app.config.get("IVR_CLOCK") or system_clock
    app.extensions["ivr.clock"] = clock
    if clock is system_clock:
        app.extensions["ivr.utc_stamp"] = time.time_ns
    else:
        app.extensions["ivr.utc_stamp"] = lambda: stamp_of(clock())
