"""Twilio's voice webhooks: a new call, key presses, agent transfer and its outcome, status callbacks."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr import call, journal
from ivr.render import Reason, Renderer, minimal_fallback
from ivr.security import protect
from ivr.state import Loaded, get_state

bp = Blueprint("voice", __name__, url_prefix="/voice")
protect(bp)
log = logging.getLogger("ivr.voice")
DIAL_OUTCOMES: dict[str, Reason] = {
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "canceled",
}


def _agent_or_hours(loaded: Loaded, path: str) -> str:
    renderer: Renderer = loaded.renderer
    status = call.status(loaded)
    if status.open:
        call.note("agent", p=path)
        return renderer.agent(path)
    call.note("agent-closed", p=path, reason=status.reason)
    return renderer.node(path, call.closed_reason(status))


def _final(loaded: Loaded, path: str) -> str:
    """After too many misses: a person in hours, else the hours and goodbye."""
    status = call.status(loaded)
    if status.open:
        return loaded.renderer.agent(path)
    return loaded.renderer.goodbye(call.closed_reason(status))


@bp.post("")
def incoming() -> Response:
    """A call comes in: announcement, greeting and the start menu."""
    loaded = call.loaded()
    if loaded is None:
        return call.twiml(minimal_fallback())
    call.note("incoming")
    journal.heard(loaded, "")
    return call.twiml(loaded.renderer.welcome())


@bp.post("/node")
def node() -> Response:
    """Play the menu or answer at a position (used by redirects)."""
    loaded = call.loaded()
    if loaded is None:
        return call.twiml(minimal_fallback())
    journal.heard(loaded, call.position(loaded))
    return call.twiml(loaded.renderer.node(call.position(loaded)))


@bp.post("/key")
def key() -> Response:
    """A key was pressed (or none: the Gather timed out and redirected here without Digits)."""
    loaded = call.loaded()
    if loaded is None:
        return call.twiml(minimal_fallback())
    flow, renderer = loaded.bundle.flow, loaded.renderer
    path, no_input, invalid = call.position(loaded), call.count("n"), call.count("x")
    digits = request.form.get("Digits", "").strip()
    keys = flow.keys
    _, answer = flow.walk(path)
    if not digits:
        if no_input + 1 > flow.input.max_no_input:
            call.note("no-input-final", p=path)
            return call.twiml(_final(loaded, path))
        return call.twiml(renderer.node(path, "no_input", no_input + 1, invalid))
    call.note("key", p=path, digits=digits[:4])
    if digits == keys.agent:
        return call.twiml(_agent_or_hours(loaded, path))
    if digits == keys.repeat or path != call.raw_position():
        # the menu the caller heard was edited away: the key meant something there, not here,
        # so play the menu that survives instead of guessing
        journal.heard(loaded, path)
        return call.twiml(renderer.node(path))
    if digits == keys.back and path:
        journal.heard(loaded, path[:-1])
        return call.twiml(renderer.node(path[:-1]))
    if answer is not None and digits == keys.main_menu:
        journal.heard(loaded, "")
        return call.twiml(renderer.node(""))
    if answer is None and len(digits) == 1 and flow.walk(path)[0][-1].option(digits) is not None:
        journal.heard(loaded, path + digits)
        return call.twiml(renderer.node(path + digits))
    if invalid + 1 > flow.input.max_invalid:
        call.note("invalid-final", p=path)
        return call.twiml(_final(loaded, path))
    return call.twiml(renderer.node(path, "invalid", no_input, invalid + 1))


@bp.post("/agent")
def agent() -> Response:
    """Put the caller through to a person in hours; otherwise read the hours and return to the menu."""
    loaded = call.loaded()
    if loaded is None:
        return call.twiml(minimal_fallback())
    return call.twiml(_agent_or_hours(loaded, call.position(loaded)))


@bp.post("/agent/done")
def agent_done() -> Response:
    """The <Dial> ended: after a conversation say goodbye; otherwise apologise and return to the menu."""
    loaded = call.loaded()
    if loaded is None:
        return call.twiml(minimal_fallback())
    outcome = request.form.get("DialCallStatus", "")
    path = call.position(loaded)
    call.note("agent-done", p=path, outcome=outcome[:20])
    if outcome == "completed":
        return call.twiml(loaded.renderer.goodbye())
    return call.twiml(loaded.renderer.node(path, DIAL_OUTCOMES.get(outcome, "failed")))


@bp.post("/status")
def status() -> Response:
    """Call status callback: recorded (number masked), nothing to say back."""
    call.note(
        "status",
        status=request.form.get("CallStatus", "-")[:20],
        duration=request.form.get("CallDuration", "-")[:8],
    )
    return call.twiml(str(VoiceResponse()))


@bp.post("/fallback")
def fallback() -> Response:
    """Twilio's fallback URL: a static apology that needs neither audio nor a readable flow file."""
    loaded = get_state().loaded
    call.note("fallback", error=request.form.get("ErrorCode", "-")[:10])
    return call.twiml(loaded.renderer.fallback() if loaded else minimal_fallback())


@bp.post("/<path:anything>")
def unknown(anything: str) -> Response:
    """An internal URL that does not exist (an old call after a deploy): back to the start menu."""
    loaded = call.loaded()
    return call.twiml(loaded.renderer.node("") if loaded else minimal_fallback())


def warm(app: Flask) -> None:
    """Do at start what the first caller pressing 0 would otherwise wait for.

    The first business-hours check builds the year's holiday table: about 130 ms and 8 MB per worker
    on a small machine. Built here, the first transfer is as fast as the others and a worker's memory
    after start is what it keeps (bench/soak measures its growth from there).
    """
    with app.app_context():
        loaded = get_state().loaded
        try:
            if loaded is not None:
                call.status(loaded)
        except Exception:  # only a head start: the start must not fail where a call would not
            log.exception("building the holiday table at start failed; the first call will try again")


def init_app(app: Flask, *, serving: bool) -> None:
    """Register the voice webhooks; when serving calls, build the holiday table before the first one."""
    app.register_blueprint(bp)
    if serving:  # ops commands (synth, check) would only pay its 0.2 s start-up
        warm(app)
