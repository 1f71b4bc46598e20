"""The queue's next step, a pure function of its inputs: into it or the offer, the wait loop and its exits.

Shared with the callback dialog (which imports this module, never the other way): the Step both dialogs
render, going into the queue when there is room, and the start of the callback dialog (the queue's way out).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from ivr.call import phone
from ivr.call.availability import Availability
from ivr.call.notes import Note
from ivr.flow.queue import QueueSettings
from ivr.flow.queue_prompts import estimate_id

Kind = Literal[
    "queue", "enqueue", "offer", "wait", "leave", "back", "readback", "entry", "goodbye", "node", "reserve"
]


@dataclass(frozen=True)
class Step:
    """What the caller hears next in the queue or the callback dialog, and what the call log records first.

    kind: `queue` (in hours: the queue, or the offer when it is full — the view looks up the waiting
    count), `enqueue`, `offer`, `wait` (place and estimate), `leave`, `back` (to the wait loop), `readback`
    (a number digit by digit), `entry` (key a number in), `goodbye`, `node` (the menu at `path`), or
    `reserve` (commit a reservation for `number`, then ask callback_steps.reserved).
    """

    kind: Kind
    path: str
    before: tuple[str, ...] = ()  # prompt ids said first
    notes: tuple[Note, ...] = ()
    open_now: bool = False  # offer: in hours, 2 (wait again) is offered
    q: int = 0  # readback, entry: the dialog started inside the queue
    n: int = 0  # offer, readback: silences or other keys so far; entry: refused numbers so far
    number: str = ""  # readback, reserve: the national number
    place: int = 0  # wait: the caller's place in the queue
    estimate: str = ""  # wait: the estimate's prompt id


def enqueue_or_offer(path: str, waiting: int, max_size: int) -> Step:
    """In hours, `0`: into the queue, or straight to the callback offer when it is already full."""
    if waiting >= max_size:
        offered = Note("callback-offer", {"p": path, "reason": "full"})
        return Step("offer", path, ("queue.full",), (offered,), open_now=True)
    return Step("enqueue", path, ("agent_connecting",))


def callback_start(path: str, caller: str | None, in_queue: int, notes: tuple[Note, ...] = ()) -> Step:
    """Read the caller's own number back; a withheld or foreign number must be keyed in."""
    own = phone.national(caller)
    if own is None:
        withheld = Note("callback-withheld", {"p": path})
        return Step("entry", path, ("callback.withheld",), (*notes, withheld), q=in_queue)
    return Step("readback", path, notes=notes, q=in_queue, number=own)


def wait(
    path: str, first: bool, place: int, waited: int, settings: QueueSettings, per_place_s: float | None
) -> Step:
    """Twilio's wait URL: place and estimate, repeated; waited too long or placed too far: leave."""
    notes = (Note("queue-entered", {"p": path, "reason": str(place)}),) if first else ()
    if waited >= settings.max_wait_s:
        return Step("leave", path, ("queue.timeout",), notes)
    if place > settings.max_size:
        return Step("leave", path, ("queue.full",), notes)
    estimate = estimate_id(None if per_place_s is None else per_place_s * max(place, 1))
    return Step("wait", path, notes=notes, place=place, estimate=estimate)


def key(path: str, digits: str, caller: str | None) -> Step:
    """A key while waiting: 1 a callback (keeping the place meanwhile), anything else: the place."""
    pressed = (Note("queue-key", {"p": path, "digits": digits or "-"}),)
    if digits == "1":
        return callback_start(path, caller, 1, pressed)
    return Step("back", path, notes=pressed)


def done(
    path: str,
    result: str,
    waited: int,
    settings: QueueSettings,
    bridged: Collection[str],
    hours: Callable[[], Availability],
) -> Step:
    """The Enqueue action: how the caller left the queue (QueueResult, `bridged` its results after a
    conversation), journaled with the seconds waited; then goodbye, the new TwiML, or the callback offer.

    `hours` is asked only when the offer depends on them (it costs a calendar lookup).
    """
    left = Note("queue-left", {"p": path, "outcome": result, "wait_s": waited})
    if result in bridged or result == "hangup":  # after the conversation, or nobody is there to hear it
        return Step("goodbye", path, notes=(left,))
    if result == "redirected":  # someone moved the call with the REST API: that TwiML is what it follows
        return Step("node", path, notes=(left,))
    if result in ("queue-full", "leave"):
        timeout = result == "leave" and waited >= settings.max_wait_s
        why = "queue.timeout" if timeout else "queue.full"
        before = () if result == "leave" else (why,)  # the wait URL already said it before <Leave/>
        offered = Note("callback-offer", {"p": path, "reason": "timeout" if timeout else "full"})
        return Step("offer", path, before, (left, offered), open_now=hours().open)
    # error, system-error, or anything new: apologise, then the same offer
    offered = Note("callback-offer", {"p": path, "reason": "error"})
    return Step("offer", path, ("agent_failed",), (left, offered), open_now=hours().open)
