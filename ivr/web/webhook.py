"""What a webhook reads from Twilio's request (position, counters, the hour, when a person was asked for)
and the flow guard."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping

from flask import Response, request

from ivr import clock
from ivr.call.availability import Availability, availability
from ivr.call.navigate import MAX_COUNT, resolve
from ivr.call.render import minimal_fallback
from ivr.flow.model import MAX_PATH
from ivr.state import Loaded, get_state
from ivr.store.tables import utc
from ivr.web.form import whole_number


def twiml(body: str) -> Response:
    """A TwiML response as Twilio wants it."""
    return Response(body, status=200, mimetype="text/xml")


def with_flow(view: Callable[[Loaded], Response]) -> Callable[[], Response]:
    """Give the view the flow serving this request (reloaded if edited); none loaded: hang up cleanly."""

    @functools.wraps(view)
    def guarded() -> Response:
        loaded = get_state().current()
        if loaded is None:
            return twiml(minimal_fallback())
        return view(loaded)

    return guarded


def count(name: str, limit: int = MAX_COUNT, args: Mapping[str, str] | None = None) -> int:
    """A small counter from the query (misses, tries), at most `limit`; anything else counts as 0.

    `args`: the query when the view already holds it (each `request` lookup costs).
    """
    value = (request.args if args is None else args).get(name, "0")
    return min(whole_number(value, 2) or 0, limit)


def raw_position(args: Mapping[str, str] | None = None) -> str:
    """The caller's key path as the URL carries it (bounded, ASCII only)."""
    raw = (request.args if args is None else args).get("p", "")
    return raw[:MAX_PATH] if raw.isascii() else ""


def position(current: Loaded) -> str:
    """The caller's key path, shortened to what still exists in the current flow."""
    return resolve(current.bundle.flow, raw_position())


def hours(current: Loaded) -> Availability:
    """Open or closed right now; when closed, why and when the line opens next."""
    return availability(current.bundle.flow, clock.now())


def now_s() -> int:
    """The app's clock as Unix seconds (what the URLs carry as `t`)."""
    return int(clock.now().timestamp())


def asked() -> int:
    """When the caller first asked for a person, as carried in the URL (`t`); now when missing or absurd."""
    value, now = whole_number(request.args.get("t", ""), 12), now_s()
    return value if value is not None and now - 86400 < value <= now + 60 else now


def asked_at() -> dt.datetime:
    """`asked()` as the naive UTC the tables hold."""
    return dt.datetime.fromtimestamp(asked(), dt.UTC).replace(tzinfo=None)


def naive_now() -> dt.datetime:
    """The app's clock as naive UTC."""
    return utc(clock.now())


def flag(name: str) -> int:
    """A 0/1 flag from the query."""
    return 1 if request.args.get(name) == "1" else 0
