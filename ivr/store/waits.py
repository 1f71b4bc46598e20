"""The queue as the journal saw it: recent real waits for the estimate, who is waiting, who is next.

Twilio's AvgQueueTime only averages the callers still waiting; the estimate here comes from the callers
who were really put through lately: seconds per place ahead = their total wait / their total entry places.
A webhook never waits on this: a per-worker thread refreshes a snapshot, the wait URL reads it from memory.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Engine, select

from ivr.store.tables import QUEUE_EVENT, events, utc

log = logging.getLogger("ivr.queue")
BRIDGED = ("bridged", "bridging-in-process")
WAITING_HORIZON = dt.timedelta(hours=2)  # an entry without an exit older than this is a lost event


@dataclass(frozen=True)
class Snapshot:
    """What the refresher last found: seconds per place ahead (None: too little history), callers waiting."""

    per_place_s: float | None = None
    history: int = 0
    waiting: int = 0
    ok: bool = False


def queue_rows(engine: Engine, since: dt.datetime) -> Sequence[Any]:
    """The queue's entries and exits since an instant, in order (the partial index ix_events_queue)."""
    columns = (events.c.call_sid, events.c.kind, events.c.at, events.c.detail, events.c.amount)
    query = select(*columns, events.c.position).where(QUEUE_EVENT, events.c.at >= since)
    with engine.connect() as connection:
        return connection.execute(query.order_by(events.c.at, events.c.id)).all()


def _place(detail: object) -> int:
    """The place a queue-entered event says the caller came in at (1 when it says none)."""
    text = str(detail) if detail else ""
    return int(text) if text.isdigit() else 1


def snapshot_in(engine: Engine, now: dt.datetime, window: dt.timedelta, min_history: int) -> Snapshot:
    """Seconds per place ahead from the calls bridged in the window (None below `min_history` of them), and
    the number of callers waiting, in one read whose times stay in the database.

    The refresher's figures need each row's time only against two instants (the estimate's window, the
    waiting horizon): compared in SQL, no row's time is parsed into a datetime and no Waiter is built, which
    was much of a worker's CPU for each refresh, taken beside its calls.
    """
    recent = (events.c.at >= now - window).label("recent")
    live = (events.c.at >= now - WAITING_HORIZON).label("live")
    columns = (events.c.call_sid, events.c.kind, events.c.detail, events.c.amount, recent, live)
    query = select(*columns).where(QUEUE_EVENT, events.c.at >= now - window - WAITING_HORIZON)
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(events.c.at, events.c.id)).all()
    places: dict[str, int] = {}  # the farthest place each call entered at
    waits: dict[str, tuple[int, int]] = {}  # bridged calls: (seconds waited, place)
    entered_last: dict[str, bool] = {}  # per call within the horizon: its last event was an entry
    for sid, kind, detail, amount, in_window, in_horizon in rows:
        entered = kind == "queue-entered"
        if entered:
            places[sid] = max(_place(detail), places.get(sid, 1))
        elif detail in BRIDGED and in_window:
            waits[sid] = (int(amount or 0), places.get(sid, 1))
        if in_horizon:
            entered_last[sid] = entered
    waiting = sum(entered_last.values())
    if len(waits) < min_history:
        return Snapshot(None, len(waits), waiting, ok=True)
    total_places = max(sum(p for _, p in waits.values()), 1)
    return Snapshot(sum(w for w, _ in waits.values()) / total_places, len(waits), waiting, ok=True)


class Waiter(NamedTuple):
    """A caller in the queue now: the call, when they came in, the key path where they pressed 0."""

    call_sid: str
    entered_at: dt.datetime
    position: str  # what they heard last: the menu or answer at this path (the agent is told)


def waiting_in(rows: Sequence[Any], now: dt.datetime) -> list[Waiter]:
    """The callers in the queue now according to the rows, first in first."""
    state: dict[str, Waiter | None] = {}
    for row in rows:
        if row.at >= now - WAITING_HORIZON:  # an entry without an exit older than this is a lost event
            entered = row.kind == "queue-entered"
            state[row.call_sid] = Waiter(row.call_sid, row.at, row.position) if entered else None
    return sorted((w for w in state.values() if w is not None), key=lambda w: w.entered_at)


def waiting_calls(engine: Engine, now: dt.datetime) -> list[Waiter]:
    """The callers in the queue now, first in first."""
    return waiting_in(queue_rows(engine, now - WAITING_HORIZON), now)


class Refresher:
    """One per worker: a thread that recomputes the snapshot every `every_s` seconds."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], dt.datetime],
        settings: Callable[[], tuple[int, int]],
        every_s: float = 20.0,
    ) -> None:
        self.engine, self.clock, self.settings, self.every_s = engine, clock, settings, every_s
        self.snapshot = Snapshot()
        self._pid = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def refresh(self) -> Snapshot:
        """Recompute now (the thread, and tests); on a database failure keep the last figures, marked."""
        window_min, min_history = self.settings()
        now = utc(self.clock())
        window = dt.timedelta(minutes=window_min)
        try:
            self.snapshot = snapshot_in(self.engine, now, window, min_history)
        except Exception as error:  # the estimate is a courtesy: never let it take anything down
            log.warning("queue estimate: database unavailable (%s)", type(error).__name__)
            self.snapshot = Snapshot(self.snapshot.per_place_s, self.snapshot.history, self.snapshot.waiting)
        return self.snapshot

    def current(self) -> Snapshot:
        """The last snapshot, from memory; starts this process's thread when it is not running."""
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                    self._pid = os.getpid()
                    self._thread = threading.Thread(
                        target=_refresh_while_used,
                        args=(weakref.ref(self),),
                        name="ivr-queue-estimate",
                        daemon=True,
                    )
                    self._thread.start()
        return self.snapshot


def _refresh_while_used(ref: weakref.ref[Refresher]) -> None:
    """The refresher's thread: holds it weakly, so it ends with its app (tests build many)."""
    while (refresher := ref()) is not None:
        refresher.refresh()
        every = refresher.every_s
        del refresher
        time.sleep(every)
