"""call.navigate as a table: (position, digits, misses, open?) → the caller's next step."""

from __future__ import annotations

import dataclasses

import pytest

from helpers import ROOT
from ivr.call import navigate
from ivr.call.availability import Availability
from ivr.call.navigate import Step
from ivr.flow.bundle import Sources, load
from ivr.flow.queue import QueueSettings

QUEUED = load(Sources(ROOT / "flows.yaml", ROOT / "prompts", ROOT / "audio")).flow  # as shipped
assert QUEUED.queue.enabled
FLOW = dataclasses.replace(QUEUED, queue=QueueSettings())  # the table's rows: `0` dials directly
OPEN = Availability(True, "open")
EVENING = Availability(False, "after_hours", ("closed.after_hours", "next.intro"))
EMERGENCY = Availability(False, "emergency", ("emergency_closed",))
SILENCES, WRONG = FLOW.input.max_no_input, FLOW.input.max_invalid  # the Nth in a row is the last

TABLE = [
    # (path, heard, digits, no_input, invalid, status) → step
    ("", "", "1", 0, 0, OPEN, Step("node", "1")),
    ("1", "1", "3", 0, 0, OPEN, Step("node", "13")),
    ("13", "13", "9", 0, 0, OPEN, Step("node", "")),
    ("13", "13", "#", 0, 0, OPEN, Step("node", "1")),
    ("13", "13", "7", 1, 0, OPEN, Step("node", "13", "slow")),
    ("1", "1", "7", 0, 0, OPEN, Step("node", "1", "invalid", 0, 1)),
    ("1", "1", "#", 0, 0, OPEN, Step("node", "")),
    ("", "", "#", 0, 0, OPEN, Step("node", "", "invalid", 0, 1)),
    ("1", "1", "*", 1, 2, OPEN, Step("node", "1")),
    ("", "", "9", 0, 0, OPEN, Step("node", "", "invalid", 0, 1)),
    ("1", "1", "7", 1, 1, OPEN, Step("node", "1", "invalid", 1, 2)),
    ("1", "1", "0", 0, 0, OPEN, Step("agent", "1", event="agent")),
    (
        "1",
        "1",
        "0",
        0,
        0,
        EVENING,
        Step(
            "node",
            "1",
            "closed",
            notice=("closed.after_hours", "next.intro"),
            event="agent-closed",
            fields={"reason": "after_hours"},
        ),
    ),
    (
        "",
        "",
        "0",
        0,
        0,
        EMERGENCY,
        Step(
            "node",
            "",
            "closed",
            notice=("emergency_closed",),
            event="agent-closed",
            fields={"reason": "emergency"},
        ),
    ),
    ("2", "2", "", 0, 0, OPEN, Step("node", "2", "no_input", 1, 0)),
    ("2", "2", "", SILENCES - 2, 0, OPEN, Step("node", "2", "no_input", SILENCES - 1, 0)),
    ("2", "2", "", SILENCES - 1, 0, OPEN, Step("agent", "2", event="no-input-final")),
    (
        "2",
        "2",
        "",
        SILENCES - 1,
        0,
        EVENING,
        Step("goodbye", "2", "closed", notice=EVENING.notice, event="no-input-final"),
    ),
    ("2", "2", "8", 0, WRONG - 2, OPEN, Step("node", "2", "invalid", 0, WRONG - 1)),
    ("2", "2", "8", 0, WRONG - 1, OPEN, Step("agent", "2", event="invalid-final")),
    (
        "2",
        "2",
        "8",
        0,
        WRONG - 1,
        EMERGENCY,
        Step("goodbye", "2", "closed", notice=EMERGENCY.notice, event="invalid-final"),
    ),
    # after an answer, silence means the caller is done: a closing line, then goodbye (never a transfer)
    ("23", "23", "", 0, 0, OPEN, Step("node", "23", "closing", 1, 0)),
    ("23", "23", "", 1, 0, OPEN, Step("goodbye", "23", event="done")),
    ("23", "23", "", 1, 0, EVENING, Step("goodbye", "23", event="done")),
    # the caller heard menu 1-9, which an edit removed: a key there is not a key here
    ("1", "19", "2", 0, 0, OPEN, Step("node", "1")),
    ("1", "19", "0", 0, 0, OPEN, Step("agent", "1", event="agent")),
    ("", "", "12", 0, 0, OPEN, Step("node", "", "invalid", 0, 1)),
]
IDS = [
    "option",
    "question",
    "main-menu-after-answer",
    "back-from-answer",
    "slow-after-answer",
    "slow-key-only-after-answer",
    "back-from-section",
    "back-at-start",
    "repeat-keeps-counters-off",
    "main-menu-key-only-after-answer",
    "wrong-key",
    "agent-open",
    "agent-closed",
    "agent-emergency",
    "silence",
    "silence-before-last",
    "silence-final-open",
    "silence-final-closed",
    "wrong-before-last",
    "wrong-final-open",
    "wrong-final-emergency",
    "silence-after-answer-closing",
    "silence-after-closing-goodbye",
    "silence-after-closing-goodbye-closed",
    "edited-away",
    "edited-away-agent",
    "two-digits",
]


@pytest.mark.parametrize(("path", "heard", "digits", "no_input", "invalid", "status", "step"), TABLE, ids=IDS)
def test_key(
    path: str, heard: str, digits: str, no_input: int, invalid: int, status: Availability, step: Step
) -> None:
    assert navigate.key(FLOW, path, heard, digits, no_input, invalid, lambda: status) == step


def test_the_calendar_is_asked_only_when_the_step_depends_on_it() -> None:
    def never() -> Availability:
        raise AssertionError("the hours were looked up for a plain key")

    assert navigate.key(FLOW, "", "", "1", 0, 0, never) == Step("node", "1")


@pytest.mark.parametrize(
    ("outcome", "step"),
    [
        ("completed", Step("goodbye", "13")),
        ("busy", Step("node", "13", "busy")),
        ("no-answer", Step("node", "13", "no-answer")),
        ("canceled", Step("node", "13", "canceled")),
        ("failed", Step("node", "13", "failed")),
        ("", Step("node", "13", "failed")),
        ("nonsense", Step("node", "13", "failed")),
    ],
    ids=["completed", "busy", "no-answer", "canceled", "failed", "missing", "unknown"],
)
def test_dial_done(outcome: str, step: Step) -> None:
    assert navigate.dial_done("13", outcome) == step


@pytest.mark.parametrize(
    ("path", "resolved"),
    [("", ""), ("1", "1"), ("13", "13"), ("139", "13"), ("19", "1"), ("7", ""), ("44", "4"), ("*1", "")],
    ids=["start", "section", "answer", "past-answer", "missing-question", "missing-section", "s4-q4", "junk"],
)
def test_resolve(path: str, resolved: str) -> None:
    assert navigate.resolve(FLOW, path) == resolved


@pytest.mark.parametrize(
    ("digits", "no_input", "now", "step"),
    [
        ("0", 0, OPEN, Step("queue", "2", event="agent")),
        (
            "0",
            0,
            EVENING,
            Step(
                "offer",
                "2",
                "closed",
                notice=EVENING.notice,
                event="agent-closed",
                fields={"reason": "after_hours"},
            ),
        ),
        ("", SILENCES - 1, OPEN, Step("queue", "2", event="no-input-final")),
        (
            "",
            SILENCES - 1,
            EVENING,
            Step("goodbye", "2", "closed", notice=EVENING.notice, event="no-input-final"),
        ),
    ],
    ids=["agent-open-queues", "agent-closed-offers-a-callback", "final-open-queues", "final-closed-goodbye"],
)
def test_with_a_queue(digits: str, no_input: int, now: Availability, step: Step) -> None:
    assert navigate.key(QUEUED, "2", "2", digits, no_input, 0, lambda: now) == step
