"""The Now page's queue, agents and callbacks panels, from the journal and the reservations."""

from __future__ import annotations

import datetime as dt

from flask import Flask, url_for
from sqlalchemy import Engine

from ivr.console import panels
from ivr.console.pages import tokyo
from ivr.console.panels import Panel
from ivr.store import live, reservations

SHOWN = 10  # rows per panel; the headline counts them all
DOING = {
    ("line-login", ""): "メニュー",
    ("line-take", "queue"): "待っている方につないだ",
    ("line-take", "callback"): "折り返し発信",
}
OUTCOMES = {
    "talked": "話せた",
    "no-answer": "応答なし",
    "busy": "話し中",
    "wrong-number": "番号違い",
    "failed": "発信失敗",
    "canceled": "発信取りやめ",
}
STATUSES = {"pending": "待ち", "calling": "発信中", "done": "完了", "gave-up": "打ち切り"}


def minutes(seconds: float) -> str:
    """A duration as the pages say it: 2分05秒."""
    whole = max(int(seconds), 0)
    return f"{whole // 60}分{whole % 60:02d}秒"


def clock_time(instant: dt.datetime) -> str:
    """An instant as Tokyo hours and minutes."""
    return tokyo(instant)[11:16]


def waited(now: dt.datetime, since: dt.datetime) -> str:
    """How long ago an instant was, as the pages say it."""
    return minutes((now - since).total_seconds())


def queue(engine: Engine, now: dt.datetime) -> Panel:
    """Callers in the queue now (entered, not left), the longest wait first."""
    found = live.waiting(engine, now)
    title = "待ち行列（待っている方・最長の待ち時間）"
    if not found:
        return Panel(title, headline="0人待ち", empty="いま待っている方はいません。")
    longest = waited(now, found[0].entered_at)
    rows = tuple(
        (str(place), "…" + w.call_sid[-6:], clock_time(w.entered_at), waited(now, w.entered_at),
         w.number_masked or "—")
        for place, w in enumerate(found[:SHOWN], 1)
    )  # fmt: skip
    return Panel(
        title,
        headline=f"{len(found)}人待ち・最長 {longest}",
        columns=("順", "通話", "待ち始め", "待ち時間", "発信者（マスク済み）"),
        rows=rows,
    )


def _doing(line: live.OnLine) -> str:
    if line.last == "line-outcome":
        return f"折り返しの結果を記録（{OUTCOMES.get(line.last_detail, line.last_detail)}）"
    return DOING.get((line.last, line.last_detail), line.last)


def agents(engine: Engine, now: dt.datetime) -> Panel:
    """Agents signed in on the agent line (their calls not ended), with the last thing each did."""
    found = live.on_agent_line(engine, now)
    title = "オペレーター回線の担当者"
    if not found:
        return Panel(title, headline="0人", empty="いまオペレーター回線に入っている担当者はいません。")
    rows = tuple(
        (line.agent, clock_time(line.since), waited(now, line.since),
         f"{_doing(line)} {clock_time(line.last_at)}")
        for line in found[:SHOWN]
    )  # fmt: skip
    return Panel(
        title, headline=f"{len(found)}人", columns=("担当者", "開始", "経過", "最後の操作"), rows=rows
    )


def pending(engine: Engine, now: dt.datetime) -> Panel:
    """Open reservations: how many, the oldest request, the first few in order (numbers masked)."""
    count, first = reservations.oldest_open(engine, SHOWN)
    title = "折り返し待ち"
    link = (("折り返しの一覧へ", url_for("console.callback_list")),)
    if not count:
        return Panel(title, headline="0件", empty="折り返しの予約はありません。", role="agent", links=link)
    oldest = first[0].asked_at.replace(tzinfo=dt.UTC)
    rows = tuple(
        (str(row.id), clock_time(row.asked_at.replace(tzinfo=dt.UTC)), row.number_masked,
         STATUSES.get(row.status, row.status), str(row.attempts))
        for row in first
    )  # fmt: skip
    return Panel(
        title,
        headline=f"{count}件・最も古い受付 {clock_time(oldest)}（{waited(now, oldest)}前）",
        columns=("予約", "受付", "番号（マスク済み）", "状態", "発信回数"),
        rows=rows,
        role="agent",
        links=link,
    )


def init_app(app: Flask) -> None:
    """Fill the Now page's queue, agents and callbacks panels."""
    panels.register(app, "queue", queue)
    panels.register(app, "agents", agents)
    panels.register(app, "callbacks", pending)
