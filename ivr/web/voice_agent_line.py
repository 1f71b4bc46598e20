"""The agents' line (POST /voice/agent-line): caller ID and PIN, then the next caller or the next callback.

Its callers are staff, so unlike the hotline it reads the database while they wait (the agent list, the
counts, claiming a reservation), each wait bounded by store.SYNC_TIMEOUT_S; a failure is said.
Each view reads the request, asks store what it needs, asks call.agent_line_steps what happens next and
`answer`s it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable

from flask import Blueprint, Response, current_app, request

from ivr.call import agent_line_render as render
from ivr.call import agent_line_steps as steps
from ivr.call.agent_line_steps import MAX_PIN_TRIES, LineStep
from ivr.state import Loaded
from ivr.store import agents, reservations, waits
from ivr.store import extension as store
from ivr.store.sealed import InvalidToken
from ivr.web import webhook
from ivr.web.calllog import note_all
from ivr.web.form import whole_number
from ivr.web.signature import protect
from ivr.web.webhook import twiml, with_flow

bp = Blueprint("voice_agent_line", __name__, url_prefix="/voice/agent-line")
protect(bp)
log = logging.getLogger("ivr.agent_line")


def _session_sig(name: str) -> str:
    """Binds the agent's name to this call, so a menu URL is worth nothing on another call."""
    key = str(current_app.config["IVR_NUMBER_KEY"]).encode("utf-8")
    message = f"{request.form.get('CallSid', '')}|{name}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:24]


def _session(name: str) -> dict[str, str]:
    return {"a": name, "s": _session_sig(name)}


def signed_in(view: Callable[[Loaded, str], Response]) -> Callable[[Loaded], Response]:
    """Only for a call that keyed the right PIN: the URL's agent and signature must match this call."""

    def guarded(loaded: Loaded) -> Response:
        name = request.args.get("a", "")[:40]
        if not name or not hmac.compare_digest(request.args.get("s", ""), _session_sig(name)):
            return answer(loaded, steps.refused("session"))
        try:
            return view(loaded, name)
        except Exception:  # the database failed under an agent: say so rather than Twilio's error
            log.exception("agent line: %s failed", request.path)
            return answer(loaded, steps.failed_in(request.path))

    guarded.__name__ = view.__name__
    guarded.__doc__ = view.__doc__
    return guarded


def _agent() -> tuple[str, str] | None:
    number = request.form.get("From", "")
    return agents.by_number(store.sync_engine(), store.keyed_hash(number)) if number else None


def answer(loaded: Loaded, step: LineStep, name: str = "", callback_id: int = 0) -> Response:
    """Journal what the step says happened, then its TwiML (the menu's counts and the next caller's
    context read from the store); `name`: the signed-in agent, `callback_id`: the callback dialed."""
    note_all(step.notes)
    r = loaded.renderer
    if step.kind == "menu":
        waiting = len(waits.waiting_calls(store.sync_engine(), webhook.naive_now()))
        pending = reservations.pending(store.sync_engine())
        return twiml(render.menu(r, _session(name), waiting, pending, step.count, step.before))
    if step.kind == "take_caller":
        return twiml(render.take_caller(r, _session(name), context(loaded)))
    session = _session(name) if step.kind in ("ask_outcome", "to_menu") else {}
    return twiml(render.step(r, step, session, callback_id))


@bp.post("")
@with_flow
def incoming(loaded: Loaded) -> Response:
    """An agent calls: a known caller ID is asked for the PIN; anyone else hears they are not registered."""
    try:
        found = _agent()
    except Exception as error:
        return answer(loaded, steps.failed(type(error).__name__))
    return answer(loaded, steps.incoming(found[0] if found else None))


@bp.post("/pin")
@with_flow
def pin(loaded: Loaded) -> Response:
    """The PIN: right → the menu; wrong (or none) three times → hang up, journaled."""
    wrong = webhook.count("w", MAX_PIN_TRIES)
    try:
        found = _agent()
    except Exception as error:
        return answer(loaded, steps.failed(type(error).__name__))
    keyed = request.form.get("Digits", "").strip()[:12]
    pin_ok = found is not None and agents.pin_ok(found[1], keyed)
    name = found[0] if found else None
    step = steps.pin(name, pin_ok, wrong, webhook.count("n", 3))
    return answer(loaded, step, name or "")


@bp.post("/menu")
@with_flow
@signed_in
def menu(loaded: Loaded, name: str) -> Response:
    """The agent menu (again after each call)."""
    return answer(loaded, steps.menu(webhook.count("n", 3)), name)


def context(loaded: Loaded) -> tuple[str, ...]:
    """What the caller who will be put through next last heard, from the journal (first in, first out):
    the menu or answer at the key path where they pressed 0, as their queue-entered event says."""
    engine = store.sync_engine()
    waiting = waits.waiting_calls(engine, webhook.naive_now())
    if not waiting:
        return ("agent_line.next.none",)
    path = waiting[0].position  # where they pressed 0: the menu or answer they heard last
    if path == "":
        return ("agent_line.next.start",)
    try:
        menus, option = loaded.bundle.flow.walk(path)
    except KeyError:
        return ("agent_line.next.start",)
    if option is not None:
        return ("agent_line.next.intro", option.label, "agent_line.next.answer")
    parent = loaded.bundle.flow.walk(path[:-1])[0][-1].option(path[-1])
    label = parent.label if parent else None
    return ("agent_line.next.intro", label, "agent_line.next.menu") if label else ("agent_line.next.start",)


@bp.post("/choose")
@with_flow
@signed_in
def choose(loaded: Loaded, name: str) -> Response:
    """1 the next waiting caller (<Dial><Queue>), 2 the next callback (<Dial><Number>); else the menu."""
    digits = request.form.get("Digits", "").strip()[:2]
    n = webhook.count("n", 3)
    step = steps.choose(digits, n)
    if step.kind != "claim":
        return answer(loaded, step, name)
    claimed = reservations.claim(store.sync_engine(), name, webhook.naive_now())
    if claimed is None:
        return answer(loaded, steps.claimed("none", n), name)
    try:
        number = store.sealer().open(claimed.number_sealed)
    except InvalidToken:
        log.error("callback %d: no key in IVR_DATA_KEY opens its number", claimed.id)
        reservations.outcome(
            store.sync_engine(),
            claimed.id,
            "failed",
            webhook.naive_now(),
            agent=name,
            attempts=1,
            retry_min=0,
        )
        return answer(loaded, steps.claimed("unreadable", n), name)
    note_all(steps.claimed("ok", n).notes)
    return twiml(render.call_back(loaded.renderer, _session(name), claimed.id, number))


def _callback_id() -> int:
    return whole_number(request.args.get("id", ""), 9) or 0


def _record(loaded: Loaded, name: str, result: str) -> Response:
    q = loaded.bundle.flow.queue
    status = reservations.outcome(
        store.sync_engine(),
        _callback_id(),
        result,
        webhook.naive_now(),
        agent=name,
        attempts=q.callback_attempts,
        retry_min=q.callback_retry_min,
    )
    return answer(loaded, steps.recorded(result, status), name)


@bp.post("/called")
@with_flow
@signed_in
def called(loaded: Loaded, name: str) -> Response:
    """The call to the customer ended: answered → ask how it went; else recorded (retried later)."""
    step = steps.called(request.form.get("DialCallStatus", ""))
    if step.kind == "record":
        return _record(loaded, name, step.outcome)
    return answer(loaded, step, name, _callback_id())


@bp.post("/outcome")
@with_flow
@signed_in
def outcome(loaded: Loaded, name: str) -> Response:
    """After an answered call: 2 wrong number, anything else (or silence) talked."""
    return _record(loaded, name, steps.outcome(request.form.get("Digits", "").strip()[:2]).outcome)
