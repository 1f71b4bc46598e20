"""Waiting for a person: Enqueue, the wait URL, its keys, every QueueResult, posted as Twilio posts them."""

from __future__ import annotations

import datetime as dt
import gc
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask

from helpers import BASE, CLOSED_INSTANT, FixedClock, heard, make_app, parse, query
from ivr.store import extension as store
from ivr.testing import Twilio

QUEUE_FORM = {"QueueSid": "QU" + "0" * 32, "AvgQueueTime": "600", "CurrentQueueSize": "60"}


def flushed(app: Flask) -> None:
    journal = store.of(app).journal
    assert journal is not None
    assert journal.flush(), journal.status()


def enqueue(twilio: Twilio, path: str = "1") -> tuple[str, str]:
    """Press 0 at a menu: the Enqueue's waitUrl and action."""
    root = parse(twilio.post(f"/voice/key?p={path}&n=0&x=0", Digits="0"))
    element = root.find("Enqueue")
    assert element is not None and element.text == "hotline"
    assert element.get("method") == "POST" and element.get("waitUrlMethod") == "POST"
    return element.get("waitUrl", ""), element.get("action", "")


def wait(twilio: Twilio, url: str, place: int, waited: int) -> ElementTree.Element:
    return parse(twilio.post(url, QueuePosition=str(place), QueueTime=str(waited), **QUEUE_FORM))


def test_zero_in_hours_enqueues_with_where_and_when_the_caller_asked(app: Flask, twilio: Twilio) -> None:
    wait_url, action = enqueue(twilio, "12")
    asked = str(int(dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))).timestamp()))
    assert wait_url.startswith(f"{BASE}/voice/queue/wait?") and query(wait_url) == {"p": "12", "t": asked}
    assert action.startswith(f"{BASE}/voice/queue/done?") and query(action) == {"p": "12", "t": asked}
    root = parse(twilio.post("/voice/key?p=12&n=0&x=0", Digits="0"))
    assert heard(app, root) == ["agent_connecting"]


def test_each_caller_gets_their_own_second_from_the_kept_documents(
    app: Flask, twilio: Twilio, clock: FixedClock
) -> None:
    """The queue's documents are built once per position: the second in their URLs is still each caller's."""
    first = twilio.post("/voice/key?p=12&n=0&x=0", Digits="0").get_data(as_text=True)
    asked = int(clock.instant.timestamp())
    clock.instant += dt.timedelta(seconds=17)
    second = twilio.post("/voice/key?p=12&n=0&x=0", Digits="0").get_data(as_text=True)
    assert f"t={asked}" in first and f"t={asked + 17}" in second and f"t={asked}" not in second
    assert first.count(f"t={asked}") == second.count(f"t={asked + 17}") == 2  # the wait URL and the action
    assert first.replace(f"t={asked}", "t=T") == second.replace(f"t={asked + 17}", "t=T")
    wait_url, _ = enqueue(twilio)
    done = wait_url.replace("/wait", "/done")
    offer = twilio.post(done, QueueResult="leave", QueueTime="900", **QUEUE_FORM)
    assert "9999999999" not in offer.get_data(as_text=True)  # the stand-in second never reaches a caller


@pytest.mark.parametrize(
    ("place", "expected"),
    [(1, "queue.position.1"), (20, "queue.position.20"), (57, "queue.position.more")],
    ids=["first", "last-said", "57th"],
)
def test_the_wait_url_says_the_place_then_no_estimate_without_history(
    app: Flask, twilio: Twilio, place: int, expected: str
) -> None:
    wait_url, _ = enqueue(twilio)
    root = wait(twilio, wait_url, place, 5)
    gather = root.find("Gather")
    assert gather is not None
    assert heard(app, gather) == [expected, "queue.estimate.none", "queue.comfort", "queue.keys"]
    assert gather.get("timeout") == "30" and gather.get("numDigits") == "1"
    assert query(gather.get("action", "")) == query(wait_url)
    redirect = root.find("Redirect")
    assert redirect is not None and query(redirect.text or "") == {**query(wait_url), "r": "1"}


def test_the_estimate_comes_from_recent_bridged_waits(app: Flask, twilio: Twilio, clock: FixedClock) -> None:
    for n in range(5):  # five callers put through: entered at place 2, waited 4 minutes each
        caller = Twilio(twilio.client, twilio.token, twilio.base, {**twilio.form, "CallSid": f"CAold{n}"})
        wait_url, action = enqueue(caller)
        wait(caller, wait_url, 2, 0)
        parse(caller.post(action, QueueResult="bridged", QueueTime="240", **QUEUE_FORM))
    flushed(app)
    snapshot = store.of(app).refresher.refresh()
    assert snapshot.ok and snapshot.history == 5 and snapshot.per_place_s == 120.0
    wait_url, _ = enqueue(twilio)
    gather = wait(twilio, wait_url, 3, 10).find("Gather")  # 3 places × 2 minutes
    assert gather is not None and heard(app, gather)[:2] == ["queue.position.3", "queue.estimate.6"]
    gather = wait(twilio, wait_url, 57, 10).find("Gather")  # 114 minutes
    assert gather is not None and heard(app, gather)[:2] == ["queue.position.more", "queue.estimate.more"]


@pytest.mark.parametrize(
    ("place", "waited", "said"),
    [(3, 900, "queue.timeout"), (101, 5, "queue.full")],
    ids=["max-wait", "over-max-size"],
)
def test_waiting_too_long_or_too_far_back_leaves_the_queue(
    app: Flask, twilio: Twilio, place: int, waited: int, said: str
) -> None:
    wait_url, _ = enqueue(twilio)
    root = wait(twilio, wait_url, place, waited)
    assert [child.tag for child in root] == ["Play", "Leave"]
    assert heard(app, root) == [said]


@pytest.mark.parametrize(
    ("result", "waited", "prompts", "ends"),
    [
        ("leave", "900", ["callback.offer.open"], False),
        ("queue-full", "0", ["queue.full", "callback.offer.open"], False),
        ("error", "10", ["agent_failed", "callback.offer.open"], False),
        ("system-error", "10", ["agent_failed", "callback.offer.open"], False),
        ("bridged", "75", ["goodbye"], True),
        ("bridging-in-process", "75", ["goodbye"], True),
        ("hangup", "30", ["goodbye"], True),
    ],
    ids=["leave-after-max-wait", "queue-full", "error", "system-error", "bridged", "bridging", "hangup"],
)
def test_every_queue_result_leads_somewhere(
    app: Flask, twilio: Twilio, result: str, waited: str, prompts: list[str], ends: bool
) -> None:
    _, action = enqueue(twilio)
    root = parse(twilio.post(action, QueueResult=result, QueueTime=waited, **QUEUE_FORM))
    assert heard(app, root) == prompts
    assert (root.find("Hangup") is not None) == ends
    if not ends:
        gather = root.find("Gather")
        assert gather is not None and gather.get("action", "").startswith(f"{BASE}/voice/callback/choose?")
        assert query(gather.get("action", ""))["o"] == "1"


def test_redirected_goes_back_to_the_menu(app: Flask, twilio: Twilio) -> None:
    _, action = enqueue(twilio, "1")
    root = parse(twilio.post(action, QueueResult="redirected", QueueTime="20", **QUEUE_FORM))
    assert heard(app, root) == ["menu.s1"]


def test_star_repeats_the_place_and_one_starts_the_callback_in_the_queue(app: Flask, twilio: Twilio) -> None:
    wait_url, _ = enqueue(twilio)
    gather = wait(twilio, wait_url, 4, 30).find("Gather")
    assert gather is not None
    again = parse(twilio.post(gather.get("action", ""), Digits="*"))
    assert [c.tag for c in again] == ["Redirect"] and query(again[0].text or "")["r"] == "1"
    callback = parse(twilio.post(gather.get("action", ""), Digits="1"))
    inner = callback.find("Gather")
    assert inner is not None and query(inner.get("action", ""))["q"] == "1"
    assert heard(app, inner)[0] == "callback.readback.intro"


def test_out_of_hours_zero_reads_the_hours_then_offers_a_callback(
    app: Flask, twilio: Twilio, clock: FixedClock
) -> None:
    clock.instant = CLOSED_INSTANT
    root = parse(twilio.post("/voice/key?p=&n=0&x=0", Digits="0"))
    gather = root.find("Gather")
    assert gather is not None
    assert heard(app, gather) == [
        "closed.after_hours", "next.intro", "month.11", "date.26", "day.thu", "next.at", "time.0900",
        "next.end", "callback.offer.closed",
    ]  # fmt: skip
    assert query(gather.get("action", ""))["o"] == "0"
    menu = parse(twilio.post(gather.get("action", ""), Digits="9"))
    assert heard(app, menu) == ["menu.main"]


def test_a_full_queue_goes_straight_to_the_offer(app: Flask, twilio: Twilio) -> None:
    refresher = store.of(app).refresher
    refresher.snapshot = type(refresher.snapshot)(None, 0, waiting=100, ok=True)
    refresher.current = lambda: refresher.snapshot  # type: ignore[method-assign]
    root = parse(twilio.post("/voice/key?p=&n=0&x=0", Digits="0"))
    assert root.find("Enqueue") is None
    assert heard(app, root) == ["queue.full", "callback.offer.open"]


def test_the_queue_appears_in_the_report(app: Flask, twilio: Twilio) -> None:
    wait_url, action = enqueue(twilio, "2")
    wait(twilio, wait_url, 7, 0)
    wait(twilio, wait_url + "&r=1", 6, 30)
    parse(twilio.post(action, QueueResult="hangup", QueueTime="45", **QUEUE_FORM))
    other = Twilio(twilio.client, twilio.token, twilio.base, {**twilio.form, "CallSid": "CA2"})
    wait_url, action = enqueue(other)
    wait(other, wait_url, 1, 0)
    parse(other.post(action, QueueResult="bridged", QueueTime="80", **QUEUE_FORM))
    parse(other.post("/voice/queue/connect", QueueTime="80", DequeingCallSid="CAagent", **QUEUE_FORM))
    flushed(app)
    result = app.test_cli_runner().invoke(args=["ivr", "report", "--format", "json"])
    figures = json.loads(result.output)
    assert figures["queue"] == {
        "entered": 2,
        "callers": 2,
        "results": {"bridged": 1, "hangup": 1},
        "keys": {},
        "connected": 1,
        "wait_s": {"bridged": 1, "median": 80, "mean": 80.0, "max": 80},
    }
    assert figures["agent_requests"] == {"in_hours": 2, "out_of_hours": 0}


def test_the_estimate_thread_ends_with_its_app(files: Path, clock: FixedClock) -> None:
    app = make_app(files, clock)
    refresher = store.of(app).refresher
    refresher.every_s = 0.05
    refresher.current()  # starts this process's thread
    thread = refresher._thread
    assert thread is not None and thread.is_alive()
    del app, refresher
    for _ in range(40):  # the app is a cycle: collected by a gc pass while the thread is between refreshes
        gc.collect()
        thread.join(timeout=0.05)
        if not thread.is_alive():
            break
    assert not thread.is_alive()


def test_the_estimate_reads_only_the_queues_events(tmp_path: Path) -> None:
    """The refresher's queries (every worker, every 20 s) go through the queue's partial index on SQLite:
    with bound parameters SQLite would ignore it and read every event of the last hours."""
    from sqlalchemy import event

    from ivr.store import engine as engines
    from ivr.store import migrate, waits

    engine = engines.create(f"sqlite:///{tmp_path / 'plan.db'}")
    migrate.upgrade(engine)
    statements: list[tuple[str, object]] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append((a[2], a[3])))
    now = dt.datetime(2026, 11, 25, 1, 0)
    waits.queue_rows(engine, now - dt.timedelta(minutes=60) - waits.WAITING_HORIZON)  # the console's
    waits.waiting_calls(engine, now)
    waits.snapshot_in(engine, now, dt.timedelta(minutes=60), 5)
    queries = [(sql, params) for sql, params in statements if "FROM events" in sql]
    assert len(queries) == 3
    with engine.connect() as connection:
        for sql, params in queries:
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()  # type: ignore[arg-type]
            assert any("USING INDEX ix_events_queue" in str(step) for step in plan), (sql, plan)
    engine.dispose()


def reference_per_place(
    rows: list[Any], now: dt.datetime, window: dt.timedelta, min_history: int
) -> tuple[float | None, int]:
    """The estimate by its definition, over rows with parsed times: each call bridged in the window waited
    `amount` seconds from the farthest place it entered at; seconds per place = their sum over the places'."""
    places: dict[str, int] = {}
    bridged: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row.kind == "queue-entered":
            place = int(row.detail) if str(row.detail).isdigit() else 1
            places[row.call_sid] = max(place, places.get(row.call_sid, 1))
        elif row.detail in ("bridged", "bridging-in-process") and row.at >= now - window:
            bridged[row.call_sid] = (int(row.amount or 0), places.get(row.call_sid, 1))
    if len(bridged) < min_history:
        return None, len(bridged)
    return sum(w for w, _ in bridged.values()) / sum(p for _, p in bridged.values()), len(bridged)


def test_the_refreshers_one_read_gives_the_figures_of_the_two_readers(migrated_url: str) -> None:
    """snapshot_in compares times in SQL; the estimate's definition and waiting_calls parse them: the same
    figures, on entries and exits inside and outside the window and the horizon, written out of time order."""
    from ivr.store import engine as engines
    from ivr.store import waits
    from ivr.store.rows import Event
    from ivr.store.write import write_batch

    now = dt.datetime(2026, 11, 25, 3, 0)

    def at(minutes: int) -> dt.datetime:
        return now - dt.timedelta(minutes=minutes)

    story = [
        Event("CAold", at(200), "queue-entered", "4", "3"),  # past the horizon: a lost entry, not waiting
        Event("CAwait", at(30), "queue-entered", "4", "2"),  # waiting
        Event("CAwait2", at(5), "queue-entered", "0", ""),  # waiting, no place said
        Event("CAleft", at(40), "queue-entered", "4", "1"),
        Event("CAleft", at(35), "queue-left", "4", "hangup", amount=300),
        Event("CAbr", at(50), "queue-entered", "4", "2"),
        Event("CAbr", at(45), "queue-entered", "4", "5"),  # entered again, farther back
        Event("CAbr", at(20), "queue-left", "4", "bridged", amount=600),  # in the window
        Event("CAbr2", at(100), "queue-entered", "4", "1"),
        Event("CAbr2", at(90), "queue-left", "4", "bridged", amount=120),  # before the window
        Event("CAbr3", at(10), "queue-entered", "4", "4"),
        Event("CAbr3", at(2), "queue-left", "4", "bridging-in-process", amount=240),
    ]
    engine = engines.create(migrated_url)
    write_batch(engine, story[6:])  # the later half first: ids out of time order, as two workers write
    write_batch(engine, story[:6])
    window = dt.timedelta(minutes=60)
    for min_history in (1, 2, 3):
        found = waits.snapshot_in(engine, now, window, min_history)
        rows = list(waits.queue_rows(engine, now - window - waits.WAITING_HORIZON))
        expected = reference_per_place(rows, now, window, min_history)
        assert (found.per_place_s, found.history) == expected
        assert found.waiting == len(waits.waiting_calls(engine, now)) == 2
    # the figures themselves: CAbr waited 600 s from place 5, CAbr3 240 s from place 4 (3: too few)
    assert waits.snapshot_in(engine, now, window, 2) == waits.Snapshot(840 / 9, 2, 2, ok=True)
    assert waits.snapshot_in(engine, now, window, 3) == waits.Snapshot(None, 2, 2, ok=True)
    engine.dispose()
