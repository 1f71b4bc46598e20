"""The console on the queue: the Now page's queue, agents and callbacks panels, the callbacks page."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from console_helpers import csrf_token, flush, signed_in
from helpers import FixedClock, make_app, parse, twilio_for
from ivr.store import engine as engines
from ivr.store import reservations as reservations_store
from ivr.store.tables import audit, callbacks, utc
from ivr.testing import Twilio

AGENT = "+819099990000"
FIRST, SECOND = "+819012345678", "+818087654321"
QUEUE_FORM = {"QueueSid": "QU" + "0" * 32, "AvgQueueTime": "0", "CurrentQueueSize": "1"}


@pytest.fixture
def store_app(files: Path, clock: FixedClock, migrated_url: str) -> Flask:
    """The app on an empty SQLite or PostgreSQL store, with one agent (PIN 4321) on the agent line."""
    app = make_app(files, clock, DATABASE_URL=migrated_url)
    added = app.test_cli_runner().invoke(
        args=["ivr", "agent", "add", "sato", "--number", AGENT], input="4321\n4321\n"
    )
    assert added.exit_code == 0, added.output
    return app


def caller(app: Flask, sid: str, number: str) -> Twilio:
    twilio = twilio_for(app.test_client())
    twilio.form.update(CallSid=sid, From=number)
    return twilio


def enter_queue(app: Flask, sid: str, number: str) -> tuple[Twilio, str]:
    """A caller calls, presses 0 at the first menu and hears the wait URL: the Enqueue's action."""
    twilio = caller(app, sid, number)
    parse(twilio.post("/voice"))
    enqueue = parse(twilio.post("/voice/key?p=1&n=0&x=0", Digits="0")).find("Enqueue")
    assert enqueue is not None
    parse(twilio.post(enqueue.get("waitUrl", ""), QueuePosition="1", QueueTime="0", **QUEUE_FORM))
    return twilio, enqueue.get("action", "")


def reserve(app: Flask, sid: str, number: str, asked: dt.datetime) -> None:
    """A caller who first asked for a person at `asked` leaves the queue and reserves a callback."""
    twilio = caller(app, sid, number)
    parse(twilio.post("/voice"))
    done = f"/voice/queue/done?p=&t={int(asked.timestamp())}"
    offer = parse(twilio.post(done, QueueResult="leave", QueueTime="900", **QUEUE_FORM)).find("Gather")
    assert offer is not None
    readback = parse(twilio.post(offer.get("action", ""), Digits="1")).find("Gather")
    assert readback is not None
    parse(twilio.post(readback.get("action", ""), Digits="1"))


def live(client: FlaskClient) -> str:
    response = client.get("/console/now/live")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def in_clear(page: str, number: str) -> bool:
    """Whether a number appears in clear, international or national."""
    return number in page or "0" + number[3:] in page


def audit_lines(app: Flask) -> list[tuple[str, str, str]]:
    engine = engines.create(app.config["DATABASE_URL"])
    with engine.connect() as connection:
        found = connection.execute(select(audit.c.who, audit.c.action, audit.c.detail).order_by(audit.c.id))
        lines = [(row.who, row.action, row.detail) for row in found]
    engine.dispose()
    return lines


def reservations(app: Flask) -> list[Any]:
    engine = engines.create(app.config["DATABASE_URL"])
    with engine.connect() as connection:
        found = list(connection.execute(select(callbacks).order_by(callbacks.c.id)).all())
    engine.dispose()
    return found


def report(app: Flask) -> dict[str, Any]:
    flush(app)
    result = app.test_cli_runner().invoke(args=["ivr", "report", "--format", "json"])
    found: dict[str, Any] = json.loads(result.output)
    return found


def test_a_caller_waiting_in_the_queue_appears_with_the_wait(store_app: Flask, clock: FixedClock) -> None:
    viewer = signed_in(store_app, "viewer")
    assert "0人待ち" in live(viewer) and "未接続" not in live(viewer)
    _, action = enter_queue(store_app, "CA" + "1" * 32, FIRST)
    clock.instant += dt.timedelta(minutes=1)
    enter_queue(store_app, "CA" + "2" * 32, SECOND)
    clock.instant += dt.timedelta(minutes=1, seconds=10)
    flush(store_app)
    page = live(viewer)
    assert "2人待ち・最長 2分10秒" in page
    assert "…111111" in page and "…222222" in page and "+81********78" in page and "+81********21" in page
    assert not in_clear(page, FIRST) and not in_clear(page, SECOND)
    assert "<td>待ち行列</td>" in page.split('id="calls"')[1].split("</table>")[0]  # where they are now
    parse(caller(store_app, "CA" + "1" * 32, FIRST).post(action, QueueResult="hangup", QueueTime="130"))
    flush(store_app)
    page = live(viewer)
    assert "1人待ち・最長 1分10秒" in page and "…111111" not in page.split("待ち行列（")[1]


def test_an_agent_line_call_in_progress_appears_until_it_ends(store_app: Flask, clock: FixedClock) -> None:
    viewer = signed_in(store_app, "viewer")
    assert "いまオペレーター回線に入っている担当者はいません" in live(viewer)
    agent = caller(store_app, "CAagent1", AGENT)
    pin = parse(agent.post("/voice/agent-line")).find("Gather")
    assert pin is not None
    menu = parse(agent.post(pin.get("action", ""), Digits="4321")).find("Gather")
    assert menu is not None
    clock.instant += dt.timedelta(minutes=3)
    flush(store_app)
    panel = live(viewer).split("オペレーター回線の担当者")[1]
    assert "1人" in panel and "sato" in panel and "3分00秒" in panel and "メニュー 10:00" in panel
    assert not in_clear(panel, AGENT) and "<td>オペレーター回線（担当者）</td>" in live(viewer)
    parse(agent.post(menu.get("action", ""), Digits="1"))  # takes the next waiting caller
    flush(store_app)
    assert "待っている方につないだ 10:03" in live(viewer)
    agent.post("/voice/status", CallStatus="completed", CallDuration="200")
    flush(store_app)
    assert "sato" not in live(viewer).split("オペレーター回線の担当者")[1]


def test_pending_callbacks_are_counted_from_the_oldest_for_agents_only(
    store_app: Flask, clock: FixedClock
) -> None:
    start = clock.instant
    reserve(store_app, "CA" + "1" * 32, FIRST, start - dt.timedelta(minutes=20))
    reserve(store_app, "CA" + "2" * 32, SECOND, start - dt.timedelta(minutes=5))
    clock.instant += dt.timedelta(minutes=1)
    agent, viewer = signed_in(store_app, "agent"), signed_in(store_app, "viewer")
    page = live(agent)
    assert "2件・最も古い受付 09:40（21分00秒前）" in page and "+81********78" in page
    assert '<a href="/console/callbacks">折り返しの一覧へ</a>' in page
    assert not in_clear(page, FIRST) and not in_clear(page, SECOND)
    assert "折り返し待ち" not in live(viewer)


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("agent", 200), ("admin", 200)], ids=str)
def test_only_agents_and_admins_open_the_callbacks_page(app: Flask, role: str, status: int) -> None:
    client = signed_in(app, role)
    assert client.get("/console/callbacks").status_code == status
    assert ('href="/console/callbacks"' in client.get("/console/").get_data(as_text=True)) is (status == 200)
    refused = client.post("/console/callbacks/1/reveal", data={"csrf_token": csrf_token(client, "/console/")})
    assert refused.status_code == (403 if role == "viewer" else 404)


def test_the_list_is_in_the_order_callers_asked_with_numbers_masked(
    store_app: Flask, clock: FixedClock
) -> None:
    reserve(store_app, "CA" + "1" * 32, FIRST, clock.instant - dt.timedelta(minutes=5))
    reserve(store_app, "CA" + "2" * 32, SECOND, clock.instant - dt.timedelta(minutes=30))  # asked first
    page = signed_in(store_app, "agent").get("/console/callbacks").get_data(as_text=True)
    assert page.index("+81********21") < page.index("+81********78")
    assert "2026-11-25 09:30:00" in page and page.count('class="reveal"') == 2
    assert not in_clear(page, FIRST) and not in_clear(page, SECOND)


def test_a_reveal_is_journaled_then_shows_that_one_number(store_app: Flask, clock: FixedClock) -> None:
    reserve(store_app, "CA" + "1" * 32, FIRST, clock.instant)
    reserve(store_app, "CA" + "2" * 32, SECOND, clock.instant)
    first, second = (row.id for row in reservations(store_app))
    client = signed_in(store_app, "agent", name="suzuki")
    token = csrf_token(client, "/console/callbacks")
    response = client.post(f"/console/callbacks/{second}/reveal", data={"csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="clear-{second}">{SECOND}<' in page
    assert not in_clear(page, FIRST) and page.count('class="reveal"') == 1
    assert ("suzuki", "reveal-console", f"callback {second} +81********21") in audit_lines(store_app)
    reveals = report(store_app)["callbacks"]["reveals"]
    assert [(r["who"], r["action"], r["detail"]) for r in reveals] == [
        ("suzuki", "reveal-console", f"callback {second} +81********21")
    ]
    assert not in_clear(client.get("/console/callbacks").get_data(as_text=True), SECOND)  # once, on that POST


def test_no_journal_line_no_number(store_app: Flask, clock: FixedClock) -> None:
    reserve(store_app, "CA" + "1" * 32, FIRST, clock.instant)
    client = signed_in(store_app, "agent")
    token = csrf_token(client, "/console/callbacks")
    engine = engines.create(store_app.config["DATABASE_URL"])
    with engine.begin() as connection:  # the audit journal cannot be written any more
        connection.execute(text("DROP TABLE audit"))
    engine.dispose()
    (row,) = reservations(store_app)
    response = client.post(f"/console/callbacks/{row.id}/reveal", data={"csrf_token": token})
    assert response.status_code == 503 and "操作の記録に失敗" in response.get_data(as_text=True)
    assert not in_clear(response.get_data(as_text=True), FIRST)


@pytest.mark.parametrize(
    "headers", [{}, {"X-CSRFToken": "forged"}], ids=["no-token", "forged-token"]
)  # fmt: skip
def test_a_reveal_without_its_csrf_token_is_refused(
    store_app: Flask, clock: FixedClock, headers: dict[str, str]
) -> None:
    reserve(store_app, "CA" + "1" * 32, FIRST, clock.instant)
    (row,) = reservations(store_app)
    client = signed_in(store_app, "agent")
    response = client.post(f"/console/callbacks/{row.id}/reveal", headers=headers)
    assert response.status_code == 400 and not in_clear(response.get_data(as_text=True), FIRST)
    assert not [line for line in audit_lines(store_app) if line[1].startswith("reveal")]


@pytest.mark.parametrize(
    ("outcome", "status", "attempts", "label"),
    [
        ("talked", "done", 1, "話せた"),
        ("wrong-number", "done", 1, "番号違い"),
        ("busy", "pending", 1, "話し中"),
        ("no-answer", "pending", 1, "応答なし"),
    ],
    ids=["talked", "wrong-number", "busy", "no-answer"],
)
def test_an_outcome_is_recorded_and_journaled(
    store_app: Flask, clock: FixedClock, outcome: str, status: str, attempts: int, label: str
) -> None:
    reserve(store_app, "CA" + "1" * 32, FIRST, clock.instant)
    (row,) = reservations(store_app)
    client = signed_in(store_app, "agent", name="suzuki")
    token = csrf_token(client, "/console/callbacks")
    response = client.post(
        f"/console/callbacks/{row.id}/outcome", data={"csrf_token": token, "outcome": outcome}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"予約 {row.id} に結果「{label}」を記録しました" in page
    (after,) = reservations(store_app)
    assert (after.status, after.outcome, after.attempts, after.agent) == (status, outcome, attempts, "suzuki")
    if status == "pending":  # tried again after callback_retry_min, as the agent line does
        assert after.next_try_at == row.reserved_at + dt.timedelta(minutes=30)
    line = ("suzuki", "callback-outcome", f"callback {row.id} {outcome} -> {status}")
    assert line in audit_lines(store_app)
    figures = report(store_app)["callbacks"]
    assert figures["by_status"] == {status: 1}
    assert figures["outcomes"] == {outcome: 1}  # counted with the agent line's


def test_an_outcome_counts_only_for_the_agent_calling_and_only_once(
    store_app: Flask, clock: FixedClock
) -> None:
    """Another agent's outcome, or a second one for the same attempt, changes nothing and says "unknown"."""
    reserve(store_app, "CA" + "1" * 32, FIRST, clock.instant)
    (row,) = reservations(store_app)
    engine, now = engines.create(store_app.config["DATABASE_URL"]), utc(clock.instant)
    rules = {"attempts": 3, "retry_min": 30}
    assert reservations_store.take(engine, row.id, "sato", now)
    assert reservations_store.outcome(engine, row.id, "busy", now, agent="suzuki", **rules) == "unknown"
    assert reservations_store.outcome(engine, row.id, "busy", now, agent="sato", **rules) == "pending"
    assert reservations_store.outcome(engine, row.id, "talked", now, agent="sato", **rules) == "unknown"
    engine.dispose()
    (after,) = reservations(store_app)
    assert (after.status, after.attempts, after.outcome, after.agent) == ("pending", 1, "busy", "sato")


def test_no_answer_three_times_gives_up_and_a_closed_one_takes_no_more(
    store_app: Flask, clock: FixedClock
) -> None:
    reserve(store_app, "CA" + "1" * 32, FIRST, clock.instant)
    (row,) = reservations(store_app)
    client = signed_in(store_app, "agent")
    token = csrf_token(client, "/console/callbacks")
    path, form = f"/console/callbacks/{row.id}/outcome", {"csrf_token": token, "outcome": "no-answer"}
    assert [client.post(path, data=form).status_code for _ in range(3)] == [302, 302, 302]
    assert (reservations(store_app)[0].status, reservations(store_app)[0].attempts) == ("gave-up", 3)
    refused = client.post(path, data=form)
    assert refused.status_code == 409 and "終了しているか" in refused.get_data(as_text=True)
    assert client.post(path, data={**form, "outcome": "sold"}).status_code == 400
    page = client.get("/console/callbacks").get_data(as_text=True)
    assert re.search(r'id="closed".*打ち切り', page, re.S) and "未完了の折り返しはありません" in page
