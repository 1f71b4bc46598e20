"""The call log: one masked line per event, its metrics, and its row in this worker's journal."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from flask import current_app

from ivr import clock
from ivr.call.notes import Note
from ivr.privacy import mask_number, printable
from ivr.store import extension as store
from ivr.web import metrics
from ivr.web.form import current_request

log = logging.getLogger("ivr.call")
jlog = logging.getLogger("ivr.journal")


def note(
    event: str,
    *,
    pressed: str = "",
    form: Mapping[str, str] | None = None,
    line: bool = True,
    count: bool = True,
    row: bool = True,
    caller: bool = False,
    **fields: object,
) -> Mapping[str, str]:
    """Journal one event of the call: its log line, its metrics and its row; never fails a webhook.

    Returns the request's form. `pressed`: the keys that led to the event (its position is where they
    were pressed). `form`: the request's, when the caller holds it already (each lookup through the
    request context costs). `line`, `count`, `row`: one webhook journals one row, so an event whose row
    is another's says row=False, and one already logged and counted says line=False, count=False.
    `caller`: the row brings the caller's number to the call's row (the incoming call's start menu).
    """
    if form is None:
        form = current_request().form
    if line and log.isEnabledFor(logging.INFO):
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        text = f"{event} call={form.get('CallSid', '-')[:40]} from={mask_number(form.get('From'))} {extra}"
        log.info(printable(text))
    if count:
        try:
            metrics.observe(event, fields)
        except Exception:  # the caller's call matters more than a counter
            jlog.exception("metrics: could not count %s", event)
    if row:
        _row(event, fields, form, pressed, caller)
    return form


def note_all(notes: Iterable[Note]) -> None:
    """Journal what a call decision says happened, in order (each note's line, metrics and row)."""
    for said in notes:
        note(said.event, **said.fields)


def _row(
    event: str, fields: Mapping[str, object], form: Mapping[str, str], pressed: str, caller: bool
) -> None:
    """Note what the request holds for the writer to make the row of (ivr.store.rows)."""
    try:
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # (the proxy costs)
        journal = store.of(app).journal
        if journal is None:
            return
        sid = form.get("CallSid")
        if not sid:
            return
        number = form.get("From") if caller else None
        seconds = form.get("CallDuration") if event == "status" else None
        journal.note((event, fields, sid, number, seconds, pressed, clock.stamp(app)))
    except Exception:  # the caller's call matters more than its journal line
        jlog.exception("journal: could not record %s", event)
