"""Callback reservations: the offer, the number read back or keyed in, the committed reservation.

Each view reads the request, asks store what it needs, asks call.callback_steps what happens next and
answers through web.queue (one way: the queue's views never import this module).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from ivr import clock
from ivr.call import callback_steps, phone, queue_render
from ivr.call.availability import next_opening
from ivr.call.queue_steps import Step
from ivr.privacy import mask_number
from ivr.state import Loaded
from ivr.store import extension as store
from ivr.store import reservations
from ivr.store.sealed import InvalidToken
from ivr.web import webhook
from ivr.web.signature import protect
from ivr.web.voice_queue import answer
from ivr.web.webhook import position, twiml, with_flow

bp = Blueprint("voice_callback", __name__, url_prefix="/voice/callback")
protect(bp)
log = logging.getLogger("ivr.callback")
KEYED_TTL_S = 3600  # a keyed number travels sealed in the URL; an old one is not trusted


def offer_response(
    loaded: Loaded, path: str, asked: int, open_now: bool, before: tuple[str, ...]
) -> Response:
    """The callback offer (in hours also: wait in the queue again)."""
    return twiml(queue_render.offer(loaded.renderer, path, asked, open_now=open_now, before=before))


@bp.post("/choose")
@with_flow
def choose(loaded: Loaded) -> Response:
    """The offer's answer: 1 a callback, 2 the queue again (in hours), 9 the start menu."""
    path, asked, offered_open = position(loaded), webhook.asked(), webhook.flag("o")
    digits = request.form.get("Digits", "").strip()[:4]
    step = callback_steps.choose(
        path,
        digits,
        request.form.get("From"),
        bool(offered_open),
        webhook.count("n", 3),
        lambda: webhook.hours(loaded),
    )
    return answer(loaded, step, asked)


def _seal_keyed(number: str) -> str:
    """The keyed number sealed for the URL, bound to this call: another call's link opens nothing."""
    return store.sealer().seal(f"{request.form.get('CallSid', '')}|{number}")


def _keyed() -> str | None:
    """The number this call keyed in, carried sealed in the URL (`k`); None when it does not open (an old
    link, another call's, a rotated key, garbage)."""
    token = request.args.get("k", "")
    try:
        sid, _, number = store.sealer().open(token, ttl_s=KEYED_TTL_S).partition("|")
    except (InvalidToken, ValueError):
        return None
    if sid != request.form.get("CallSid", "") or phone.check(number) != "ok":
        return None
    return number


@bp.post("/confirm")
@with_flow
def confirm(loaded: Loaded) -> Response:
    """After the read-back: 1 reserve this number, 2 key another; silence or another key: read it again."""
    path, asked, in_queue = position(loaded), webhook.asked(), webhook.flag("q")
    digits = request.form.get("Digits", "").strip()[:4]
    token = bool(request.args.get("k"))
    keyed = _keyed() if token else None
    misses = webhook.count("n", 3)
    step = callback_steps.confirm(
        path, digits, keyed, request.form.get("From"), in_queue, misses, token=token
    )
    if step.kind == "reserve":
        return reserve(loaded, step, asked)
    return answer(loaded, step, asked, request.args.get("k", "") if keyed else "")


@bp.post("/number")
@with_flow
def number(loaded: Loaded) -> Response:
    """A keyed number (ended by #): refused with the reason, or read back for confirmation."""
    path, asked, in_queue = position(loaded), webhook.asked(), webhook.flag("q")
    digits = request.form.get("Digits", "").strip()[:16]
    step = callback_steps.number(path, digits, in_queue, webhook.count("m", 3))
    k = _seal_keyed(step.number) if step.kind == "readback" else ""
    return answer(loaded, step, asked, k)


def reserve(loaded: Loaded, step: Step, asked: int) -> Response:
    """Commit the reservation BEFORE saying 承りました; a failure is said, and the queue offered again."""
    e164 = phone.e164(step.number)
    error = ""
    try:
        # The one place a caller's webhook waits on the database, on purpose: 承りました must mean the
        # reservation is on disk. The engine bounds every wait to a few seconds (store.SYNC_TIMEOUT_S).
        result: callback_steps.Reserved = reservations.reserve(
            store.sync_engine(),
            number_hash=store.keyed_hash(e164),
            sealed=store.sealer().seal(e164),
            masked=mask_number(e164),
            call_sid=request.form.get("CallSid", "-"),
            asked_at=webhook.asked_at(),
            now=webhook.naive_now(),
        )
    except Exception as failure:  # database down, slow or refusing: never 承りました
        log.error("callback: the reservation could not be saved: %s", type(failure).__name__)
        result, error = "failed", type(failure).__name__
    said = callback_steps.reserved(
        step.path,
        result,
        error=error,
        in_queue=step.q,
        keyed=bool(request.args.get("k")),
        hours=lambda: webhook.hours(loaded),
        opening=lambda: next_opening(loaded.bundle.flow, clock.now()),
    )
    return answer(loaded, said, asked)
