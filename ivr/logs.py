"""Log lines for a server under load: the time formatted once a second, the lines written by a thread.

Every webhook logs a call line. Through a plain StreamHandler each line costs a `write` system call
and a `strftime`, a visible share of what the hotline adds to a request. Here the request thread only
formats the line (the masking filter on the handler still sees every record first) and appends it; a
thread per process writes what has gathered every FLUSH_S in one write. Warnings and errors are written
at once, with what is pending before them, so a refused start or a failure is never late or reordered.
The ops commands keep a plain handler: their output is read as it comes.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing.util
import os
import sys
import threading
import time
import weakref
from collections import deque
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FLUSH_S = 0.1  # how late an INFO line may reach the log at most (tail -f shows it at once to a person)


class Formatter(logging.Formatter):
    """logging.Formatter with the same asctime, its date part made once per second instead of per line."""

    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """'2026-11-29 20:51:18,117', as logging's default format writes it."""
        if datefmt:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached = self._second  # one tuple: threads see a whole pair or the other whole pair
        if cached[0] != second:
            cached = (second, time.strftime(self.default_time_format, self.converter(second)))
            self._second = cached
        return f"{cached[1]},{int(record.msecs):03d}"


class BackgroundWriter(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler whose callers only format; a thread of this process writes the lines in batches."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._batches: deque[list[str]] = deque()  # handed over, not yet written
        self._writing = threading.Lock()  # one writer at a time
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        _writers.add(self)
        os.register_at_fork(after_in_child=self._forget_thread)  # the parent's thread is not in the child
        atexit.register(self.flush)
        # granian's workers end through os._exit after multiprocessing's finalizers (not atexit)
        multiprocessing.util.Finalize(None, self.flush, exitpriority=1)  # after the journal's (10)

    def emit(self, record: logging.LogRecord) -> None:
        """Format now (under the handler's lock, as logging calls it); write now only from WARNING up."""
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        if record.levelno >= logging.WARNING:
            self.flush()
        elif not self._ready.is_set():
            if self._thread is None:
                self._start_thread()
            self._ready.set()

    def flush(self) -> None:
        """Write every pending line in one write (logging's shutdown and the exit hooks call it too).

        The lines are handed over under the handler's lock (which every log call holds) and written under
        a lock of their own that never waits for the handler's: a slow stderr holds up this writer, not
        the requests logging meanwhile, and batches are written in the order they were handed over.
        """
        assert self.lock is not None  # Handler.__init__ made it
        with self.lock:
            if self._pending:
                self._batches.append(self._pending)
                self._pending = []
        # a closed or full stream must not fail a request or the exit
        with self._writing, contextlib.suppress(Exception):
            while self._batches:
                self.stream.write("\n".join(self._batches.popleft()) + "\n")
            self.stream.flush()  # not StreamHandler.flush: it takes the handler's lock, which a warning holds

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ivr-log-writer", daemon=True)
        self._thread.start()

    def _forget_thread(self) -> None:
        # in the child the parent's thread does not exist; a lock it held at the fork (inside a write)
        # would stay held for ever, so the child's flushes get their own
        self._thread = None
        self._writing = threading.Lock()
        self._ready = threading.Event()

    def _run(self) -> None:
        while True:
            self._ready.wait()
            time.sleep(FLUSH_S)  # gather what the next requests log
            self._ready.clear()
            self.flush()


_writers: weakref.WeakSet[BackgroundWriter] = weakref.WeakSet()


def flush_all() -> None:
    """Write what every BackgroundWriter of this process holds (before an exit that skips the exit hooks)."""
    for handler in list(_writers):
        handler.flush()


def write_in_batches(logger: logging.Logger, stream: TextIO, fmt: str = "%(message)s") -> BackgroundWriter:
    """The logger's lines (a server's access log) through a BackgroundWriter instead of its own handlers.

    A plain StreamHandler writes and flushes every line: a system call per request on a busy line.
    """
    handler = BackgroundWriter(stream)
    handler.setFormatter(logging.Formatter(fmt))
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    return handler


def configure(*, serving: bool) -> None:
    """Log INFO and up to stderr, unless logging is already set up (pytest, an embedding server)."""
    root = logging.getLogger()
    if root.handlers:
        return
    if serving:
        # What logging's "Optimization" notes turn off when no format asks for it (no format here names
        # them): the caller's file and line, the thread and multiprocessing names (the process id
        # stays).
        logging._srcfile = None
        logging.logThreads = logging.logMultiprocessing = False
    handler = BackgroundWriter(sys.stderr) if serving else logging.StreamHandler(sys.stderr)
    handler.setFormatter(Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
