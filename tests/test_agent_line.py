"""The agent line: caller ID and PIN, the counts, taking the next caller, calling back and each outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from helpers import FixedClock, heard, make_app, parse, query, twilio_for
from ivr.store import engine as engines
from ivr.store import extension as store
from ivr.store.tables import callbacks
from ivr.testing import Twilio

AGENT = "+819099990000"
CUSTOMER = "+819012345678"


@pytest.fixture
def line_app(files: Path, clock: FixedClock, migrated_url: str) -> Flask:
    app = make_app(files, clock, DATABASE_URL=migrated_url)
    result = app.test_cli_runner().invoke(
        args=["ivr", "agent", "add", "sato", "--number", AGENT], input="4321\n4321\n"
    )
    assert result.exit_code == 0, result.output
    return app


def agent_on(app: Flask, sid: str = "CAagent1") -> Twilio:
    twilio = twilio_for(app.test_client())
    twilio.form.update(CallSid=sid, From=AGENT, To="+815011112222")
    return twilio


def signed_in(app: Flask, twilio: Twilio) -> str:
    """Call in, key the PIN: the menu's Gather action."""
    root = parse(twilio.post("/voice/agent-line"))
    gather = root.find("Gather")
    assert gather is not None and heard(app, gather) == ["agent_line.pin"]
    menu = parse(twilio.post(gather.get("action", ""), Digits="4321")).find("Gather")
    assert menu is not None
    return menu.get("action", "")


def reserve(app: Flask, sid: str, number: str = CUSTOMER) -> None:
    caller = twilio_for(app.test_client())
    caller.form.update(CallSid=sid, From=number)
    offer = parse(caller.post("/voice/queue/done?p=&t=0", QueueResult="leave", QueueTime="900")).find(
        "Gather"
    )
    assert offer is not None
    readback = parse(caller.post(offer.get("action", ""), Digits="1")).find("Gather")
    assert readback is not None
    assert heard(app, parse(caller.post(readback.get("action", ""), Digits="1")))[0] == "callback.done"


def report(app: Flask) -> dict[str, Any]:
    journal = store.of(app).journal
    assert journal is not None
    assert journal.flush()
    result = app.test_cli_runner().invoke(args=["ivr", "report", "--format", "json"])
    found: dict[str, Any] = json.loads(result.output)
    return found


def test_an_unknown_number_is_refused(line_app: Flask) -> None:
    twilio = agent_on(line_app)
    twilio.form["From"] = "+819011112222"
    root = parse(twilio.post("/voice/agent-line"))
    assert heard(line_app, root) == ["agent_line.unknown"] and root.find("Hangup") is not None


def test_three_wrong_pins_hang_up_and_are_journaled(line_app: Flask) -> None:
    twilio = agent_on(line_app)
    gather = parse(twilio.post("/voice/agent-line")).find("Gather")
    assert gather is not None
    for tries in (1, 2):
        gather = parse(twilio.post(gather.get("action", ""), Digits="0000")).find("Gather")
        assert gather is not None and heard(line_app, gather) == ["agent_line.pin_wrong", "agent_line.pin"]
        assert query(gather.get("action", "")) == {"w": str(tries)}
    root = parse(twilio.post(gather.get("action", ""), Digits="1111"))
    assert heard(line_app, root) == ["agent_line.pin_wrong", "agent_line.locked"]
    assert root.find("Hangup") is not None
    line = report(line_app)["agent_line"]
    assert line["wrong_pins"] == 3 and line["locked"] == 1 and line["logins"] == {}
    assert report(line_app)["calls"] == 0  # the agents' calls are not callers' calls


def test_the_menu_says_the_counts_and_one_takes_the_next_caller(line_app: Flask) -> None:
    caller = twilio_for(line_app.test_client())
    parse(caller.post("/voice/key?p=1&n=0&x=0", Digits="1"))  # heard answer a1_1
    enqueue = parse(caller.post("/voice/key?p=11&n=0&x=0", Digits="0")).find("Enqueue")
    assert enqueue is not None
    parse(caller.post(enqueue.get("waitUrl", ""), QueuePosition="1", QueueTime="0"))
    reserve(line_app, "CAwaiting2", "+819087654321")
    journal = store.of(line_app).journal
    assert journal is not None
    assert journal.flush()
    twilio = agent_on(line_app)
    root = parse(twilio.post("/voice/agent-line"))
    gather = root.find("Gather")
    assert gather is not None
    menu = parse(twilio.post(gather.get("action", ""), Digits="4321")).find("Gather")
    assert menu is not None
    assert heard(line_app, menu) == [
        "agent_line.waiting", "count.1", "agent_line.pending", "count.1", "agent_line.menu"
    ]  # fmt: skip
    taken = parse(twilio.post(menu.get("action", ""), Digits="1"))
    assert heard(line_app, taken) == ["agent_line.next.intro", "topic.q1_1", "agent_line.next.answer"]
    dial = taken.find("Dial")
    assert dial is not None and dial.get("action", "").startswith(
        "https://ivr.example.jp/voice/agent-line/menu?"
    )
    queue = dial.find("Queue")
    assert queue is not None and queue.text == "hotline"
    assert queue.get("url") == "https://ivr.example.jp/voice/queue/connect"


def test_a_menu_url_from_another_call_is_refused(line_app: Flask) -> None:
    action = signed_in(line_app, agent_on(line_app))
    other = agent_on(line_app, "CAintruder")
    root = parse(other.post(action, Digits="2"))
    assert heard(line_app, root) == ["agent_line.unknown"] and root.find("Hangup") is not None


@pytest.mark.parametrize(
    ("dial", "key", "status", "outcome"),
    [
        ("completed", "1", "done", "talked"),
        ("completed", "2", "done", "wrong-number"),
        ("busy", None, "pending", "busy"),
        ("no-answer", None, "pending", "no-answer"),
        ("canceled", None, "pending", "canceled"),
    ],
    ids=["talked", "wrong-number", "busy", "no-answer", "agent-hung-up"],
)
def test_two_calls_the_oldest_reservation_and_records_the_outcome(
    line_app: Flask, dial: str, key: str | None, status: str, outcome: str | None
) -> None:
    reserve(line_app, "CAcaller")
    twilio = agent_on(line_app)
    root = parse(twilio.post(signed_in(line_app, twilio), Digits="2"))
    assert heard(line_app, root) == ["agent_line.dialing"]
    element = root.find("Dial")
    assert element is not None and element.get("callerId") == "+81120701675"
    number = element.find("Number")
    assert number is not None and number.text == CUSTOMER
    after = parse(twilio.post(element.get("action", ""), DialCallStatus=dial, DialCallDuration="42"))
    if key is not None:
        gather = after.find("Gather")
        assert gather is not None and heard(line_app, gather) == ["agent_line.outcome"]
        after = parse(twilio.post(gather.get("action", ""), Digits=key))
    assert heard(line_app, after) == ["agent_line.saved"]
    engine = engines.create(line_app.config["DATABASE_URL"])
    with engine.connect() as connection:
        row = connection.execute(select(callbacks)).one()
    engine.dispose()
    assert (row.status, row.outcome, row.agent) == (status, outcome, "sato")
    assert row.attempts == (0 if dial == "canceled" else 1)
    if outcome:
        assert report(line_app)["callbacks"]["outcomes"] == {outcome: 1}


def test_no_answer_three_times_gives_up(line_app: Flask, clock: FixedClock) -> None:
    import datetime as dt

    reserve(line_app, "CAcaller")
    twilio = agent_on(line_app)
    action = signed_in(line_app, twilio)
    for _ in range(3):
        dial = parse(twilio.post(action, Digits="2")).find("Dial")
        assert dial is not None
        parse(twilio.post(dial.get("action", ""), DialCallStatus="no-answer"))
        clock.instant += dt.timedelta(minutes=31)  # the retry is due after callback_retry_min
    nothing = parse(twilio.post(action, Digits="2")).find("Gather")
    assert nothing is not None and heard(line_app, nothing)[0] == "agent_line.no_callbacks"
    assert report(line_app)["callbacks"]["by_status"] == {"gave-up": 1}


def test_a_late_outcome_for_an_attempt_another_agent_took_over_changes_nothing(
    line_app: Flask, clock: FixedClock
) -> None:
    """Sato's call runs past the stale limit, Suzuki takes the reservation, Sato's outcome comes late."""
    import datetime as dt

    result = line_app.test_cli_runner().invoke(
        args=["ivr", "agent", "add", "suzuki", "--number", "+819088887777"], input="8765\n8765\n"
    )
    assert result.exit_code == 0, result.output
    reserve(line_app, "CAcaller")
    sato = agent_on(line_app)
    sato_dial = parse(sato.post(signed_in(line_app, sato), Digits="2")).find("Dial")
    assert sato_dial is not None
    clock.instant += dt.timedelta(minutes=31)
    suzuki = agent_on(line_app, "CAagent2")
    suzuki.form.update(From="+819088887777")
    root = parse(suzuki.post("/voice/agent-line"))
    gather = root.find("Gather")
    assert gather is not None
    menu = parse(suzuki.post(gather.get("action", ""), Digits="8765")).find("Gather")
    assert menu is not None
    suzuki_dial = parse(suzuki.post(menu.get("action", ""), Digits="2")).find("Dial")
    assert suzuki_dial is not None
    late = parse(sato.post(sato_dial.get("action", ""), DialCallStatus="busy"))
    assert heard(line_app, late) == ["agent_line.not_saved"]
    engine = engines.create(line_app.config["DATABASE_URL"])
    with engine.connect() as connection:
        during = connection.execute(select(callbacks)).one()
    assert (during.status, during.agent, during.attempts, during.outcome) == ("calling", "suzuki", 0, None)
    after = parse(suzuki.post(suzuki_dial.get("action", ""), DialCallStatus="no-answer"))
    assert heard(line_app, after) == ["agent_line.saved"]
    with engine.connect() as connection:
        row = connection.execute(select(callbacks)).one()
    engine.dispose()
    assert (row.status, row.agent, row.attempts, row.outcome) == ("pending", "suzuki", 1, "no-answer")
    figures = report(line_app)
    assert figures["callbacks"]["outcomes"] == {"no-answer": 1}
    assert figures["agent_line"]["late_outcomes"] == 1
