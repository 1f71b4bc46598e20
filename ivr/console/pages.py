"""What every console page shares: the blueprint, the signed-in user, roles, the range of days asked for."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Blueprint, abort
from flask_login import current_user

from ivr import clock
from ivr.store.accounts import User
from ivr.store.report import TOKYO

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
F = TypeVar("F", bound=Callable[..., Any])
ROLE_NAMES = {"viewer": "閲覧者", "agent": "オペレーター", "admin": "管理者"}


def me() -> User:
    """The signed-in user (every console view runs after the login guard)."""
    user: User = current_user.user
    return user


def require(role: str) -> Callable[[F], F]:
    """A view only users with this role or above may open (403 for the others)."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not me().may(role):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, guarded)

    return wrap


EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)  # the days the console reports on


class BadRange(ValueError):
    """A date range the pages cannot use; the message says how to write it (in Japanese)."""


def day_range(start: str | None, end: str | None) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """The Tokyo days asked for (default: today) and the instants [from 0:00, to +1 day 0:00)."""
    today = clock.now().astimezone(TOKYO).date()
    try:
        first = dt.date.fromisoformat(start) if start else today
        last = dt.date.fromisoformat(end) if end else first if start else today
    except ValueError as error:
        raise BadRange("日付は 2026-11-25 のように書いてください") from error
    if last < first:
        raise BadRange("終了日は開始日と同じか、それより後にしてください")
    if first < EARLIEST or last > LATEST:  # beyond these, a day's Tokyo bounds leave datetime's range
        raise BadRange(f"日付は {EARLIEST} から {LATEST} までで指定してください")
    begin = dt.datetime.combine(first, dt.time(), TOKYO)
    return first, last, begin, dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), TOKYO)


def tokyo(instant: dt.datetime | None) -> str:
    """An instant as Tokyo wall time for the pages."""
    return instant.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S") if instant else "—"
