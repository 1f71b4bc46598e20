"""What a webhook notes for its journal row, and how the writer makes the row of it.

A webhook notes only what its request holds (the event, its fields, the CallSid, the caller's number on
the incoming call, a stamp); the writer makes the row (the detail, the mask, the keyed hash, the time) in
its own loop, where that code runs warm and no request waits for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ivr import clock
from ivr.privacy import mask_number
from ivr.store.number_key import NumberKey
from ivr.store.rows import Event, new_event

ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_DETAIL = ("digits", "answer", "menu", "outcome", "reason", "status", "error")

# event, fields, CallSid, caller's number, CallDuration, keys pressed, clock.stamp
Note = tuple[str, Mapping[str, object], str, str | None, str | None, str, int]


def finisher(key: NumberKey) -> Callable[[Note | Event], Event]:
    """What the writer makes of a note (an Event as it is): its row, the caller's number masked and hashed.

    The number waits in clear in the worker's memory only until the writer's next batch (a second; up
    to 5 s while the database is down): the batch makes the Event before it writes.
    """

    def finish(note: Note | Event) -> Event:
        if isinstance(note, Event):  # a batch given back to retry, or an event noted whole (tests)
            return note
        event, fields, sid, number, seconds, pressed, stamp = note
        detail = ""
        for name in _DETAIL:  # the first of these the event carries
            if name in fields:
                detail = str(fields[name])[:40]
                break
        masked = hashed = duration = amount = None
        if number:
            masked, hashed = mask_number(number), key.hash(number)
        if seconds is not None:
            duration = int(seconds) if seconds.isdigit() else None
        if "wait_s" in fields and str(fields["wait_s"]).isdigit():
            amount = int(str(fields["wait_s"]))
        position, ended = str(fields.get("p", ""))[:16], event == "status" and detail in ENDED
        at, sid = clock.from_stamp(stamp), sid[:64]
        row = (sid, at, event, position, detail, masked, hashed, duration, ended, amount, pressed or None)
        found: Event = new_event(Event, row)
        return found

    return finish
