"""GET /healthz: 200 with the loaded flow's hash when a flow is loaded, 503 otherwise."""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, jsonify

from ivr.state import get_state
from ivr.store import extension as store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness and what is loaded: flow hash, audio coverage, the last reload error."""
    state = get_state()
    # what this worker serves now, not reloaded by this request: the watcher keeps it current, and
    # ops and the soak read each worker's convergence here
    loaded = state.loaded
    body: dict[str, object] = {
        "status": "ok" if loaded else "no flow loaded",
        "worker": os.getpid(),
        "last_reload_error": [str(p) for p in state.last_error] or None,
        "journal": journal_status(),  # database trouble shows here; the phone line stays up (200)
    }
    if loaded:
        bundle = loaded.bundle
        body.update(
            flow=bundle.digest,
            loaded_at=loaded.loaded_at,
            audio={"fresh": len(bundle.audio), "stale": len(bundle.stale), "missing": len(bundle.missing)},
        )
    return jsonify(body), 200 if loaded else 503


def journal_status() -> dict[str, object] | None:
    """This worker's journal writer's state (None when the app does not journal calls)."""
    journal = store.journal()
    return journal.status() if journal else None


def init_app(app: Flask) -> None:
    """Register the health check."""
    app.register_blueprint(bp)
