"""Twilio's voice webhooks: a new call, key presses, agent transfer and its outcome, status callbacks."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Blueprint, Flask, Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.call import navigate
from ivr.call.navigate import Step, resolve
from ivr.call.notes import heard
from ivr.call.render import minimal_fallback
from ivr.state import Loaded, get_state
from ivr.web import voice_callback, voice_queue, webhook
from ivr.web.calllog import note
from ivr.web.form import current_request
from ivr.web.signature import protect
from ivr.web.webhook import count, position, raw_position, twiml, with_flow

bp = Blueprint("voice", __name__, url_prefix="/voice")
protect(bp)
log = logging.getLogger("ivr.voice")


def answer(
    loaded: Loaded, step: Step, pressed: str = "", where: str = "", form: Mapping[str, str] | None = None
) -> Response:
    """Log what the step says happened (and the menu or answer heard from its start), then its TwiML.

    `pressed` at `where`: the keys that led to the step, journaled on its row (one row per webhook);
    on a row of their own only when the step journals nothing (an invalid key, its re-prompt).
    """
    journaled = False
    if step.event:
        form = note(step.event, pressed=pressed, form=form, p=step.path, **step.fields)
        journaled = True
    if step.kind == "node" and not step.reason:
        journaled = note_heard(loaded, step.path, pressed, where, form) or journaled
    if pressed and not journaled:  # logged and counted in key() already
        note("key", form=form, line=False, count=False, p=where, digits=pressed)
    if step.kind == "queue":  # in hours: wait in the queue for the next free agent
        return voice_queue.enqueue_or_offer(loaded, step.path)
    if step.kind == "offer":  # closed: why and when, then a callback for later
        note("callback-offer", p=step.path, reason="closed")
        return voice_callback.offer_response(loaded, step.path, webhook.now_s(), False, step.notice)
    return twiml(loaded.renderer.step(step))


def note_heard(
    loaded: Loaded,
    path: str,
    pressed: str = "",
    where: str = "",
    form: Mapping[str, str] | None = None,
    *,
    caller: bool = False,
) -> bool:
    """Journal the menu or answer heard from the start of `path` (counted, no log line); False: none there.

    `pressed`: the keys that led here, pressed at `where` (the row's position then, as a key row's).
    """
    found = heard(loaded.bundle.flow, path, where if pressed else None)
    if found is None:
        return False
    note(found.event, pressed=pressed, form=form, line=False, caller=caller, **found.fields)
    return True


@bp.post("")
@with_flow
def incoming(loaded: Loaded) -> Response:
    """A call comes in: announcement, greeting and the start menu."""
    form = note("incoming", row=False)  # the start menu's row is the call's: it brings the number
    note_heard(loaded, "", form=form, caller=True)  # the start menu always walks: the call gets its row
    return twiml(loaded.renderer.welcome())


@bp.post("/node")
@with_flow
def node(loaded: Loaded) -> Response:
    """Play the menu or answer at a position (used by redirects)."""
    path = position(loaded)
    note_heard(loaded, path)
    return twiml(loaded.renderer.node(path))


@bp.post("/key")
@with_flow
def key(loaded: Loaded) -> Response:
    """A key was pressed (or none: the Gather timed out and redirected here without Digits)."""
    req = current_request()
    args = req.args
    raw = raw_position(args)
    path = resolve(loaded.bundle.flow, raw)
    form = req.form
    digits = form.get("Digits", "").strip()
    if digits:
        note("key", form=form, row=False, p=path, digits=digits[:4])  # the row: what the key leads to
    step = navigate.key(
        loaded.bundle.flow,
        path,
        raw,
        digits,
        count("n", args=args),
        count("x", args=args),
        lambda: webhook.hours(loaded),
    )
    return answer(loaded, step, digits[:4], path, form)


@bp.post("/agent")
@with_flow
def agent(loaded: Loaded) -> Response:
    """Put the caller through to a person in hours; otherwise read the hours and return to the menu."""
    path = position(loaded)
    queued = loaded.bundle.flow.queue.enabled
    return answer(loaded, navigate.agent_or_hours(path, webhook.hours(loaded), queued=queued))


@bp.post("/agent/done")
@with_flow
def agent_done(loaded: Loaded) -> Response:
    """The <Dial> ended: after a conversation say goodbye; otherwise apologise and return to the menu."""
    outcome = request.form.get("DialCallStatus", "")
    path = position(loaded)
    note("agent-done", p=path, outcome=outcome[:20])
    return answer(loaded, navigate.dial_done(path, outcome))


@bp.post("/status")
def status() -> Response:
    """Call status callback: recorded (number masked), nothing to say back."""
    note(
        "status",
        status=request.form.get("CallStatus", "-")[:20],
        duration=request.form.get("CallDuration", "-")[:8],
    )
    return twiml(str(VoiceResponse()))


@bp.post("/fallback")
def fallback() -> Response:
    """Twilio's fallback URL: a static apology that needs neither audio nor a readable flow file."""
    loaded = get_state().loaded
    note("fallback", error=request.form.get("ErrorCode", "-")[:10])
    return twiml(loaded.renderer.fallback() if loaded else minimal_fallback())


@bp.post("/<path:anything>")
def unknown(anything: str) -> Response:
    """An internal URL that does not exist (an old call after a deploy): back to the start menu."""
    loaded = get_state().current()
    return twiml(loaded.renderer.node("") if loaded else minimal_fallback())


def warm(app: Flask) -> None:
    """Do at start what the first caller pressing 0 would otherwise wait for.

    The first business-hours check builds the year's holiday table, which is slow and sizeable. Built
    here, the first transfer is as fast as the others and a worker's memory after start is what it
    keeps, so growth measured from there is a leak.
    """
    with app.app_context():
        loaded = get_state().loaded
        try:
            if loaded is not None:
                webhook.hours(loaded)
        except Exception:  # only a head start: the start must not fail where a call would not
            log.exception("building the holiday table at start failed; the first call will try again")


def init_app(app: Flask, *, serving: bool) -> None:
    """Register the voice webhooks; when serving calls, build the holiday table before the first one."""
    app.register_blueprint(bp)
    if serving:  # ops commands (synth, check) would only pay for it at start-up
        warm(app)
