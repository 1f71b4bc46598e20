"""The hotline with its journal off: what bench/webhook compares the journal's cost against.

The same app as `app:app`, built the same way; only this worker's journal is taken out after the
start, so webhooks count their metrics and log their line but buffer no event (`journal.record` sees
no journal). `application` is what granian serves (serve.py's, with the request deadline).
"""

from __future__ import annotations

from app import app
from ivr.store.journal import Journal

_journal: Journal | None = app.extensions.pop("ivr.journal", None)
if _journal is not None:
    _journal.stop()


def application() -> object:
    """serve.py's application: the same app object (journal already out) under the request deadline."""
    import serve

    return serve.application()
