"""Callback reservations through the webhooks: read back, keyed, refused, withheld, duplicate, DB down."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from helpers import DATA_KEY, FixedClock, heard, make_app, parse, query, twilio_for
from ivr.store import engine as engines
from ivr.store import extension as store
from ivr.store.sealed import Sealer, parse_keys
from ivr.store.tables import callbacks
from ivr.testing import Twilio

OWN = "+819012345678"
DOWN = "postgresql+psycopg://nobody@127.0.0.1:9/down"  # nothing listens on port 9
DIGITS = ["digit.0", "digit.9", "digit.0", "digit.1", "digit.2", "digit.3", "digit.4", "digit.5", "digit.6"]


@pytest.fixture
def store_app(files: Path, clock: FixedClock, migrated_url: str) -> Flask:
    return make_app(files, clock, DATABASE_URL=migrated_url)


def stopped(app: Flask) -> None:
    """The database goes down: reservations now go to a server that refuses connections."""
    store.of(app).sync_engine = engines.create(DOWN, timeout_s=1.0)


def rows(app: Flask) -> list[Any]:
    engine = engines.create(app.config["DATABASE_URL"])
    with engine.connect() as connection:
        found = list(connection.execute(select(callbacks)).all())
    engine.dispose()
    return found


def offer(twilio: Twilio) -> str:
    """Out of the queue after the max wait: the offer's Gather action."""
    root = parse(twilio.post("/voice/key?p=1&n=0&x=0", Digits="0"))
    enqueue = root.find("Enqueue")
    assert enqueue is not None
    root = parse(twilio.post(enqueue.get("action", ""), QueueResult="leave", QueueTime="900"))
    gather = root.find("Gather")
    assert gather is not None
    return gather.get("action", "")


def readback_action(app: Flask, twilio: Twilio) -> str:
    root = parse(twilio.post(offer(twilio), Digits="1"))
    gather = root.find("Gather")
    assert gather is not None
    assert heard(app, gather) == [
        "callback.readback.intro",
        *DIGITS,
        "digit.7",
        "digit.8",
        "callback.readback.end",
    ]
    return gather.get("action", "")


def test_confirming_the_own_number_commits_then_says_so(store_app: Flask, clock: FixedClock) -> None:
    twilio = twilio_for(store_app.test_client())
    action = readback_action(store_app, twilio)
    root = parse(twilio.post(action, Digits="1"))
    assert heard(store_app, root) == ["callback.done", "callback.when.open", "goodbye"]
    assert root.find("Hangup") is not None
    (row,) = rows(store_app)
    assert row.status == "pending" and row.number_masked == "+81********78"
    assert "9012345678" not in row.number_sealed
    assert Sealer(parse_keys(DATA_KEY)).open(row.number_sealed) == OWN
    assert row.asked_at == clock.instant.astimezone(dt.UTC).replace(tzinfo=None)


def test_the_same_number_again_is_already_reserved(store_app: Flask) -> None:
    twilio = twilio_for(store_app.test_client())
    parse(twilio.post(readback_action(store_app, twilio), Digits="1"))
    again = twilio_for(store_app.test_client())
    again.form["CallSid"] = "CA2"
    root = parse(again.post(readback_action(store_app, again), Digits="1"))
    assert heard(store_app, root) == ["callback.duplicate", "callback.when.open", "goodbye"]
    assert len(rows(store_app)) == 1


@pytest.mark.parametrize(
    ("keyed", "said"),
    [("0120701675", "callback.refused"), ("110", "callback.refused"), ("0570123456", "callback.refused"),
     ("12345", "callback.invalid"), ("0901234567", "callback.invalid"), ("", "no_input")],
    ids=["free-dial", "police", "navi-dial", "too-short", "mobile-too-short", "nothing"],
)  # fmt: skip
def test_a_keyed_number_that_cannot_be_called_is_refused_with_the_reason(
    app: Flask, twilio: Twilio, keyed: str, said: str
) -> None:
    root = parse(twilio.post(readback_action(app, twilio), Digits="2"))
    gather = root.find("Gather")
    assert (
        gather is not None and gather.get("finishOnKey") == "#" and heard(app, gather) == ["callback.enter"]
    )
    again = parse(twilio.post(gather.get("action", ""), Digits=keyed))
    inner = again.find("Gather")
    assert inner is not None and heard(app, inner) == [said, "callback.enter"]
    assert query(inner.get("action", ""))["m"] == "1"


def test_another_number_is_read_back_sealed_and_reserved(store_app: Flask) -> None:
    twilio = twilio_for(store_app.test_client())
    entry = parse(twilio.post(readback_action(store_app, twilio), Digits="2")).find("Gather")
    assert entry is not None
    root = parse(twilio.post(entry.get("action", ""), Digits="0312345678"))
    gather = root.find("Gather")
    assert gather is not None
    assert heard(store_app, gather)[1:11] == [f"digit.{d}" for d in "0312345678"]
    assert "0312345678" not in gather.get("action", "")  # the URL carries it sealed, never in clear
    done = parse(twilio.post(gather.get("action", ""), Digits="1"))
    assert heard(store_app, done)[0] == "callback.done"
    (row,) = rows(store_app)
    assert Sealer(parse_keys(DATA_KEY)).open(row.number_sealed) == "+81312345678"


@pytest.mark.parametrize("caller", ["anonymous", "+266696687", "", "+12025550123"], ids=str)
def test_a_withheld_or_foreign_number_must_be_keyed(app: Flask, twilio: Twilio, caller: str) -> None:
    twilio.form["From"] = caller
    root = parse(twilio.post(offer(twilio), Digits="1"))
    gather = root.find("Gather")
    assert gather is not None and heard(app, gather) == ["callback.withheld", "callback.enter"]


def test_database_down_while_reserving_is_told_and_offered_the_queue_again(
    files: Path, clock: FixedClock, tmp_path: Path
) -> None:
    down = make_app(files, clock)
    stopped(down)
    twilio = twilio_for(down.test_client())
    root = parse(twilio.post(readback_action(down, twilio), Digits="1"))
    assert heard(down, root) == ["callback.failed", "agent_connecting"]
    assert root.find("Enqueue") is not None and "callback.done" not in heard(down, root)


def test_database_down_while_in_the_queue_keeps_the_place(
    files: Path, clock: FixedClock, tmp_path: Path
) -> None:
    down = make_app(files, clock)
    stopped(down)
    twilio = twilio_for(down.test_client())
    enqueue = parse(twilio.post("/voice/key?p=&n=0&x=0", Digits="0")).find("Enqueue")
    assert enqueue is not None
    wait = parse(twilio.post(enqueue.get("waitUrl", ""), QueuePosition="2", QueueTime="20")).find("Gather")
    assert wait is not None
    readback = parse(twilio.post(wait.get("action", ""), Digits="1")).find("Gather")
    assert readback is not None
    root = parse(twilio.post(readback.get("action", ""), Digits="1"))
    assert heard(down, root) == ["callback.failed", "queue.back"]
    redirect = root.find("Redirect")
    assert redirect is not None and (redirect.text or "").startswith(
        "https://ivr.example.jp/voice/queue/wait?"
    )


def test_out_of_hours_the_reservation_says_from_when(store_app: Flask, clock: FixedClock) -> None:
    from helpers import CLOSED_INSTANT

    clock.instant = CLOSED_INSTANT
    twilio = twilio_for(store_app.test_client())
    offered = parse(twilio.post("/voice/key?p=&n=0&x=0", Digits="0")).find("Gather")
    assert offered is not None
    readback = parse(twilio.post(offered.get("action", ""), Digits="1")).find("Gather")
    assert readback is not None
    root = parse(twilio.post(readback.get("action", ""), Digits="1"))
    assert heard(store_app, root) == [
        "callback.done", "callback.when.intro", "month.11", "date.26", "day.thu", "next.at", "time.0900",
        "callback.when.end", "goodbye",
    ]  # fmt: skip


def test_reservations_are_listed_masked_and_revealing_is_journaled(store_app: Flask) -> None:
    twilio = twilio_for(store_app.test_client())
    parse(twilio.post(readback_action(store_app, twilio), Digits="1"))
    runner = store_app.test_cli_runner()
    masked = runner.invoke(args=["ivr", "callbacks", "list"])
    assert masked.exit_code == 0 and "+81********78" in masked.output and "9012345678" not in masked.output
    refused = runner.invoke(args=["ivr", "callbacks", "export", "--reveal"])
    assert refused.exit_code != 0 and "--as NAME" in refused.output
    shown = runner.invoke(args=["ivr", "callbacks", "export", "--reveal", "--as", "sato", "--format", "json"])
    assert shown.exit_code == 0 and json.loads(shown.output)[0]["number"] == OWN
    report = json.loads(runner.invoke(args=["ivr", "report", "--format", "json"]).output)
    assert report["callbacks"]["by_status"] == {"pending": 1}
    assert [(r["who"], r["action"]) for r in report["callbacks"]["reveals"]] == [("sato", "reveal-export")]


def keyed_readback(app: Flask, twilio: Twilio) -> str:
    """Key 0312345678 after the read-back of the own number: the read-back's confirm action (with `k`)."""
    entry = parse(twilio.post(readback_action(app, twilio), Digits="2")).find("Gather")
    assert entry is not None
    gather = parse(twilio.post(entry.get("action", ""), Digits="0312345678")).find("Gather")
    assert gather is not None
    return gather.get("action", "")


@pytest.mark.parametrize(
    "token",
    ["garbage", "another-call", "another-key", "old-format"],
    ids=["garbage", "another-calls", "rotated-key", "unbound"],
)
def test_a_keyed_number_that_no_longer_opens_is_asked_for_again_never_the_caller_id(
    store_app: Flask, token: str
) -> None:
    """The probe: with `k` unreadable, 1 reserved the caller ID and journaled reason=keyed (承りました for a
    number the caller never gave). Now the number is asked for again and nothing is reserved."""
    twilio = twilio_for(store_app.test_client())
    action = keyed_readback(store_app, twilio)
    k = query(action)["k"]
    other_key = Fernet.generate_key().decode("ascii")  # a key this app does not hold (rotated away)
    replaced = {
        "garbage": "not-a-token",
        "another-call": Sealer(parse_keys(DATA_KEY)).seal("CA-someone-else|0312345678"),
        "another-key": Sealer(parse_keys(other_key)).seal(f"{twilio.form['CallSid']}|0312345678"),
        "old-format": Sealer(parse_keys(DATA_KEY)).seal("0312345678"),
    }[token]
    root = parse(twilio.post(action.replace(f"k={k}", f"k={replaced}"), Digits="1"))
    gather = root.find("Gather")
    assert gather is not None and "/voice/callback/number" in gather.get("action", "")
    assert rows(store_app) == []


def test_the_keyed_number_link_is_bound_to_its_call(store_app: Flask) -> None:
    twilio = twilio_for(store_app.test_client())
    action = keyed_readback(store_app, twilio)
    done = parse(twilio.post(action, Digits="1"))
    assert heard(store_app, done)[0] == "callback.done"
    (row,) = rows(store_app)
    assert Sealer(parse_keys(DATA_KEY)).open(row.number_sealed) == "+81312345678"
