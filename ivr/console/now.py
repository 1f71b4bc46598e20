"""The Now page: calls in progress from the journal and the panels, refreshed in place every few seconds."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy.exc import SQLAlchemyError

from ivr import clock
from ivr.console import panels
from ivr.console.pages import bp, me, tokyo
from ivr.store import extension as store
from ivr.store import live
from ivr.web.health import journal_status

WHERE = {
    "": "あいさつ",
    "agent": "オペレーター希望",
    "queue": "待ち行列",
    "agent-line": "オペレーター回線（担当者）",
}


def _live() -> dict[str, object]:
    now = clock.now()
    engine = store.engine()
    try:
        calls = live.in_progress(engine, now)
        problem = None
    except SQLAlchemyError as error:
        calls, problem = [], str(error).splitlines()[0][:200]
    rows = [
        {
            "sid": "…" + call.call_sid[-6:],
            "started": tokyo(call.started_at),
            "seconds": int((now - call.started_at).total_seconds()),
            "number": call.number_masked or "—",
            "where": WHERE.get(call.where, call.where),
        }
        for call in calls
    ]
    visible = [panel for panel in panels.panels(engine, now) if me().may(panel.role)]
    return {
        "calls": rows,
        "now": tokyo(now),
        "problem": problem,
        "panels": visible,
        "buffer": journal_status(),
        "refresh": current_app.config["IVR_CONSOLE_REFRESH_S"],
    }


@bp.get("/")
def now() -> str:
    """The page a supervisor keeps open."""
    return render_template("console/now.html", **_live())


@bp.get("/now/live")
def now_live() -> str:
    """The live part of the page, for htmx to swap in."""
    return render_template("console/now_live.html", **_live())
