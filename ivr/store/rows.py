"""The journal's rows: what the writer makes of a webhook's note (finisher), and what a batch of events
writes, whatever the database: the rows and the rule merging a call's.

The writer's CPU is taken from the webhooks': a batch becomes plain tuples (an event row per event, a call
row per call that an event can change) for the driver to take as they are (ivr.store.write).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Column, String

from ivr import clock
from ivr.privacy import mask_number
from ivr.store.number_key import NumberKey
from ivr.store.tables import calls, events


# A NamedTuple, not a dataclass: the writer makes one per event and reads the fields by position.
class Event(NamedTuple):
    """One thing that happened in a call; times are naive UTC."""

    call_sid: str
    at: dt.datetime
    kind: str
    position: str = ""
    detail: str = ""
    number_masked: str | None = None
    number_hash: str | None = None
    duration_s: int | None = None
    ended: bool = False
    amount: int | None = None  # seconds waited in the queue, on queue-left events
    pressed: str | None = None  # the keys that led to this event, pressed at `position`


# Event's own constructor is Python code parsing eleven arguments; a row of all eleven fields, in Event's
# order, becomes an Event through tuple's own constructor, which costs a fraction of that.
new_event = tuple.__new__


ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_DETAIL = ("digits", "answer", "menu", "outcome", "reason", "status", "error")
# A value is made to fit its column (the tables' own lengths) when its row is made, so one odd field in a
# request never makes the database refuse a batch. A count of seconds with more digits than this is no
# count (an int4 on PostgreSQL holds nine digits at least).
MAX_SECONDS_DIGITS = 9


def _length(column: Column[Any]) -> int:
    """A String(n) column's n."""
    kind = column.type
    assert isinstance(kind, String) and kind.length is not None
    return kind.length


_SID, _KIND, _POSITION = _length(events.c.call_sid), _length(events.c.kind), _length(events.c.position)
_DETAIL_LEN, _STATUS, _MASKED = (
    _length(events.c.detail),
    _length(calls.c.status),
    _length(calls.c.number_masked),
)
_PRESSED = _length(events.c.pressed)


def seconds(value: object) -> int | None:
    """A count of seconds from a request field; None when it is none (not digits, or absurdly long)."""
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_SECONDS_DIGITS else None


# What a request noted: event, fields, CallSid, caller's number, CallDuration, keys pressed, clock.stamp
RequestNote = tuple[str, Mapping[str, object], str, str | None, str | None, str, int]


# A webhook notes only what its request holds; the writer makes the row of it (the detail, the mask, the
# keyed hash, the time) in its own loop, where that code runs warm and no request waits for it.
def finisher(key: NumberKey) -> Callable[[RequestNote | Event], Event]:
    """What the writer makes of a note (an Event as it is): its row, the caller's number masked and hashed.

    The number waits in clear in the worker's memory only until the writer's next batch (a second; up
    to 5 s while the database is down): the batch makes the Event before it writes.
    """

    def finish(note: RequestNote | Event) -> Event:
        if isinstance(note, Event):  # a batch given back to retry, or an event noted whole (tests)
            return note
        event, fields, sid, number, duration_text, pressed, stamp = note
        detail = ""
        for name in _DETAIL:  # the first of these the event carries
            if name in fields:
                detail = str(fields[name])[: _STATUS if event == "status" else _DETAIL_LEN]
                break
        masked = hashed = duration = amount = None
        if number:
            masked, hashed = mask_number(number)[:_MASKED], key.hash(number)
        if duration_text is not None:
            duration = seconds(duration_text)
        if "wait_s" in fields:
            amount = seconds(fields["wait_s"])
        position, ended = str(fields.get("p", ""))[:_POSITION], event == "status" and detail in ENDED
        at, sid = clock.from_stamp(stamp), sid[:_SID]
        kind, keys = event[:_KIND], pressed[:_PRESSED] or None
        row = (sid, at, kind, position, detail, masked, hashed, duration, ended, amount, keys)
        found: Event = new_event(Event, row)
        return found

    return finish


EVENT_COLUMNS = "call_sid, at, kind, position, detail, amount, pressed"
CALL_COLUMNS = "call_sid, started_at, ended_at, duration_s, status, number_masked, number_hash"
EVENT_FIELDS = itemgetter(0, 1, 2, 3, 4, 9, 10)  # Event's fields in EVENT_COLUMNS order
_AT = itemgetter(1)

# What a batch says about a call merged with the row already there: the earliest start; the end, duration
# and status when the batch has them; the number first recorded. The WHERE leaves alone the rows this would
# not change, most of them: a busy line's batch holds a menu or a key of each of hundreds of calls whose
# start is already written, and rewriting those rows unchanged (a new row version and index entries) is
# much of PostgreSQL's work for the batch.
MERGE = """\
ON CONFLICT (call_sid) DO UPDATE SET
    started_at = CASE WHEN excluded.started_at < calls.started_at
        THEN excluded.started_at ELSE calls.started_at END,
    ended_at = coalesce(excluded.ended_at, calls.ended_at),
    duration_s = coalesce(excluded.duration_s, calls.duration_s),
    status = coalesce(excluded.status, calls.status),
    number_masked = coalesce(calls.number_masked, excluded.number_masked),
    number_hash = coalesce(calls.number_hash, excluded.number_hash)
WHERE excluded.started_at < calls.started_at
    OR excluded.ended_at IS NOT NULL OR excluded.duration_s IS NOT NULL OR excluded.status IS NOT NULL
    OR (calls.number_masked IS NULL AND excluded.number_masked IS NOT NULL)
    OR (calls.number_hash IS NULL AND excluded.number_hash IS NOT NULL)"""


def call_rows(batch: Sequence[Event], times: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """One row per call in the batch (CALL_COLUMNS), in call_sid order: start, end, duration, status, number.

    `times` replaces the events' `at` (SQLite's text form, which sorts as the times do).
    """
    rows: dict[str, list[Any]] = {}
    for (sid, _, kind, _, detail, masked, number, duration, ended, _, _), at in zip(
        batch, map(_AT, batch) if times is None else times, strict=True
    ):
        row = rows.get(sid)
        if row is None:
            rows[sid] = row = [sid, at, None, None, None, None, None]
        elif at < row[1]:
            row[1] = at
        if number:
            row[5], row[6] = masked, number
        if kind == "status":
            row[4] = detail
            if duration is not None:
                row[3] = duration
            if ended:
                row[2] = at
    # one lock order for every writer: two workers upserting the same calls cannot deadlock
    return [tuple(rows[sid]) for sid in sorted(rows)]


class KnownCalls:
    """The calls one writer has already given a row: later events of theirs need not touch it.

    A call's row changes only with its start (the earliest event: this writer's first one of the call
    was upserted, and its later ones are later), its number (the incoming call's event) and its end
    (status): so an event of a known call that brings neither adds nothing to its row. Without this,
    nearly every event also upserted its call's row (a random page of the calls' key index each).
    Bounded: the oldest calls are forgotten first (their next event upserts again, harmlessly).
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        # the oldest first; an OrderedDict forgets its oldest in constant time, where a dict's first key
        # is found past every key deleted before it
        self._sids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, sid: object) -> bool:
        return sid in self._sids

    def add(self, sids: Sequence[str]) -> None:
        """Remember calls whose rows are committed."""
        for sid in sids:
            self._sids[sid] = None
        for _ in range(len(self._sids) - self.size):
            self._sids.popitem(last=False)


def rows_needed(batch: Sequence[Event], known: KnownCalls | None) -> list[int]:
    """The batch's events that can change their call's row (all of them without `known`)."""
    return [
        i
        for i, e in enumerate(batch)
        if known is None or e.number_hash is not None or e.kind == "status" or e.call_sid not in known
    ]
