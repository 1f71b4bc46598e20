"""The figures the bank asks for, from the journal: calls, answers, deflection, agents, hang-ups, repeats."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, delete, func, or_, select

from ivr.store import report_queue
from ivr.store.tables import CALL_SPAN, calls, events, events_between, utc

TOKYO = ZoneInfo("Asia/Tokyo")
# events after which the caller was with a person, or being told goodbye: where a hang-up then happened
_HANGUP_KIND = {"agent": "agent", "agent-done": "agent", "no-input-final": "final", "invalid-final": "final"}
_POSITION_KINDS = ("menu", "answer", "agent-closed", *_HANGUP_KIND)


def _calls_in(start: dt.datetime | None, end: dt.datetime | None) -> Select[Any]:
    query = select(calls.c.call_sid, calls.c.started_at, calls.c.number_hash, calls.c.status)
    if start is not None:
        query = query.where(calls.c.started_at >= utc(start))
    if end is not None:
        query = query.where(calls.c.started_at < utc(end))
    return query


def hangup_position(call_events: Sequence[Any]) -> str:
    """Where the caller was when the call ended: the menu or answer last heard, or agent / final."""
    for row in reversed(call_events):
        if row.kind in ("menu", "answer"):
            return str(row.detail)
        if row.kind in _HANGUP_KIND:
            return _HANGUP_KIND[row.kind]
    return "greeting"


def _ranked(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def build(engine: Engine, start: dt.datetime | None, end: dt.datetime | None) -> dict[str, Any]:
    """The report for calls that started in [start, end) (None: no bound), days and hours in Tokyo time."""
    in_range = _calls_in(start, end)
    with engine.connect() as connection:
        call_rows = connection.execute(in_range).all()
        sids = in_range.with_only_columns(calls.c.call_sid).scalar_subquery()
        event_rows = connection.execute(
            select(
                events.c.call_sid,
                events.c.at,
                events.c.kind,
                events.c.position,
                events.c.detail,
                events.c.amount,
            )
            .where(*events_between(utc(start) if start else None, utc(end) if end else None))
            .where(events.c.call_sid.in_(sids))
            .order_by(events.c.at, events.c.id)  # by_call below keeps each call's events in this order
        ).all()
        held = report_queue.reservations(connection)
        by_hand = report_queue.console_outcomes(
            connection, utc(start) if start else None, utc(end) if end else None
        )
    by_call: dict[str, list[Any]] = {}
    for row in event_rows:
        by_call.setdefault(row.call_sid, []).append(row)
    line = {sid for sid, rows in by_call.items() if report_queue.is_agent_line(rows)}
    figures = summarize([c for c in call_rows if c.call_sid not in line], by_call, start, end)
    extra = report_queue.figures(
        [rows for sid, rows in by_call.items() if sid not in line], [by_call[sid] for sid in sorted(line)]
    )
    extra["callbacks"].update(held)
    outcomes = Counter(extra["callbacks"]["outcomes"]) + by_hand  # the agent line's and the console's
    extra["callbacks"]["outcomes"] = dict(sorted(outcomes.items()))
    return {**figures, **extra}


def summarize(
    call_rows: Iterable[Any],
    by_call: dict[str, list[Any]],
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> dict[str, Any]:
    """Count what the rows say."""
    per_day: Counter[str] = Counter()
    per_hour: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    answer_calls: Counter[str] = Counter()
    transfers: Counter[str] = Counter()
    hangups: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    numbers: Counter[str] = Counter()
    first_answer: list[float] = []
    deflected = total = 0
    for call in call_rows:
        total += 1
        local = call.started_at.replace(tzinfo=dt.UTC).astimezone(TOKYO)
        per_day[local.strftime("%Y-%m-%d")] += 1
        per_hour[local.strftime("%H")] += 1
        if call.number_hash:
            numbers[call.number_hash] += 1
        rows = by_call.get(call.call_sid, [])
        kinds.update(row.kind for row in rows)
        heard = [row for row in rows if row.kind == "answer"]
        answers.update(str(row.detail) for row in heard)
        answer_calls.update({str(row.detail) for row in heard})
        transfers.update(str(row.detail) for row in rows if row.kind == "agent-done")
        asked = any(row.kind in ("agent", "agent-closed") for row in rows)
        if heard and not asked:
            deflected += 1
        if heard:
            first_answer.append((heard[0].at - call.started_at).total_seconds())
        if call.status == "completed":
            hangups[hangup_position([row for row in rows if row.kind in _POSITION_KINDS])] += 1
    repeat = {number: n for number, n in numbers.items() if n > 1}
    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "calls": total,
        "calls_per_day": dict(sorted(per_day.items())),
        "calls_per_hour": dict(sorted(per_hour.items())),
        "answers": _ranked(answers),
        "answers_ranked": [
            {"answer": answer, "plays": plays, "calls": answer_calls[answer]}
            for answer, plays in _ranked(answers).items()
        ],
        "deflected": deflected,
        "deflection_rate": round(deflected / total, 4) if total else None,
        "agent_requests": {"in_hours": kinds["agent"], "out_of_hours": kinds["agent-closed"]},
        "transfers": _ranked(transfers),
        "hangups": _ranked(hangups),
        "seconds_to_first_answer": {
            "calls": len(first_answer),
            "median": round(statistics.median(first_answer), 1) if first_answer else None,
            "mean": round(statistics.fmean(first_answer), 1) if first_answer else None,
        },
        "callers": len(numbers),
        "repeat_callers": len(repeat),
        "repeat_calls": sum(n - 1 for n in repeat.values()),
        "no_input_final": kinds["no-input-final"],
        "invalid_final": kinds["invalid-final"],
        "fallbacks": kinds["fallback"],
    }


def purge(engine: Engine, before: dt.datetime) -> tuple[int, int]:
    """Delete calls that started, and events that happened, before the instant: (calls, events) deleted."""
    cutoff = utc(before)
    with engine.begin() as connection:
        old = select(calls.c.call_sid).where(calls.c.started_at < cutoff).scalar_subquery()
        gone_events = connection.execute(
            delete(events).where(
                events.c.at < cutoff + CALL_SPAN, or_(events.c.at < cutoff, events.c.call_sid.in_(old))
            )
        ).rowcount
        gone_calls = connection.execute(delete(calls).where(calls.c.started_at < cutoff)).rowcount
    return gone_calls, gone_events


def counts(engine: Engine) -> tuple[int, int]:
    """Rows in calls and events (benchmarks count them against requests)."""
    with engine.connect() as connection:
        n_calls = connection.execute(select(func.count()).select_from(calls)).scalar_one()
        n_events = connection.execute(select(func.count()).select_from(events)).scalar_one()
    return int(n_calls), int(n_events)
