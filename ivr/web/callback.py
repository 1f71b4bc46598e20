"""Callback reservations: the offer, the number read back or keyed in, the committed reservation."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from ivr.call import phone, queue_render
from ivr.call.hours import next_opening
from ivr.privacy import mask_number
from ivr.state import Loaded
from ivr.store import extension as store
from ivr.store import reservations
from ivr.store.sealed import InvalidToken
from ivr.web import webhook
from ivr.web.calllog import note
from ivr.web.signature import protect
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


def start(loaded: Loaded, path: str, asked: int, *, in_queue: int) -> Response:
    """Read the caller's own number back; a withheld or foreign number must be keyed in."""
    own = phone.national(request.form.get("From"))
    if own is None:
        note("callback-withheld", p=path)
        return twiml(queue_render.entry(loaded.renderer, path, asked, in_queue, ("callback.withheld",)))
    return twiml(queue_render.readback(loaded.renderer, path, asked, in_queue, own))


@bp.post("/choose")
@with_flow
def choose(loaded: Loaded) -> Response:
    """The offer's answer: 1 a callback, 2 the queue again (in hours), 9 the start menu."""
    from ivr.web import queue

    path, asked, open_now = position(loaded), webhook.asked(), webhook.flag("o")
    digits = request.form.get("Digits", "").strip()[:4]
    note("callback-choice", p=path, digits=digits or "-")
    if digits == "1":
        return start(loaded, path, asked, in_queue=0)
    if digits == "2" and open_now and webhook.hours(loaded).open:
        return queue.enqueue_or_offer(loaded, path)
    if digits == "9" or (not digits and webhook.count("n", 3) >= 1):
        return twiml(loaded.renderer.node(""))
    before = ("invalid_key",) if digits else ("no_input",)
    return twiml(
        queue_render.offer(loaded.renderer, path, asked, open_now=bool(open_now), before=before, n=1)
    )


def _keyed() -> str | None:
    """The number the caller keyed in, carried sealed in the URL (`k`), if any."""
    token = request.args.get("k", "")
    if not token:
        return None
    try:
        number = store.sealer().open(token, ttl_s=KEYED_TTL_S)
    except (InvalidToken, ValueError):
        return None
    return number if phone.check(number) == "ok" else None


def _give_up(loaded: Loaded, path: str, asked: int, in_queue: int) -> Response:
    """Too many misses in the dialog: back to waiting (in the queue) or to the start menu."""
    if in_queue:
        return twiml(queue_render.back_to_wait(loaded.renderer, path, asked, ("queue.back",)))
    return twiml(loaded.renderer.node(""))


@bp.post("/confirm")
@with_flow
def confirm(loaded: Loaded) -> Response:
    """After the read-back: 1 reserve this number, 2 key another; silence or another key: read it again."""
    path, asked, in_queue = position(loaded), webhook.asked(), webhook.flag("q")
    digits = request.form.get("Digits", "").strip()[:4]
    keyed = _keyed()
    number = keyed or phone.national(request.form.get("From"))
    if number is None:  # a keyed number that no longer opens (old link, rotated key): ask again
        return twiml(queue_render.entry(loaded.renderer, path, asked, in_queue))
    if digits == "1":
        return reserve(loaded, path, asked, in_queue, number)
    if digits == "2":
        return twiml(queue_render.entry(loaded.renderer, path, asked, in_queue))
    misses = webhook.count("n", 3)
    if misses >= 2:
        return _give_up(loaded, path, asked, in_queue)
    k = request.args.get("k", "") if keyed else ""
    return twiml(queue_render.readback(loaded.renderer, path, asked, in_queue, number, k, misses + 1))


@bp.post("/number")
@with_flow
def number(loaded: Loaded) -> Response:
    """A keyed number (ended by #): refused with the reason, or read back for confirmation."""
    path, asked, in_queue = position(loaded), webhook.asked(), webhook.flag("q")
    digits = request.form.get("Digits", "").strip()[:16]
    misses = webhook.count("m", 3)
    verdict = phone.check(digits) if digits else "invalid"
    if verdict == "ok":
        k = store.sealer().seal(digits)
        return twiml(queue_render.readback(loaded.renderer, path, asked, in_queue, digits, k))
    note("callback-invalid", p=path, reason=verdict if digits else "no-input")
    if misses >= 2:
        return _give_up(loaded, path, asked, in_queue)
    why = "callback.refused" if verdict == "service" else "callback.invalid"
    before = (why,) if digits else ("no_input",)
    return twiml(queue_render.entry(loaded.renderer, path, asked, in_queue, before, misses + 1))


def when(loaded: Loaded) -> tuple[str, ...]:
    """When the customer can expect the call: in hours now, else from the next opening on."""
    now = webhook.hours(loaded)
    if now.open:
        return ("callback.when.open",)
    from ivr import clock

    pieces = next_opening(loaded.bundle.flow, clock.now())
    if pieces == ("next.unknown",):
        return ("callback.when.open",)
    # 「次の受付は、12月1日月曜日の9時からです。」 → 「担当者から、12月1日月曜日の9時以降に、…」
    return ("callback.when.intro", *pieces[1:-1], "callback.when.end")


def reserve(loaded: Loaded, path: str, asked: int, in_queue: int, national: str) -> Response:
    """Commit the reservation BEFORE saying 承りました; a failure is said, and the queue offered again."""
    e164 = phone.e164(national)
    r = loaded.renderer
    try:
        # The one place a caller's webhook waits on the database, on purpose: 承りました must mean the
        # reservation is on disk. The engine bounds every wait to a few seconds (store.SYNC_TIMEOUT_S).
        result = reservations.reserve(
            store.sync_engine(),
            number_hash=store.keyed_hash(e164),
            sealed=store.sealer().seal(e164),
            masked=mask_number(e164),
            call_sid=request.form.get("CallSid", "-"),
            asked_at=webhook.asked_at(),
            now=webhook.naive_now(),
        )
    except Exception as error:  # database down, slow or refusing: never 承りました
        log.error("callback: the reservation could not be saved: %s", type(error).__name__)
        note("callback-failed", p=path, error=type(error).__name__[:40])
        if in_queue:
            return twiml(queue_render.back_to_wait(r, path, asked, ("callback.failed", "queue.back")))
        if webhook.hours(loaded).open:
            return twiml(queue_render.enqueue(r, path, asked, ("callback.failed", "agent_connecting")))
        return twiml(r.goodbye(("callback.failed", "callback.failed.closed")))
    if result == "duplicate":
        note("callback-duplicate", p=path)
        return twiml(r.goodbye(("callback.duplicate", *when(loaded))))
    note("callback-reserved", p=path, reason="keyed" if request.args.get("k") else "own")
    return twiml(r.goodbye(("callback.done", *when(loaded))))
