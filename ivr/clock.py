"""The current instant, injectable so tests and `ivr simulate --at` choose it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask, current_app

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """The real time, timezone-aware."""
    return dt.datetime.now(dt.UTC)


def now(app: Flask | None = None) -> dt.datetime:
    """The app's notion of now (the current app's, unless the caller already holds it)."""
    clock: Clock = (app or current_app).extensions["ivr.clock"]
    return clock()


def init_app(app: Flask) -> None:
    """Use IVR_CLOCK when a test sets one, else the system clock."""
    app.extensions["ivr.clock"] = app.config.get("IVR_CLOCK") or system_clock
