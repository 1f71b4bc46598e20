"""What a webhook reads from Twilio's request (position, counters, the instant) and the masked call log."""

from __future__ import annotations

import logging
from typing import Literal

from flask import Response, request

from ivr import clock, journal
from ivr.calendar import CalendarStatus
from ivr.flow.model import MAX_PATH
from ivr.privacy import mask_number
from ivr.render import MAX_COUNT, resolve
from ivr.state import Loaded, get_state

log = logging.getLogger("ivr.call")


def twiml(body: str) -> Response:
    """A TwiML response as Twilio wants it."""
    return Response(body, status=200, mimetype="text/xml")


def loaded() -> Loaded | None:
    """The flow serving this request (reloaded first if its files changed), or None before any loaded."""
    return get_state().current()


def count(name: str) -> int:
    """A miss counter from the query; anything but a small number counts as 0."""
    value = request.args.get(name, "0")
    return min(int(value), MAX_COUNT) if value.isdigit() and len(value) < 3 else 0


def raw_position() -> str:
    """The caller's key path as the URL carries it (bounded, ASCII only)."""
    raw = request.args.get("p", "")
    return raw[:MAX_PATH] if raw.isascii() else ""


def position(current: Loaded) -> str:
    """The caller's key path, shortened to what still exists in the current flow."""
    return resolve(current.bundle.flow, raw_position())


def status(current: Loaded) -> CalendarStatus:
    """Open or closed right now, and why."""
    return current.bundle.flow.calendar.status(clock.now())


def closed_reason(found: CalendarStatus) -> Literal["closed", "emergency"]:
    """Which closed message applies: the emergency closure's own, or the hours."""
    return "emergency" if found.reason == "emergency" else "closed"


def note(event: str, **fields: object) -> None:
    """One call-log line; the caller's number masked."""
    caller = mask_number(request.form.get("From"))
    extra = " ".join(f"{k}={v}" for k, v in fields.items())
    log.info("%s call=%s from=%s %s", event, request.form.get("CallSid", "-")[:40], caller, extra)
    journal.record(event, fields)
