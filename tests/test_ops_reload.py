"""Live reload under a running app: good edits are picked up, broken ones ignored, calls in progress go on."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from helpers import BASE, FixedClock, bundle_of, edit, heard, make_app, parse, query, twilio_for, wait_for
from ivr.call.render import Urls
from ivr.flow.bundle import Sources
from ivr.state import FlowState, state_of
from ivr.testing import Twilio

OLD_LABEL = 'topic.s1: "漏えいの詳細"'
NEW_LABEL = 'topic.s1: "漏えいの詳しい内容"'


def line_of(path: Path, start: str) -> int:
    return next(i for i, text in enumerate(path.read_text("utf-8").splitlines(), 1) if text.startswith(start))


def health(client: FlaskClient) -> dict[str, object]:
    response = client.get("/healthz")
    assert response.status_code == 200
    body: dict[str, object] = response.get_json()
    return body


def main_menu_said(twilio: Twilio) -> str:
    """The text of the start menu as the caller hears it; stale audio means <Say> with the new text."""
    gather = parse(twilio.post("/voice")).find("Gather")
    assert gather is not None
    say = gather.findall("Say")
    return say[-1].text or "" if say else "(played from audio)"


def test_good_edit_then_broken_edit_then_fix(
    files: Path, twilio: Twilio, client: FlaskClient, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    assert main_menu_said(twilio) == "(played from audio)"
    first = health(client)["flow"]

    edit(files / "prompts" / "menus.yaml", OLD_LABEL, NEW_LABEL)
    assert "漏えいの詳しい内容は1を" in main_menu_said(twilio)
    edited = health(client)
    assert edited["flow"] != first
    assert edited["last_reload_error"] is None

    flows = files / "flows.yaml"
    edit(flows, '"2": {label: topic.s2, menu: s2}', '"2": {label: topic.s2, menu: s9}')
    assert "漏えいの詳しい内容は1を" in main_menu_said(twilio)  # still serving
    assert heard(app, parse(twilio.post("/voice/key?p=&n=0&x=0", Digits="2"))) == ["menu.s2"]
    broken = health(client)
    line = line_of(flows, '      "2": {label: topic.s2, menu: s9}')
    assert broken["status"] == "ok"
    assert broken["flow"] == edited["flow"]
    problems = [
        f"flows.yaml:{line}:36: error: menu 's9' does not exist — write one of: main, s1, s2, s3, s4",
        f"flows.yaml:{line_of(flows, '  s2:')}:3: error: menu 's2' cannot be reached from 'main' "
        "— add an option that leads to it, or remove it",
    ]
    assert broken["last_reload_error"] == problems
    logged = [r.getMessage() for r in caplog.records if r.name == "ivr.reload" and r.levelname == "ERROR"]
    assert logged == [
        f"flow edit rejected; still serving flow {edited['flow']}. Problems:\n" + "\n".join(problems)
    ]

    edit(flows, '"2": {label: topic.s2, menu: s9}', '"2": {label: topic.s2, menu: s2}')
    main_menu_said(twilio)  # a call makes this worker look (the watcher is off in tests with interval 0)
    fixed = health(client)
    assert fixed["last_reload_error"] is None
    assert fixed["flow"] == edited["flow"]  # the same files again: the same hash


def test_each_worker_reloads_by_itself(files: Path, clock: FixedClock) -> None:
    workers = [twilio_for(make_app(files, clock).test_client()) for _ in range(2)]
    edit(files / "prompts" / "menus.yaml", OLD_LABEL, NEW_LABEL)
    for worker in workers:
        assert "漏えいの詳しい内容は1を" in main_menu_said(worker)


def test_idle_workers_converge_on_the_newest_valid_flow(files: Path, clock: FixedClock) -> None:
    interval = 0.3
    workers = [make_app(files, clock, IVR_RELOAD_INTERVAL_S=interval) for _ in range(3)]
    states = [state_of(w) for w in workers]

    def digests() -> set[str]:
        return {s.loaded.bundle.digest for s in states if s.loaded}

    first = digests()
    edit(files / "prompts" / "menus.yaml", OLD_LABEL, NEW_LABEL)  # valid: every worker takes it, unasked
    wait_for(lambda: len(digests()) == 1 and digests() != first, interval + 1)
    valid = digests()
    flows = files / "flows.yaml"
    edit(flows, "timeout_s: 6 ", "timeout_s: 7 ")  # valid again
    wait_for(lambda: len(digests()) == 1 and digests() != valid, interval + 1)
    newest = digests()
    edit(flows, '"2": {label: topic.s2, menu: s2}', '"2": {label: topic.s2, menu: s9}')  # broken
    wait_for(lambda: all(s.last_error for s in states), interval + 1)
    assert digests() == newest
    assert all(s.loaded and s.loaded.bundle.flow.input.timeout_s == 7 for s in states)


def test_the_watcher_ends_with_its_app(files: Path, clock: FixedClock) -> None:
    thread = state_of(make_app(files, clock, IVR_RELOAD_INTERVAL_S=0.05)).watch()
    gc.collect()
    thread.join(timeout=2)
    assert not thread.is_alive()


def test_reload_looks_at_the_files_at_most_once_per_interval(files: Path) -> None:
    now = [100.0]
    sources = Sources(files / "flows.yaml", files / "prompts", files / "audio")
    state = FlowState(sources, Urls(BASE, BASE + "/audio"), 2.0, monotonic=lambda: now[0])
    before = state.load().bundle.digest

    def serving() -> str:
        loaded = state.current()
        assert loaded is not None
        return loaded.bundle.digest

    assert serving() == before  # the first look finds the files unchanged
    edit(files / "prompts" / "menus.yaml", OLD_LABEL, NEW_LABEL)
    now[0] += 1.9
    assert serving() == before
    now[0] += 0.1
    assert serving() != before


def test_an_unforeseen_failure_keeps_the_last_good_flow(
    files: Path, twilio: Twilio, client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(sources: object) -> None:
        raise RuntimeError("boom")

    good = health(client)["flow"]
    with monkeypatch.context() as patch:
        patch.setattr("ivr.flow.schema.build", boom)
        edit(files / "prompts" / "menus.yaml", OLD_LABEL, NEW_LABEL)
        assert heard(app, parse(twilio.post("/voice"))) == ["greeting", "menu.main"]
        body = health(client)
        assert body["flow"] == good
        assert body["last_reload_error"] == [
            "flows.yaml:1:1: error: the flow cannot be loaded (RuntimeError('boom')) "
            "— undo the last edit, then run `flask --app app ivr check`"
        ]
    edit(files / "prompts" / "menus.yaml", NEW_LABEL, OLD_LABEL)
    twilio.post("/voice")
    assert health(client)["last_reload_error"] is None


def test_a_caller_in_a_vanished_answer_repeats_into_its_menu(app: Flask, files: Path, twilio: Twilio) -> None:
    edit(files / "flows.yaml", '      "5": {label: topic.q1_5, question: q1_5, answer: a1_5}\n', "")
    root = parse(twilio.post("/voice/key?p=15&n=0&x=0", Digits="*"))
    assert heard(app, root) == ["menu.s1"]
    gather = root.find("Gather")
    assert gather is not None
    assert query(gather.get("action", "")) == {"p": "1", "n": "0", "x": "0"}
    assert "5番" not in bundle_of(app).prompts["menu.s1"].text


def test_a_caller_in_a_vanished_menu_is_brought_back_to_the_start(
    app: Flask, files: Path, twilio: Twilio
) -> None:
    flows = files / "flows.yaml"
    text = flows.read_text("utf-8")
    edit(flows, '      "4": {label: topic.s4, menu: s4}\n', "")
    edit(flows, text[text.index("  s4:\n") :], "")
    root = parse(twilio.post("/voice/key?p=4&n=0&x=0"))  # silence in the vanished menu
    assert heard(app, root) == ["no_input", "menu.main.short"]
    gather = root.find("Gather")
    assert gather is not None
    assert query(gather.get("action", "")) == {"p": "", "n": "1", "x": "0"}


@pytest.mark.parametrize(
    "digits", ["1", "2", "#", "*"], ids=["option-key", "another-option", "back", "repeat"]
)
def test_a_key_pressed_in_a_vanished_answer_plays_the_surviving_menu(
    app: Flask, files: Path, twilio: Twilio, digits: str
) -> None:
    edit(files / "flows.yaml", '      "5": {label: topic.q1_5, question: q1_5, answer: a1_5}\n', "")
    # "1" after answer 1-5 meant "again"; in menu s1 it would start answer 1-1 instead
    root = parse(twilio.post("/voice/key?p=15&n=0&x=0", Digits=digits))
    assert heard(app, root) == ["menu.s1"]
    gather = root.find("Gather")
    assert gather is not None
    assert query(gather.get("action", "")) == {"p": "1", "n": "0", "x": "0"}


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
def test_the_agent_key_still_works_where_the_menu_vanished(app: Flask, files: Path, twilio: Twilio) -> None:
    edit(files / "flows.yaml", '      "5": {label: topic.q1_5, question: q1_5, answer: a1_5}\n', "")
    root = parse(twilio.post("/voice/key?p=15&n=0&x=0", Digits="0"))
    dial = root.find("Dial")
    assert heard(app, root) == ["agent_connecting"]
    assert dial is not None
    assert query(dial.get("action", "")) == {"p": "1"}


def test_a_caller_whose_answer_changed_hears_the_new_one(app: Flask, files: Path, twilio: Twilio) -> None:
    edit(
        files / "flows.yaml",
        '"5": {label: topic.q1_5, question: q1_5, answer: a1_5}',
        '"5": {label: topic.q1_5, question: q1_5, answer: a1_1}',
    )
    assert heard(app, parse(twilio.post("/voice/key?p=15&n=0&x=0", Digits="*"))) == [
        "q1_5",
        "a1_1",
        "after_answer",
    ]
