"""The callback dialog's next step, a pure function of its inputs: the offer's answer, the number read back
or keyed in, the reservation's result and when the customer can expect the call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from ivr.call import phone
from ivr.call.availability import Availability
from ivr.call.notes import Note
from ivr.call.queue_steps import Step, callback_start

Reserved = Literal["reserved", "duplicate", "failed"]


def choose(
    path: str,
    digits: str,
    caller: str | None,
    offered_open: bool,
    misses: int,
    hours: Callable[[], Availability],
) -> Step:
    """The offer's answer: 1 a callback, 2 the queue again (offered in hours, still open), 9 the start menu.

    `hours` is asked only for 2 offered in hours (it costs a calendar lookup).
    """
    pressed = (Note("callback-choice", {"p": path, "digits": digits or "-"}),)
    if digits == "1":
        return callback_start(path, caller, 0, pressed)
    if digits == "2" and offered_open and hours().open:
        return Step("queue", path, notes=pressed)
    if digits == "9" or (not digits and misses >= 1):
        return Step("node", "", notes=pressed)
    before = ("invalid_key",) if digits else ("no_input",)
    return Step("offer", path, before, pressed, open_now=offered_open, n=1)


def give_up(path: str, in_queue: int, notes: tuple[Note, ...] = ()) -> Step:
    """Too many misses in the dialog: back to waiting (in the queue) or to the start menu."""
    if in_queue:
        return Step("back", path, ("queue.back",), notes)
    return Step("node", "", notes=notes)


def confirm(
    path: str,
    digits: str,
    keyed: str | None,
    caller: str | None,
    in_queue: int,
    misses: int,
    *,
    token: bool = False,
) -> Step:
    """After the read-back of the keyed number (`keyed`) or, when none was keyed (`token` False), the
    caller's own: 1 reserve it, 2 key another; silence or another key: read it again, twice, then give up.

    A keyed number that no longer opens (`token` without `keyed`: an old link, another call's, a rotated
    key) is asked for again, never swapped for the caller ID: 承りました is for the number they gave.
    """
    number = keyed if token else phone.national(caller)
    if number is None:
        return Step("entry", path, q=in_queue)
    if digits == "1":
        return Step("reserve", path, q=in_queue, number=number)
    if digits == "2":
        return Step("entry", path, q=in_queue)
    if misses >= 2:
        return give_up(path, in_queue)
    return Step("readback", path, q=in_queue, n=misses + 1, number=number)


def number(path: str, digits: str, in_queue: int, misses: int) -> Step:
    """A keyed number (ended by #): refused with the reason, or read back for confirmation."""
    verdict = phone.check(digits) if digits else "invalid"
    if verdict == "ok":
        return Step("readback", path, q=in_queue, number=digits)
    refused = (Note("callback-invalid", {"p": path, "reason": verdict if digits else "no-input"}),)
    if misses >= 2:
        return give_up(path, in_queue, refused)
    why = "callback.refused" if verdict == "service" else "callback.invalid"
    before = (why,) if digits else ("no_input",)
    return Step("entry", path, before, refused, q=in_queue, n=misses + 1)


def when(hours: Callable[[], Availability], opening: Callable[[], tuple[str, ...]]) -> tuple[str, ...]:
    """When the customer can expect the call: in hours now, else from the next opening on (`opening`:
    call.hours.next_opening's prompt ids, asked only when closed)."""
    if hours().open:
        return ("callback.when.open",)
    pieces = opening()
    if pieces == ("next.unknown",):
        return ("callback.when.open",)
    # 「次の受付は、12月1日月曜日の9時からです。」 → 「担当者から、12月1日月曜日の9時以降に、…」
    return ("callback.when.intro", *pieces[1:-1], "callback.when.end")


def reserved(
    path: str,
    result: Reserved,
    *,
    error: str = "",
    in_queue: int,
    keyed: bool,
    hours: Callable[[], Availability],
    opening: Callable[[], tuple[str, ...]],
) -> Step:
    """After committing the reservation (`error`: the failure's type): 承りました and when, or that it is
    already booked; a failure is said, then the queue again (in hours) or goodbye. `keyed`: the number
    was keyed in rather than the caller's own."""
    if result == "failed":
        failed = (Note("callback-failed", {"p": path, "error": error[:40]}),)
        if in_queue:
            return Step("back", path, ("callback.failed", "queue.back"), failed)
        if hours().open:
            return Step("enqueue", path, ("callback.failed", "agent_connecting"), failed)
        return Step("goodbye", path, ("callback.failed", "callback.failed.closed"), failed)
    if result == "duplicate":
        duplicate = (Note("callback-duplicate", {"p": path}),)
        return Step("goodbye", path, ("callback.duplicate", *when(hours, opening)), duplicate)
    done = (Note("callback-reserved", {"p": path, "reason": "keyed" if keyed else "own"}),)
    return Step("goodbye", path, ("callback.done", *when(hours, opening)), done)
