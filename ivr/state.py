"""The loaded flow of this worker, and live reload: a changed, valid edit replaces it atomically."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from ivr import bundle as bundles
from ivr import metrics
from ivr.bundle import Bundle, Sources
from ivr.problems import FlowInvalid, Problem
from ivr.render import Renderer, Urls

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
        now = self._monotonic()
        if now - self._checked >= self.interval and self._lock.acquire(blocking=False):
            try:
                self._checked = now
                if self._files_stamp() != self._stamp:
                    self._reload()
            finally:
                self._lock.release()
        return self.loaded

    def _reload(self) -> None:
        try:
            loaded = self.load()
        except FlowInvalid as exc:
            metrics.RELOAD_FAILURES.inc()
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
        log.error("the flow has errors (run `flask --app app ivr check`):\n%s", exc)
    app.extensions["ivr.state"] = state


def get_state() -> FlowState:
    """The current app's flow state."""
    state: FlowState = current_app.extensions["ivr.state"]
    return state
