"""What a webhook reads from Twilio's request (position, counters, the hour), the flow guard, the call log."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping

from flask import Response, request

from ivr import clock
from ivr.call.hours import Availability, availability
from ivr.call.navigate import MAX_COUNT, resolve
from ivr.call.render import minimal_fallback
from ivr.flow.model import MAX_PATH
from ivr.privacy import mask_number
from ivr.state import Loaded, get_state
from ivr.web import journal
from ivr.web.fields import current_request

log = logging.getLogger("ivr.call")


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
    return min(int(value), limit) if value.isdigit() and len(value) < 3 else 0


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


def note(
    event: str, *, pressed: str = "", form: Mapping[str, str] | None = None, **fields: object
) -> Mapping[str, str]:
    """One call-log line (the caller's number masked), its metrics and its journal row; the request's form.

    `pressed`: the keys that led to the event (journal.record's). `form`: the request's, when the caller
    holds it already: each lookup through the request context costs (~4 µs in a served webhook).
    """
    form = _log_line(event, fields, form)
    journal.record(event, fields, form, pressed=pressed)
    return form


def note_without_row(
    event: str, *, form: Mapping[str, str] | None = None, **fields: object
) -> Mapping[str, str]:
    """The call-log line and the metrics of an event whose journal row is another's (one row per webhook)."""
    form = _log_line(event, fields, form)
    journal.count(event, fields)
    return form


def _log_line(event: str, fields: Mapping[str, object], form: Mapping[str, str] | None) -> Mapping[str, str]:
    """The call-log line (the caller's number masked); the request's form, read once for the journal too."""
    if form is None:
        form = current_request().form
    if log.isEnabledFor(logging.INFO):
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        caller = mask_number(form.get("From"))
        log.info(f"{event} call={form.get('CallSid', '-')[:40]} from={caller} {extra}")
    return form
