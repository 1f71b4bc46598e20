"""A request timeout for servers without one (granian): a worker stuck on a request past it exits.

Twilio waits 15 s for a webhook; a request still running after IVR_REQUEST_TIMEOUT_S (10 s) is stuck,
and its worker ends (after writing its journal and its pending log lines) so that the server starts a
fresh one. A watcher thread looks once a second; a request costs two dict operations.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("ivr.deadline")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Deadline:
    """WSGI middleware: note when each request starts; the watcher ends the worker past the timeout."""

    def __init__(self, app: WSGIApp, timeout_s: float, on_timeout: Callable[[], None]) -> None:
        self.app, self.timeout_s, self.on_timeout = app, timeout_s, on_timeout
        self.running: dict[int, tuple[float, str]] = {}
        self._pid = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Run the request under watch (the body is built by Flask before it returns)."""
        if self._pid != os.getpid():  # first request of this process (after a fork): start its watcher
            self._pid = os.getpid()
            threading.Thread(target=self._watch, name="ivr-deadline", daemon=True).start()
        ident = threading.get_ident()
        self.running[ident] = (time.monotonic(), environ.get("PATH_INFO", ""))
        try:
            return self.app(environ, start_response)
        finally:
            del self.running[ident]

    def overdue(self, now: float) -> list[str]:
        """Paths of the requests running for longer than the timeout."""
        return [path for started, path in list(self.running.values()) if now - started > self.timeout_s]

    def _watch(self) -> None:
        while True:
            time.sleep(1.0)
            late = self.overdue(time.monotonic())
            if late:
                log.error("request timeout: %s ran over %g s; this worker exits", late[0], self.timeout_s)
                self.on_timeout()
                os._exit(1)
