"""The callbacks page (agents and admins): reservations in order, a journaled reveal, each outcome recorded.

A number is shown in clear only after the reveal is in the audit journal, to the one user who asked, on
the one response that answers the POST (never in a URL, a log or the page anyone else sees).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from ivr import clock
from ivr.console.pages import bp, me, require, tokyo
from ivr.console.queue_panels import OUTCOMES, STATUSES
from ivr.flow.queue import QueueSettings
from ivr.state import get_state
from ivr.store import accounts, reservations
from ivr.store import extension as store
from ivr.store.sealed import InvalidToken, Sealer
from ivr.store.tables import OPEN_STATES, utc
from ivr.web.form import whole_number

# What an agent may record after calling a customer by hand (the agent line records its own).
RECORDABLE = ("talked", "no-answer", "busy", "wrong-number")
CLOSED_SHOWN = 50  # finished reservations listed under the open ones, newest first


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "asked": tokyo(row.asked_at.replace(tzinfo=dt.UTC)),
        "number": row.number_masked,
        "status": STATUSES.get(row.status, row.status),
        "open": row.status in OPEN_STATES,
        "attempts": row.attempts,
        "outcome": OUTCOMES.get(row.outcome or "", row.outcome or "—"),
        "agent": row.agent or "—",
        "erased": row.number_sealed is None,
    }


def _page(status: int = 200, **shown: Any) -> tuple[str, int]:
    listed = reservations.listing(store.engine())
    open_rows = [_row(row) for row in listed if row.status in OPEN_STATES]
    closed = [_row(row) for row in reversed(listed) if row.status not in OPEN_STATES][:CLOSED_SHOWN]
    page = render_template(
        "console/callbacks.html",
        open_rows=open_rows,
        closed=closed,
        outcomes=[(key, OUTCOMES[key]) for key in RECORDABLE],
        **shown,
    )
    return page, status


@bp.get("/callbacks")
@require("agent")
def callback_list() -> tuple[str, int]:
    """Open reservations in the order callers first asked for a person, then the latest finished ones."""
    saved = request.args.get("saved", "")
    return _page(saved=whole_number(saved, 9), result=request.args.get("result", ""))


def _sealer() -> Sealer | None:
    return store.current().sealer


@bp.post("/callbacks/<int:callback_id>/reveal")
@require("agent")
def reveal(callback_id: int) -> tuple[str, int]:
    """Journal who reveals which reservation's number, then show it in clear to them, on this page only."""
    engine, user = store.engine(), me()
    row = reservations.get(engine, callback_id)
    if row is None:
        return _page(404, problem=f"予約 {callback_id} はありません。")
    if row.number_sealed is None:
        return _page(410, problem=f"予約 {callback_id} の番号は保存期間を過ぎたため消去されています。")
    sealer = _sealer()
    if sealer is None:
        return _page(503, problem="IVR_DATA_KEY が設定されていないため、番号を表示できません。")
    try:  # journaled before anything is decrypted or shown; no journal line, no number
        accounts.note(
            engine, clock.now(), user.name, "reveal-console", f"callback {row.id} {row.number_masked}"
        )
    except SQLAlchemyError:
        current_app.logger.exception("console: could not journal a reveal")
        return _page(503, problem="操作の記録に失敗したため、番号を表示できません。")
    try:
        number = sealer.open(str(row.number_sealed))
    except InvalidToken:
        current_app.logger.error("callback %d: no key in IVR_DATA_KEY opens its number", row.id)
        return _page(500, problem=f"予約 {callback_id} の番号を復号できません（IVR_DATA_KEY の鍵を確認）。")
    return _page(revealed={row.id: number})


@bp.post("/callbacks/<int:callback_id>/outcome")
@require("agent")
def record_outcome(callback_id: int) -> BaseResponse | tuple[str, int]:
    """Record how a call made by hand ended (the agent line's retry rules), journaled with who and which."""
    result = request.form.get("outcome", "")
    if result not in RECORDABLE:
        return _page(400, problem="結果を選んでください。")
    engine, user, now = store.engine(), me(), clock.now()
    naive = utc(now)
    if not reservations.take(engine, callback_id, user.name, naive):
        return _page(409, problem=f"予約 {callback_id} は終了しているか、ほかの担当者が発信中です。")
    loaded = get_state().loaded
    q = loaded.bundle.flow.queue if loaded else QueueSettings()
    status = reservations.outcome(
        engine,
        callback_id,
        result,
        naive,
        agent=user.name,
        attempts=q.callback_attempts,
        retry_min=q.callback_retry_min,
    )
    if status == "unknown":  # closed or taken over between take() and now: nothing was recorded
        return _page(409, problem=f"予約 {callback_id} は終了しているか、ほかの担当者が発信中です。")
    accounts.note(engine, now, user.name, "callback-outcome", f"callback {callback_id} {result} -> {status}")
    return redirect(url_for("console.callback_list", saved=callback_id, result=result))
