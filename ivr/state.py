"""The loaded flow of this worker, and live reload: a changed, valid edit replaces it atomically."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from ivr.call.render import Renderer, Urls
from ivr.flow import bundle as bundles
from ivr.flow.bundle import Bundle, Sources
from ivr.flow.problems import FlowInvalid, Problem

log = logging.getLogger("ivr.reload")
Stamp = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Loaded:
    """One good flow with its renderer; swapped as a whole, never changed in place."""

    bundle: Bundle
    renderer: Renderer
    loaded_at: float


class FlowState:
    """Holds the last good flow and checks the ops files for changes at most every `interval` seconds."""

    def __init__(
        self, sources: Sources, urls: Urls, interval: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.sources, self.urls, self.interval, self._monotonic = sources, urls, interval, monotonic
        self.loaded: Loaded | None = None
        self.last_error: list[Problem] = []
        self.on_reject: list[Callable[[], None]] = []  # told of each refused edit (the metrics count it)
        self._stamp: Stamp = ()
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def _files_stamp(self) -> Stamp:
        stamp = []
        for path in self.sources.files():
            try:
                info = path.stat()
                stamp.append((str(path), info.st_mtime_ns, info.st_size))
            except OSError:
                stamp.append((str(path), -1, -1))
        return tuple(stamp)

    def load(self) -> Loaded:
        """Load now; raise FlowInvalid (and keep the last good flow) when the files are broken."""
        stamp = self._files_stamp()
        try:
            bundle = bundles.load(self.sources)
        except FlowInvalid as exc:
            self._stamp, self.last_error = stamp, exc.problems
            raise
        self.loaded = Loaded(bundle, Renderer(bundle, self.urls), time.time())
        self._stamp, self.last_error = stamp, []
        for warning in bundle.warnings:
            log.warning("%s", warning)
        if bundle.stale or bundle.missing:
            log.warning(
                "audio missing for %d and stale for %d prompts; they are spoken with <Say> until "
                "`flask --app app ivr synth` is run",
                len(bundle.missing),
                len(bundle.stale),
            )
        return self.loaded

    def current(self) -> Loaded | None:
        """The flow to answer with, after a reload if the files changed since the last look."""
        if self._monotonic() - self._checked >= self.interval:
            self.poll(blocking=False)
        return self.loaded

    def poll(self, *, blocking: bool = True) -> None:
        """Look at the files' stamps now and reload when they changed (at most one look at a time)."""
        if not self._lock.acquire(blocking=blocking):
            return
        try:
            self._checked = self._monotonic()
            if self._files_stamp() != self._stamp:
                self._reload()
        finally:
            self._lock.release()

    def watch(self) -> threading.Thread:
        """Poll every interval from a daemon thread, so a worker that serves no request converges too.

        The thread holds the state weakly and ends when the state is gone (tests build many apps).
        """
        ref, interval = weakref.ref(self), self.interval

        def run() -> None:
            while (state := ref()) is not None:
                try:
                    state.poll()
                except Exception:  # a reload never raises, but the watcher must outlive anything
                    log.exception("looking at the ops files failed; trying again in %s s", interval)
                del state
                time.sleep(interval)

        thread = threading.Thread(target=run, name="ivr-flow-watch", daemon=True)
        thread.start()
        return thread

    def _reload(self) -> None:
        try:
            loaded = self.load()
        except FlowInvalid as exc:
            for listener in self.on_reject:
                listener()
            log.error(
                "flow edit rejected; still serving flow %s. Problems:\n%s",
                self.loaded.bundle.digest if self.loaded else "(none)",
                exc,
            )
            return
        log.info("flow reloaded: %s", loaded.bundle.digest)


def init_app(app: Flask, *, strict: bool) -> None:
    """Load the flow at start; refuse to start with a broken one unless running ops commands."""
    cfg = app.config
    sources = Sources(Path(cfg["IVR_FLOWS"]), Path(cfg["IVR_PROMPTS"]), Path(cfg["IVR_AUDIO"]))
    state = FlowState(
        sources, Urls(cfg["PUBLIC_BASE_URL"], cfg["AUDIO_BASE_URL"]), float(cfg["IVR_RELOAD_INTERVAL_S"])
    )
    try:
        state.load()
    except FlowInvalid as exc:
        if strict:
            raise
        # one line: the ops command itself lists the problems (`ivr check` prints each with its fix)
        log.warning("the flow has %d errors; `flask --app app ivr check` lists them", len(exc.problems))
    app.extensions["ivr.state"] = state
    if strict and state.interval > 0:  # serving: every worker follows edits, whether or not it is called
        state.watch()


def state_of(app: Flask) -> FlowState:
    """An app's flow state."""
    state: FlowState = app.extensions["ivr.state"]
    return state


def get_state() -> FlowState:
    """The current app's flow state."""
    return state_of(current_app._get_current_object())  # type: ignore[attr-defined]  # (the proxy costs)


def estimate_settings(app: Flask) -> Callable[[], tuple[int, int]]:
    """The loaded flow's queue estimate settings (window in minutes, least history), read at each refresh."""

    def settings() -> tuple[int, int]:
        loaded = state_of(app).loaded
        q = loaded.bundle.flow.queue if loaded else None
        return (q.estimate_window_min, q.estimate_min_history) if q else (60, 5)

    return settings
