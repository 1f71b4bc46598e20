"""GET /metrics for Prometheus, behind a bearer token; multiprocess mode under granian's workers."""

from __future__ import annotations

import hmac
import multiprocessing.util
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from ivr.state import state_of
from ivr.store import extension as store

if TYPE_CHECKING:
    from ivr.store.journal import Journal

bp = Blueprint("metrics", __name__)
CALLS = Counter("ivr_calls", "Incoming calls")
KEYS = Counter("ivr_keys", "Keys pressed, by the menu's key path (start = the start menu)", ["menu"])
ANSWERS = Counter("ivr_answers_played", "Answers played from the start, by answer", ["answer"])
AGENT_REQUESTS = Counter("ivr_agent_requests", "Callers asking for a person", ["hours"])
TRANSFERS = Counter("ivr_transfers", "Transfers to a person, by Twilio's DialCallStatus", ["outcome"])
FALLBACKS = Counter("ivr_fallbacks", "Requests on Twilio's fallback URL")
RELOAD_FAILURES = Counter("ivr_reload_failures", "Edits of the flow files refused by a worker")
SIGNATURE_REJECTIONS = Counter("ivr_signature_rejections", "Voice requests refused for their signature")
JOURNAL_BUFFERED = Gauge(
    "ivr_journal_buffered", "Journal events waiting for the database", multiprocess_mode="livesum"
)
JOURNAL_DROPPED = Counter(
    "ivr_journal_dropped", "Journal events dropped: buffer full while the database failed"
)
JOURNAL_REFUSED = Counter(
    "ivr_journal_refused",
    "Journal rows the database refused, set aside in the dead-letter log (ivr.journal.dead)",
)
_SEEN_DROPS: dict[int, int] = {}
_SEEN_REFUSED: dict[int, int] = {}
_CHILDREN: dict[Counter, dict[str, Counter]] = {}


def _child(metric: Counter, value: str) -> Counter:
    """metric.labels(value), kept: prometheus_client checks the labels and takes a lock on each call."""
    children = _CHILDREN.setdefault(metric, {})
    child = children.get(value)
    if child is None:
        child = metric.labels(value)
        if len(children) < 1000:  # label values come from the flow and Twilio: a few dozen in practice
            children[value] = child
    return child


def observe(event: str, fields: Mapping[str, object]) -> None:
    """Count one call-log event."""
    if event == "incoming":
        CALLS.inc()
    elif event == "key":
        _child(KEYS, str(fields.get("p", "")) or "start").inc()
    elif event == "answer":
        _child(ANSWERS, str(fields.get("answer", ""))).inc()
    elif event in ("agent", "agent-closed"):
        _child(AGENT_REQUESTS, "in" if event == "agent" else "out").inc()
    elif event == "agent-done":
        _child(TRANSFERS, str(fields.get("outcome", "")) or "unknown").inc()
    elif event == "fallback":
        FALLBACKS.inc()


def journal_changed(journal: Journal) -> None:
    """Follow a journal's buffer depth, its drops and the rows the database refused."""
    JOURNAL_BUFFERED.set(journal.depth)
    for total, seen, counter in (
        (journal.dropped, _SEEN_DROPS, JOURNAL_DROPPED),
        (journal.dead, _SEEN_REFUSED, JOURNAL_REFUSED),
    ):
        new = total - seen.get(id(journal), 0)
        if new > 0:
            counter.inc(new)
            seen[id(journal)] = total


def process_exit() -> None:
    """This worker ends: its live gauges stop counting (granian's master does not mark dead workers)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


@bp.get("/metrics")
def scrape() -> Response:
    """The counters of every worker; 404 unless IVR_METRICS_TOKEN is set, 401 without it as bearer."""
    token = current_app.config["IVR_METRICS_TOKEN"]
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "").encode("utf-8")
    if not hmac.compare_digest(given, f"Bearer {token}".encode()):
        return Response("401 Unauthorized\n", 401, {"WWW-Authenticate": "Bearer"}, mimetype="text/plain")
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Register /metrics and the refused-edit count (ivr.web.signature counts refused signatures)."""
    app.register_blueprint(bp)
    state_of(app).on_reject.append(RELOAD_FAILURES.inc)
    journal = store.of(app).journal
    if journal is not None:
        journal.on_change = journal_changed


# A granian worker is a multiprocessing child and ends through os._exit after its finalizers: this one
# runs after the journal's last flush (a higher priority), whose counts it still reports.
multiprocessing.util.Finalize(None, process_exit, exitpriority=9)
