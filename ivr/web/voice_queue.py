"""Waiting for a person in Twilio's queue: the wait URL, its keys, the Enqueue action, the connect hook.

Each view reads the request, asks call.queue_steps what happens next and `answer`s it; the callback
dialog's views answer through here too (this module never imports them).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ivr.call import queue_render, queue_steps
from ivr.call.queue_steps import Step
from ivr.state import Loaded
from ivr.store import extension as store
from ivr.store.waits import BRIDGED
from ivr.web import webhook
from ivr.web.calllog import note, note_all
from ivr.web.form import whole_number
from ivr.web.signature import protect
from ivr.web.webhook import position, twiml, with_flow

bp = Blueprint("voice_queue", __name__, url_prefix="/voice/queue")
protect(bp)


def _int(name: str) -> int:
    return whole_number(request.form.get(name, ""), 6) or 0


def answer(loaded: Loaded, step: Step, asked: int, k: str = "") -> Response:
    """Journal what the step says happened, then its TwiML (a `queue` step: into the queue or the offer)."""
    note_all(step.notes)
    if step.kind == "queue":
        return enqueue_or_offer(loaded, step.path)
    return twiml(queue_render.step(loaded.renderer, step, asked, k))


def enqueue_or_offer(loaded: Loaded, path: str) -> Response:
    """In hours, `0`: into the queue, or straight to the callback offer when it is already full."""
    waiting = store.estimate().waiting
    step = queue_steps.enqueue_or_offer(path, waiting, loaded.bundle.flow.queue.max_size)
    return answer(loaded, step, webhook.now_s())


@bp.post("/wait")
@with_flow
def wait(loaded: Loaded) -> Response:
    """Twilio's wait URL: place and estimate, repeated; waited too long or placed too far: leave."""
    path, asked = position(loaded), webhook.asked()
    first = not request.args.get("r")  # the first request of this stay in the queue
    place, waited = _int("QueuePosition"), _int("QueueTime")
    per_place = store.estimate().per_place_s
    step = queue_steps.wait(path, first, place, waited, loaded.bundle.flow.queue, per_place)
    return answer(loaded, step, asked)


@bp.post("/key")
@with_flow
def key(loaded: Loaded) -> Response:
    """A key while waiting: 1 a callback (keeping the place meanwhile), anything else: the place."""
    path, asked = position(loaded), webhook.asked()
    digits = request.form.get("Digits", "").strip()[:4]
    return answer(loaded, queue_steps.key(path, digits, request.form.get("From")), asked)


@bp.post("/done")
@with_flow
def done(loaded: Loaded) -> Response:
    """The Enqueue action: how the caller left the queue (QueueResult), journaled with the seconds waited."""
    path, asked = position(loaded), webhook.asked()
    result = request.form.get("QueueResult", "")[:20] or "unknown"
    settings, waited = loaded.bundle.flow.queue, _int("QueueTime")
    step = queue_steps.done(path, result, waited, settings, BRIDGED, lambda: webhook.hours(loaded))
    return answer(loaded, step, asked)


@bp.post("/connect")
@with_flow
def connect(loaded: Loaded) -> Response:
    """<Queue url>: played to the caller as an agent takes them; QueueTime is how long they waited."""
    note("queue-connect", reason=request.form.get("DequeingCallSid", "-")[:34])
    return twiml(queue_render.connect(loaded.renderer))
