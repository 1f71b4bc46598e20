"""The report's queue, callbacks and agent-line sections, from the journal and the reservations."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from ivr.store.tables import audit, callbacks
from ivr.store.waits import BRIDGED

LINE_PREFIX = "line-"  # the agent line's events: staff calls, not callers


def is_agent_line(rows: Iterable[Any]) -> bool:
    """Whether a call's events are the agent line's (they are not counted as callers' calls)."""
    return any(str(row.kind).startswith(LINE_PREFIX) for row in rows)


def figures(caller_rows: list[list[Any]], line_rows: list[list[Any]]) -> dict[str, Any]:
    """queue, callbacks (what the callers did) and agent_line (what the agents did)."""
    results: Counter[str] = Counter()
    offers: Counter[str] = Counter()
    keys: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    waits: list[int] = []
    kinds: Counter[str] = Counter()
    entered_calls = 0
    for rows in caller_rows:
        kinds.update(str(row.kind) for row in rows)
        entered_calls += any(row.kind == "queue-entered" for row in rows)
        for row in rows:
            if row.kind == "queue-left":
                results[str(row.detail)] += 1
                if row.detail in BRIDGED and row.amount is not None:
                    waits.append(int(row.amount))
            elif row.kind == "callback-offer":
                offers[str(row.detail)] += 1
            elif row.kind == "queue-key":
                keys[str(row.detail)] += 1
            elif row.kind == "callback-invalid":
                invalid[str(row.detail)] += 1
    line: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    takes: Counter[str] = Counter()
    logins: Counter[str] = Counter()
    for rows in line_rows:
        for row in rows:
            line[str(row.kind)] += 1
            if row.kind == "line-outcome":
                outcomes[str(row.detail)] += 1
            elif row.kind == "line-take":
                takes[str(row.detail)] += 1
            elif row.kind == "line-login":
                logins[str(row.detail)] += 1
    return {
        "queue": {
            "entered": kinds["queue-entered"],
            "callers": entered_calls,
            "results": dict(sorted(results.items())),
            "keys": dict(sorted(keys.items())),
            "connected": kinds["queue-connect"],
            "wait_s": {
                "bridged": len(waits),
                "median": round(statistics.median(waits), 1) if waits else None,
                "mean": round(statistics.fmean(waits), 1) if waits else None,
                "max": max(waits) if waits else None,
            },
        },
        "callbacks": {
            "offers": dict(sorted(offers.items())),
            "reserved": kinds["callback-reserved"],
            "duplicates": kinds["callback-duplicate"],
            "failed": kinds["callback-failed"],
            "withheld": kinds["callback-withheld"],
            "invalid": dict(sorted(invalid.items())),
            "outcomes": dict(sorted(outcomes.items())),
        },
        "agent_line": {
            "calls": len(line_rows),
            "logins": dict(sorted(logins.items())),
            "refused": line["line-refused"],
            "wrong_pins": line["line-pin-wrong"],
            "locked": line["line-locked"],
            "taken": dict(sorted(takes.items())),
            "errors": line["line-error"],
            # outcomes said too late: the reservation closed or another agent had taken it over
            "late_outcomes": line["line-outcome-late"],
        },
    }


def console_outcomes(connection: Connection, start: Any, end: Any) -> Counter[str]:
    """Outcomes recorded on the console's callbacks page (audit: `callback <id> <outcome> -> <status>`)."""
    query = select(audit.c.detail).where(audit.c.action == "callback-outcome")
    if start is not None:
        query = query.where(audit.c.at >= start)
    if end is not None:
        query = query.where(audit.c.at < end)
    found: Counter[str] = Counter()
    for (detail,) in connection.execute(query):
        parts = str(detail).split()
        if len(parts) >= 3 and parts[0] == "callback":
            found[parts[2]] += 1
    return found


def reservations(connection: Connection) -> dict[str, Any]:
    """Reservations by status now, and who revealed numbers (ivr callbacks --reveal)."""
    by_status: dict[Any, Any] = dict(
        connection.execute(select(callbacks.c.status, func.count()).group_by(callbacks.c.status)).all()
    )
    reveals = connection.execute(
        select(audit.c.at, audit.c.who, audit.c.action, audit.c.detail)
        .where(audit.c.action.like("reveal%"))  # the console's logins are in the same journal
        .order_by(audit.c.at, audit.c.id)
    ).all()
    return {
        "by_status": {str(k): int(v) for k, v in sorted(by_status.items())},
        "reveals": [
            {"at": row.at.isoformat(), "who": row.who, "action": row.action, "detail": row.detail}
            for row in reveals
        ],
    }
