"""The admins' page: who may use the console, and the audit journal (logins, wrong passwords, lockouts)."""

from __future__ import annotations

import datetime as dt

from flask import render_template

from ivr.console.pages import ROLE_NAMES, bp, require, tokyo
from ivr.store import accounts
from ivr.store import extension as store


@bp.get("/users")
@require("admin")
def people() -> str:
    """Users with their role and lock, and the newest audit lines (managed with `ivr user …`)."""
    engine = store.engine()
    listed = accounts.listing(engine)
    audit = [
        {
            "at": tokyo(row.at.replace(tzinfo=dt.UTC)),
            "user": row.who,
            "action": row.action,
            "detail": row.detail,
        }
        for row in accounts.recent_audit(engine)
    ]
    return render_template(
        "console/users.html", users=listed, audit=audit, roles=ROLE_NAMES, tokyo=tokyo, utc=dt.UTC
    )
