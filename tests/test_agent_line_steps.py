"""call.agent_line_steps as a table: (caller ID, PIN, tries, key, Dial outcome, …) → the agent's next step."""

from __future__ import annotations

import pytest

from ivr.call import agent_line_steps as steps
from ivr.call.agent_line_steps import MAX_PIN_TRIES, Claimed, LineStep
from ivr.call.notes import Note

UNKNOWN = LineStep("hang_up", ("agent_line.unknown",), (Note("line-refused", {"reason": "number"}),))
LOCKED = ("agent_line.pin_wrong", "agent_line.locked")


def wrong(n: int) -> Note:
    return Note("line-pin-wrong", {"reason": str(n)})


@pytest.mark.parametrize(
    ("agent", "step"),
    [("sato", LineStep("pin", notes=(Note("line-incoming"),))), (None, UNKNOWN)],
    ids=["known-number", "unknown-number"],
)
def test_incoming(agent: str | None, step: LineStep) -> None:
    assert steps.incoming(agent) == step


PIN_TABLE = [
    # (agent, PIN right?, wrong so far, menus so far) → step
    ("sato", True, 0, 0, LineStep("menu", notes=(Note("line-login", {"reason": "sato"}),))),
    ("sato", True, MAX_PIN_TRIES - 1, 0, LineStep("menu", notes=(Note("line-login", {"reason": "sato"}),))),
    ("sato", True, 0, 3, LineStep("goodbye", notes=(Note("line-login", {"reason": "sato"}),))),
    ("sato", False, 0, 0, LineStep("pin", ("agent_line.pin_wrong",), (wrong(1),), count=1)),
    ("sato", False, MAX_PIN_TRIES - 2, 0, LineStep("pin", ("agent_line.pin_wrong",), (wrong(2),), count=2)),
    (
        "sato",
        False,
        MAX_PIN_TRIES - 1,
        0,
        LineStep("hang_up", LOCKED, (wrong(3), Note("line-locked", {"reason": "sato"}))),
    ),
    (None, False, 0, 0, LineStep("hang_up", LOCKED, (wrong(1), Note("line-locked", {"reason": "-"})))),
    (None, True, 0, 0, LineStep("hang_up", LOCKED, (wrong(1), Note("line-locked", {"reason": "-"})))),
]
PIN_IDS = [
    "right",
    "right-at-last-try",
    "right-menu-off-the-hook",
    "wrong-first",
    "wrong-second",
    "wrong-at-max-locked",
    "number-gone-meanwhile",
    "number-gone-pin-right-anyway",
]


@pytest.mark.parametrize(("agent", "pin_ok", "tries", "n", "step"), PIN_TABLE, ids=PIN_IDS)
def test_pin(agent: str | None, pin_ok: bool, tries: int, n: int, step: LineStep) -> None:
    assert steps.pin(agent, pin_ok, tries, n) == step


@pytest.mark.parametrize(
    ("n", "step"),
    [(0, LineStep("menu")), (2, LineStep("menu", count=2)), (3, LineStep("goodbye"))],
    ids=["first", "again", "off-the-hook"],
)
def test_menu(n: int, step: LineStep) -> None:
    assert steps.menu(n) == step


@pytest.mark.parametrize(
    ("digits", "n", "step"),
    [
        ("1", 0, LineStep("take_caller", notes=(Note("line-take", {"reason": "queue"}),))),
        ("2", 0, LineStep("claim")),
        ("3", 0, LineStep("menu")),
        ("", 1, LineStep("menu", count=1)),
        ("12", 3, LineStep("goodbye")),
    ],
    ids=["1-next-caller", "2-next-callback", "other-key-menu", "silence-menu", "forged-count-goodbye"],
)
def test_choose(digits: str, n: int, step: LineStep) -> None:
    assert steps.choose(digits, n) == step


@pytest.mark.parametrize(
    ("result", "n", "step"),
    [
        ("none", 0, LineStep("menu", ("agent_line.no_callbacks",))),
        ("unreadable", 0, LineStep("menu", ("agent_line.unavailable",))),
        ("ok", 0, LineStep("call_back", notes=(Note("line-take", {"reason": "callback"}),))),
        ("none", 3, LineStep("goodbye")),
    ],
    ids=["none-pending", "no-key-opens-it", "dial-it", "none-off-the-hook"],
)
def test_claimed(result: Claimed, n: int, step: LineStep) -> None:
    assert steps.claimed(result, n) == step


@pytest.mark.parametrize(
    ("status", "step"),
    [
        ("completed", LineStep("ask_outcome")),
        ("busy", LineStep("record", outcome="busy")),
        ("no-answer", LineStep("record", outcome="no-answer")),
        ("failed", LineStep("record", outcome="failed")),
        ("canceled", LineStep("record", outcome="canceled")),
        ("", LineStep("record", outcome="canceled")),
        ("nonsense", LineStep("record", outcome="canceled")),
    ],
    ids=["answered-ask", "busy", "no-answer", "failed", "canceled", "missing", "unknown"],
)
def test_called(status: str, step: LineStep) -> None:
    assert steps.called(status) == step


@pytest.mark.parametrize(
    ("digits", "outcome"),
    [("1", "talked"), ("2", "wrong-number"), ("", "talked"), ("9", "talked")],
    ids=["1-talked", "2-wrong-number", "silence-talked", "other-talked"],
)
def test_outcome(digits: str, outcome: str) -> None:
    assert steps.outcome(digits) == LineStep("record", outcome=outcome)


@pytest.mark.parametrize(
    ("outcome", "status", "step"),
    [
        (
            "talked",
            "done",
            LineStep(
                "to_menu",
                ("agent_line.saved",),
                (Note("line-outcome", {"outcome": "talked", "reason": "done"}),),
            ),
        ),
        (
            "busy",
            "retry",
            LineStep(
                "to_menu",
                ("agent_line.saved",),
                (Note("line-outcome", {"outcome": "busy", "reason": "retry"}),),
            ),
        ),
        (
            "talked",
            "unknown",
            LineStep(
                "to_menu", ("agent_line.not_saved",), (Note("line-outcome-late", {"outcome": "talked"}),)
            ),
        ),
    ],
    ids=["saved", "saved-retry", "closed-meanwhile-not-saved"],
)
def test_recorded(outcome: str, status: str, step: LineStep) -> None:
    assert steps.recorded(outcome, status) == step


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            steps.failed("OperationalError"),
            LineStep(
                "hang_up", ("agent_line.unavailable",), (Note("line-error", {"error": "OperationalError"}),)
            ),
        ),
        (
            steps.failed("E" * 50),
            LineStep("hang_up", ("agent_line.unavailable",), (Note("line-error", {"error": "E" * 40}),)),
        ),
        (
            steps.failed_in("/voice/agent-line/choose"),
            LineStep("hang_up", ("agent_line.unavailable",), (Note("line-error", {"reason": "choose"}),)),
        ),
        (
            steps.refused("session"),
            LineStep("hang_up", ("agent_line.unknown",), (Note("line-refused", {"reason": "session"}),)),
        ),
    ],
    ids=["lookup-failed", "lookup-failed-error-cut", "signed-in-step-failed", "session-refused"],
)
def test_failures(step: LineStep, expected: LineStep) -> None:
    assert step == expected
