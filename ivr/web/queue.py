"""Waiting for a person in Twilio's queue: the wait URL, its keys, the Enqueue action, the connect hook."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ivr.call import queue_render
from ivr.flow.queue_prompts import estimate_id
from ivr.state import Loaded
from ivr.store import extension as store
from ivr.store.waits import BRIDGED
from ivr.web import webhook
from ivr.web.calllog import note
from ivr.web.signature import protect
from ivr.web.webhook import position, twiml, with_flow

bp = Blueprint("voice_queue", __name__, url_prefix="/voice/queue")
protect(bp)


def _int(name: str) -> int:
    value = request.form.get(name, "")
    return int(value) if value.isdigit() and len(value) < 7 else 0


def enqueue_or_offer(loaded: Loaded, path: str) -> Response:
    """In hours, `0`: into the queue, or straight to the callback offer when it is already full."""
    flow = loaded.bundle.flow
    asked = webhook.now_s()
    if store.estimate().waiting >= flow.queue.max_size:
        note("callback-offer", p=path, reason="full")
        return twiml(queue_render.offer(loaded.renderer, path, asked, open_now=True, before=("queue.full",)))
    return twiml(queue_render.enqueue(loaded.renderer, path, asked))


@bp.post("/wait")
@with_flow
def wait(loaded: Loaded) -> Response:
    """Twilio's wait URL: place and estimate, repeated; waited too long or placed too far: leave."""
    q = loaded.bundle.flow.queue
    path, asked = position(loaded), webhook.asked()
    place, waited = _int("QueuePosition"), _int("QueueTime")
    if not request.args.get("r"):  # the first request of this stay in the queue
        note("queue-entered", p=path, reason=str(place))
    if waited >= q.max_wait_s:
        return twiml(queue_render.leave(loaded.renderer, "queue.timeout"))
    if place > q.max_size:
        return twiml(queue_render.leave(loaded.renderer, "queue.full"))
    per_place = store.estimate().per_place_s
    estimate = estimate_id(None if per_place is None else per_place * max(place, 1))
    return twiml(queue_render.wait(loaded.renderer, path, asked, place, estimate))


@bp.post("/key")
@with_flow
def key(loaded: Loaded) -> Response:
    """A key while waiting: 1 a callback (keeping the place meanwhile), anything else: the place."""
    path, asked = position(loaded), webhook.asked()
    digits = request.form.get("Digits", "").strip()[:4]
    note("queue-key", p=path, digits=digits or "-")
    if digits == "1":
        from ivr.web import (
            callback,  # the callback dialog is the queue's way out; it imports this module, webhook
        )

        return callback.start(loaded, path, asked, in_queue=1)
    return twiml(queue_render.back_to_wait(loaded.renderer, path, asked))


@bp.post("/done")
@with_flow
def done(loaded: Loaded) -> Response:
    """The Enqueue action: how the caller left the queue (QueueResult), journaled with the seconds waited."""
    from ivr.web import callback, webhook

    path, asked = position(loaded), webhook.asked()
    result = request.form.get("QueueResult", "")[:20] or "unknown"
    waited = _int("QueueTime")
    note("queue-left", p=path, outcome=result, wait_s=waited)
    r = loaded.renderer
    if result in BRIDGED or result == "hangup":  # after the conversation, or nobody is there to hear it
        return twiml(r.goodbye())
    if result == "redirected":  # someone moved the call with the REST API: that TwiML is what it follows
        return twiml(r.node(path))
    now = webhook.hours(loaded)
    if result in ("queue-full", "leave"):
        why = (
            "queue.timeout"
            if result == "leave" and waited >= loaded.bundle.flow.queue.max_wait_s
            else "queue.full"
        )
        before = () if result == "leave" else (why,)  # the wait URL already said it before <Leave/>
        note("callback-offer", p=path, reason="timeout" if why == "queue.timeout" else "full")
        return callback.offer_response(loaded, path, asked, now.open, before)
    # error, system-error, or anything new: apologise, then the same offer
    note("callback-offer", p=path, reason="error")
    return callback.offer_response(loaded, path, asked, now.open, ("agent_failed",))


@bp.post("/connect")
@with_flow
def connect(loaded: Loaded) -> Response:
    """<Queue url>: played to the caller as an agent takes them; QueueTime is how long they waited."""
    note("queue-connect", reason=request.form.get("DequeingCallSid", "-")[:34])
    return twiml(queue_render.connect(loaded.renderer))
