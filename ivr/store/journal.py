"""The journal writer: each worker buffers events and a background thread writes them in batches.

A webhook only appends to a bounded in-memory buffer (never waits on the database): an Event, or what it
noted for `prepare` to make the Event of in the writer thread (ivr.store.rows). Every
`interval_s` the thread writes what is buffered, one batch in one transaction (more only to catch up on a
backlog), so a killed worker leaves whole batches or nothing. When the database fails, the batch goes
back to the buffer and is retried; when the buffer is full, new events are dropped and counted (the phone
line matters more than a row).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, cast

from sqlalchemy import Engine, exc

from ivr.store.rows import Event, KnownCalls
from ivr.store.write import write_batch

log = logging.getLogger("ivr.journal")
dead_log = logging.getLogger("ivr.journal.dead")  # the rows the database refused, masked like every line


def refused(error: BaseException) -> bool:
    """The database (or its driver) refused the rows themselves: the same rows would fail again.

    A failure of the connection, the disk or a lock is not refusal: those rows are retried as they are.
    """
    if isinstance(error, exc.DBAPIError):
        return isinstance(error, exc.DataError | exc.IntegrityError) and not error.connection_invalidated
    # not the database's own error: the driver could not convert a row (an integer beyond its column's)
    return not isinstance(error, exc.SQLAlchemyError | OSError)


def _forget_threads() -> None:
    """In a forked child the parent's writer threads do not exist: each journal starts its own.

    Their locks are new too: one the parent's writer held at the fork (taking a batch, writing it) would
    stay held in the child for ever, with no thread there to let it go.
    """
    for journal in list(_journals):
        journal._thread = None
        journal._cond = threading.Condition()
        journal._write_lock = threading.Lock()


def stop_all() -> None:
    """Flush and stop every journal of this process (its exit, the request deadline)."""
    for journal in list(_journals):
        journal.stop()


_journals: weakref.WeakSet[Journal] = weakref.WeakSet()
os.register_at_fork(after_in_child=_forget_threads)
atexit.register(stop_all)
# Granian's workers are multiprocessing children: they end through os._exit after these finalizers
# (before the metrics' own, which has a lower priority: the last batch's counts still reach them).
multiprocessing.util.Finalize(None, stop_all, exitpriority=10)


class Journal:
    """A bounded buffer and the thread that empties it into the database."""

    def __init__(
        self,
        engine: Engine,
        *,
        capacity: int = 20_000,
        # at most a second behind: the fewer the batches, the less their transactions cost the line
        interval_s: float = 1.0,
        batch_max: int = 2_000,
        idle_exit_s: float = 30.0,
        on_change: Callable[[Journal], None] | None = None,
        prepare: Callable[[Any], Event] | None = None,
        slice_rows: int = 16,
        pause_s: float = 0.002,
    ) -> None:
        self.engine = engine
        self.capacity, self.interval_s, self.batch_max = capacity, interval_s, batch_max
        self.idle_exit_s = idle_exit_s  # an idle thread ends; the next event starts another
        self.on_change = on_change  # metrics: depth and drops after each change
        # what a webhook noted, made an Event in the writer's loop, where the same code runs warm
        self.prepare = prepare
        # Notes are made in slices with a pause between: a request thread waits for the GIL each time the
        # writer holds it, so a second's notes made in one go would land on the requests of that moment.
        self.slice_rows, self.pause_s, self.sleep = slice_rows, pause_s, time.sleep
        self._buffer: deque[Any] = deque()
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()  # the thread and flush() never write at the same time
        self._thread: threading.Thread | None = None
        self._known = KnownCalls()  # the calls whose rows this journal has written
        _journals.add(self)
        self._stopping = False
        self.dropped = 0
        self.dead = 0  # rows the database refused, set aside in the dead-letter log
        self.written = 0
        self.failures = 0
        self.last_error: str | None = None

    def note(self, event: Any) -> None:
        """Buffer one event (or a note for `prepare`); never blocks on I/O, never raises for the database.

        The request thread only appends (a deque's append and len are atomic: no lock on this path; the
        bound may be passed by the few events of racing threads). The writer thread reports the depth
        after each batch, so on_change (a metrics file write) runs here only when an event is dropped.
        """
        if len(self._buffer) >= self.capacity:
            self.dropped += 1  # += is not atomic: a drop racing another may go uncounted, never an event
            if self.on_change:
                self.on_change(self)
            return
        self._buffer.append(event)
        if self._thread is None:  # the first event, or the thread ended (idle, stopped; see _run)
            with self._cond:
                self._ensure_thread()

    @property
    def depth(self) -> int:
        """Events waiting to be written."""
        return len(self._buffer)

    def _ensure_thread(self) -> None:
        # a forked child starts with no thread (_forget_threads): it starts this process's own
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="ivr-journal", daemon=True)
            self._thread.start()

    def _take(self) -> list[Event]:
        with self._cond:
            count = min(len(self._buffer), self.batch_max)
            taken = [self._buffer.popleft() for _ in range(count)]
        if self.prepare is None:
            return cast(list[Event], taken)
        # made now, before any write: a note never waits for the database (it may hold what the Event
        # only keeps masked and hashed), and a batch given back to retry holds Events only
        ready: list[Event] = []
        for n, entry in enumerate(taken):
            if n and n % self.slice_rows == 0 and not self._stopping:  # a stop's flush does not pause
                self.sleep(self.pause_s)
            try:
                ready.append(self.prepare(entry))
            except Exception:  # one bad note costs its own row, never the batch
                self.dropped += 1
                kind = entry[0] if isinstance(entry, tuple) and entry else type(entry).__name__
                log.exception("journal: could not record %s", kind)
        return ready

    def _give_back(self, batch: Iterable[Event]) -> None:
        with self._cond:
            self._buffer.extendleft(reversed(list(batch)))
            while len(self._buffer) > self.capacity:  # newer events arrived meanwhile: drop the newest
                self._buffer.pop()
                self.dropped += 1

    def write_once(self) -> int:
        """Write one batch now; the number of events written (0 when empty or on failure)."""
        with self._write_lock:
            batch = self._take()
            if not batch:
                return 0
            written, error = self._write(batch)
            if error is not None:  # the database failed: what was not written waits to be retried
                self.failures += 1
                if self.last_error is None:
                    log.error(
                        "journal: database write failed, %d events kept to retry: %s",
                        len(batch) - written,
                        error,
                    )
                self.last_error = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
                if not written:
                    return 0
            else:
                if self.last_error is not None:
                    log.info("journal: database writes work again")
                self.last_error = None
            self.written += written
        if self.on_change:
            self.on_change(self)
        return written

    def _write(self, batch: list[Event]) -> tuple[int, Exception | None]:
        """Write a batch: (events written, the failure that stopped it).

        A batch whose rows the database refuses is split until each refused row stands alone: that row is
        set aside (the dead-letter log, counted), every other one is written. Any other failure (the
        database down, read-only, locked) gives what is not written back to the buffer, to retry.
        """
        parts, written = [batch], 0
        while parts:
            part = parts.pop()
            try:
                write_batch(self.engine, part, self._known)
            except Exception as error:
                if not refused(error):
                    self._give_back([event for rest in (part, *reversed(parts)) for event in rest])
                    return written, error
                if len(part) == 1:
                    self.dead += 1
                    reason = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
                    dead_log.error(
                        "journal: the database refused this row, set aside: %r (%s)", part[0], reason
                    )
                else:  # the first half is written first: the rows keep their order
                    parts += [part[len(part) // 2 :], part[: len(part) // 2]]
                continue
            written += len(part)
        return written, None

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Write everything buffered now (graceful stop, tests); False when the database would not take it."""
        end = time.monotonic() + timeout_s
        while self._buffer:
            if not self.write_once() and (self.last_error is not None or time.monotonic() > end):
                return not self._buffer
        return True

    def stop(self, timeout_s: float = 5.0) -> None:
        """Flush and stop the thread (at a worker's exit, or past the request deadline)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and thread.is_alive():
            # a batch the thread has taken is out of the buffer until committed: wait for it, or a
            # process ending right after stop() (granian's worker, os._exit) loses it
            thread.join(timeout_s)
        if self._buffer and not self.flush(timeout_s):
            log.error("journal: %d events could not be written at stop: lost", self.depth)

    def _run(self) -> None:
        try:
            self._loop()
        finally:  # however the thread ends, the next note() starts another
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _loop(self) -> None:
        backoff, idle_since = self.interval_s, time.monotonic()
        if self.on_change:
            self.on_change(self)  # the depth gauge starts with this thread
        while True:
            with self._cond:
                if self._stopping:
                    return
                if not self._buffer and time.monotonic() - idle_since > self.idle_exit_s:
                    self._thread = None  # under the lock: note() starts a new thread from here on
                    if not self._buffer:  # note() appends without the lock: one may have come meanwhile
                        return
                    self._thread = threading.current_thread()
                self._cond.wait(backoff)
                if self._stopping:
                    return
                if self._buffer:
                    idle_since = time.monotonic()
            # One batch a tick. Events that came while it was written wait for the next tick: writing them
            # at once made, under load, a stream of small batches each paying a transaction's round trips.
            # Only a backlog of whole batches (the database was down, or slower than the line) goes on.
            if self._buffer and self.write_once():
                while len(self._buffer) >= self.batch_max and self.write_once():
                    pass
            # while the database is down, try less often (at most every 5 s), back to normal once it works
            backoff = min(backoff * 2, 5.0) if self.last_error else self.interval_s

    def status(self) -> dict[str, object]:
        """What /healthz shows: ok, buffered, dropped, refused (set aside), written, the last error."""
        return {
            "ok": self.last_error is None and self.dropped == 0 and self.dead == 0,
            "buffered": self.depth,
            "dropped": self.dropped,
            "refused": self.dead,
            "written": self.written,
            "last_error": self.last_error,
        }
