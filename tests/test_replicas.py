"""Two replicas of the service on one PostgreSQL: calls split across them journal into one place,
and both follow the same edit of the ops files. Plain processes on loopback, no container engine."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import scratch_postgres
from sqlalchemy import func, select
from test_server import environment, free_port, launch, post

from helpers import ROOT, sign
from ivr.store import engine as engines
from ivr.store import migrate
from ivr.store.tables import calls, events

BASE = "https://ivr.example.jp"


@pytest.fixture
def postgres() -> Iterator[str]:
    """A scratch PostgreSQL database, migrated once (as `ivr db upgrade` before the replicas start)."""
    for url in scratch_postgres():
        engine = engines.create(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url


def health(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
        body: dict[str, object] = json.load(response)
        return body


@pytest.fixture
def replicas(files: Path, postgres: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two serve.py services (one worker each) on the same ops files and the same database."""
    processes, urls = [], []
    for n in range(2):
        port = free_port()
        env = environment(files, port)
        env.update(DATABASE_URL=postgres, WEB_CONCURRENCY="1", IVR_RELOAD_INTERVAL_S="0.5")
        process, url = launch(env, port, tmp_path / f"replica{n}.log")
        processes.append(process)
        urls.append(url)
    try:
        yield urls
    finally:
        for process in processes:
            process.terminate()  # a graceful stop: each worker writes what its journal still holds
        for process in processes:
            process.wait(timeout=20)


def webhook(url: str, path: str, form: dict[str, str]) -> int:
    status, _, _ = post(url, path, form, sign(BASE + path, form))
    return status


def test_a_call_split_across_replicas_is_one_call_in_the_journal(replicas: list[str], postgres: str) -> None:
    steps = ["/voice", "/voice/key?p=&n=0&x=0", "/voice/key?p=1&n=0&x=0", "/voice/status"]
    digits = [None, "1", "2", None]
    for sid in ("CA" + "a" * 32, "CA" + "b" * 32):
        for i, (path, key) in enumerate(zip(steps, digits, strict=True)):
            form = {"CallSid": sid, "From": "+819012345678", "To": "+81120701675"}
            if key:
                form["Digits"] = key
            if path == "/voice/status":
                form.update(CallStatus="completed", CallDuration="42")
            assert webhook(replicas[i % 2], path, form) == 200  # every other request on the other replica
    deadline = time.monotonic() + 10
    engine = engines.create(postgres)
    try:
        while True:
            with engine.connect() as connection:
                rows = connection.execute(select(calls.c.call_sid, calls.c.duration_s, calls.c.status)).all()
                kinds = connection.execute(select(func.count()).select_from(events)).scalar_one()
            done = len(rows) == 2 and all(r.status == "completed" for r in rows) and kinds == 2 * 4
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.2)  # the journal writes in batches, about a second behind
    finally:
        engine.dispose()
    assert sorted((r.call_sid[2], r.duration_s, r.status) for r in rows) == [
        ("a", 42, "completed"),
        ("b", 42, "completed"),
    ]
    assert kinds == 2 * 4  # start menu (the incoming call), menu, answer, status: from both replicas alike


def test_both_replicas_follow_the_same_edit(replicas: list[str], files: Path) -> None:
    before = {health(url)["flow"] for url in replicas}
    assert len(before) == 1
    flows = files / "flows.yaml"
    flows.write_text(flows.read_text("utf-8").replace("timeout_s: 6 ", "timeout_s: 8 "), "utf-8")
    deadline = time.monotonic() + 0.5 + 1 + 1  # the reload interval + 1 s, and a second of start-up slack
    while {health(url)["flow"] for url in replicas} & before and time.monotonic() < deadline:
        time.sleep(0.1)
    after = {health(url)["flow"] for url in replicas}
    assert len(after) == 1 and after != before


def follow(url: str, root: ElementTree.Element, form: dict[str, str], digits: str) -> ElementTree.Element:
    """Press a key in the Gather of a TwiML answer, on the given replica; the TwiML it answers."""
    gather = root.find("Gather")
    assert gather is not None, ElementTree.tostring(root)
    action = gather.get("action", "").removeprefix(BASE)
    return answer(url, action, {**form, "Digits": digits})


def answer(url: str, path: str, form: dict[str, str]) -> ElementTree.Element:
    """A signed webhook on a replica; its TwiML root (checked to be 200)."""
    status, body, _ = post(url, path, form, sign(BASE + path, form))
    assert status == 200, body[:300]
    return ElementTree.fromstring(body)


def test_a_reservation_made_on_one_replica_is_called_back_from_the_other(
    replicas: list[str], files: Path, postgres: str
) -> None:
    one, other = replicas
    agent, customer = "+819099990000", "+819012345678"
    env = environment(files, 0)
    env.update(DATABASE_URL=postgres)
    added = subprocess.run(
        [
            str(Path(sys.executable).parent / "flask"),
            "--app",
            "app",
            "ivr",
            "agent",
            "add",
            "sato",
            "--number",
            agent,
        ],
        cwd=ROOT,
        env=env,
        input="4321\n4321\n",
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    caller = {"CallSid": "CA" + "c" * 32, "From": customer, "To": "+81120701675"}
    offer = answer(one, "/voice/queue/done?p=&t=0", {**caller, "QueueResult": "leave", "QueueTime": "900"})
    readback = follow(one, offer, caller, "1")
    done = follow(one, readback, caller, "1")
    assert done.find("Hangup") is not None  # 承りました: committed on the first replica
    line = {"CallSid": "CA" + "d" * 32, "From": agent, "To": "+815011112222"}
    menu = follow(other, answer(other, "/voice/agent-line", line), line, "4321")
    dial = follow(other, menu, line, "2").find("Dial")
    assert dial is not None, "the second replica found no reservation"
    number = dial.find("Number")
    assert number is not None and number.text == customer  # decrypted there with the same IVR_DATA_KEY
