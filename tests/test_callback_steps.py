"""call.callback_steps as a table: (key, number, misses, in queue?, open?, reservation) → the next step."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.call import callback_steps
from ivr.call.availability import Availability
from ivr.call.callback_steps import Reserved
from ivr.call.notes import Note
from ivr.call.queue_steps import Step

OPEN = Availability(True, "open")
CLOSED = Availability(False, "after_hours", ("closed.after_hours",))
OWN = "+819012345678"  # read back as 09012345678
OWN_NATIONAL = "09012345678"
KEYED = "0312345678"
NEXT = ("next.intro", "month.11", "date.26", "day.thu", "next.at", "time.0900", "next.end")
WHEN_NEXT = (
    "callback.when.intro",
    "month.11",
    "date.26",
    "day.thu",
    "next.at",
    "time.0900",
    "callback.when.end",
)


def chose(digits: str) -> Note:
    return Note("callback-choice", {"p": "2", "digits": digits})


CHOOSE_TABLE = [
    # (digits, caller, offered in hours?, misses, hours now) → step
    ("1", OWN, True, 0, OPEN, Step("readback", "2", notes=(chose("1"),), number=OWN_NATIONAL)),
    (
        "1",
        None,
        False,
        0,
        CLOSED,
        Step("entry", "2", ("callback.withheld",), (chose("1"), Note("callback-withheld", {"p": "2"}))),
    ),
    ("2", OWN, True, 0, OPEN, Step("queue", "2", notes=(chose("2"),))),
    ("2", OWN, True, 0, CLOSED, Step("offer", "2", ("invalid_key",), (chose("2"),), open_now=True, n=1)),
    ("2", OWN, False, 0, OPEN, Step("offer", "2", ("invalid_key",), (chose("2"),), n=1)),
    ("9", OWN, False, 0, CLOSED, Step("node", "", notes=(chose("9"),))),
    ("", OWN, True, 0, OPEN, Step("offer", "2", ("no_input",), (chose("-"),), open_now=True, n=1)),
    ("", OWN, False, 1, CLOSED, Step("node", "", notes=(chose("-"),))),
    ("", OWN, True, 3, OPEN, Step("node", "", notes=(chose("-"),))),
    ("7", OWN, False, 1, CLOSED, Step("offer", "2", ("invalid_key",), (chose("7"),), n=1)),
    ("7", OWN, True, 0, OPEN, Step("offer", "2", ("invalid_key",), (chose("7"),), open_now=True, n=1)),
]
CHOOSE_IDS = [
    "1-own-number",
    "1-withheld",
    "2-open",
    "2-offered-open-now-closed",
    "2-offered-closed",
    "9-start-menu",
    "silence-first",
    "silence-again-start-menu",
    "silence-many-start-menu",
    "other-key-after-silence",
    "other-key",
]


@pytest.mark.parametrize(
    ("digits", "caller", "offered_open", "misses", "now", "step"), CHOOSE_TABLE, ids=CHOOSE_IDS
)
def test_choose(
    digits: str, caller: str | None, offered_open: bool, misses: int, now: Availability, step: Step
) -> None:
    assert callback_steps.choose("2", digits, caller, offered_open, misses, lambda: now) == step


def test_choose_asks_the_calendar_only_for_2_offered_in_hours() -> None:
    def never() -> Availability:
        raise AssertionError("the hours were looked up")

    assert callback_steps.choose("2", "2", OWN, False, 0, never).kind == "offer"
    assert callback_steps.choose("2", "9", OWN, True, 0, never).kind == "node"


CONFIRM_TABLE = [
    # (digits, keyed number that opened, a token in the URL?, caller, in queue, misses) → step
    ("1", None, False, OWN, 0, 0, Step("reserve", "2", number=OWN_NATIONAL)),
    ("1", KEYED, True, OWN, 1, 0, Step("reserve", "2", q=1, number=KEYED)),
    ("1", KEYED, True, None, 0, 0, Step("reserve", "2", number=KEYED)),
    ("1", None, True, None, 1, 0, Step("entry", "2", q=1)),
    ("1", None, True, OWN, 0, 0, Step("entry", "2")),
    ("", None, True, OWN, 1, 1, Step("entry", "2", q=1)),
    ("", None, False, "+12025550123", 0, 1, Step("entry", "2")),
    ("2", None, False, OWN, 1, 0, Step("entry", "2", q=1)),
    ("2", KEYED, True, OWN, 0, 1, Step("entry", "2")),
    ("", None, False, OWN, 0, 0, Step("readback", "2", n=1, number=OWN_NATIONAL)),
    ("5", KEYED, True, None, 1, 1, Step("readback", "2", q=1, n=2, number=KEYED)),
    ("", None, False, OWN, 0, 2, Step("node", "")),
    ("5", KEYED, True, OWN, 1, 2, Step("back", "2", ("queue.back",))),
    ("", None, False, OWN, 1, 3, Step("back", "2", ("queue.back",))),
]
CONFIRM_IDS = [
    "1-own",
    "1-keyed-in-queue",
    "1-keyed-withheld",
    "keyed-no-longer-opens-withheld",
    "keyed-no-longer-opens-never-the-caller-id",
    "keyed-no-longer-opens-silence-in-queue",
    "no-number-any-key",
    "2-another-in-queue",
    "2-another",
    "silence-read-again",
    "other-key-read-again",
    "third-miss-start-menu",
    "third-miss-in-queue-back",
    "beyond-in-queue-back",
]


@pytest.mark.parametrize(
    ("digits", "keyed", "token", "caller", "in_queue", "misses", "step"), CONFIRM_TABLE, ids=CONFIRM_IDS
)
def test_confirm(
    digits: str, keyed: str | None, token: bool, caller: str | None, in_queue: int, misses: int, step: Step
) -> None:
    assert callback_steps.confirm("2", digits, keyed, caller, in_queue, misses, token=token) == step


def invalid(reason: str) -> Note:
    return Note("callback-invalid", {"p": "2", "reason": reason})


NUMBER_TABLE = [
    # (digits keyed, in queue, misses) → step
    (KEYED, 0, 0, Step("readback", "2", number=KEYED)),
    ("09012345678", 1, 2, Step("readback", "2", q=1, number="09012345678")),
    ("0120123456", 0, 0, Step("entry", "2", ("callback.refused",), (invalid("service"),), n=1)),
    ("110", 1, 1, Step("entry", "2", ("callback.refused",), (invalid("service"),), q=1, n=2)),
    ("12345", 0, 0, Step("entry", "2", ("callback.invalid",), (invalid("invalid"),), n=1)),
    ("", 0, 1, Step("entry", "2", ("no_input",), (invalid("no-input"),), n=2)),
    ("12345", 0, 2, Step("node", "", notes=(invalid("invalid"),))),
    ("", 1, 2, Step("back", "2", ("queue.back",), (invalid("no-input"),))),
    ("0570123456", 1, 3, Step("back", "2", ("queue.back",), (invalid("service"),))),
]
NUMBER_IDS = [
    "ok",
    "ok-after-misses",
    "service-refused",
    "short-service-in-queue",
    "invalid",
    "no-input",
    "third-invalid-start-menu",
    "third-no-input-in-queue",
    "beyond-service-in-queue",
]


@pytest.mark.parametrize(("digits", "in_queue", "misses", "step"), NUMBER_TABLE, ids=NUMBER_IDS)
def test_number(digits: str, in_queue: int, misses: int, step: Step) -> None:
    assert callback_steps.number("2", digits, in_queue, misses) == step


@pytest.mark.parametrize(
    ("now", "pieces", "said"),
    [
        (OPEN, NEXT, ("callback.when.open",)),
        (CLOSED, NEXT, WHEN_NEXT),
        (
            CLOSED,
            ("next.intro", "next.today", "next.at", "time.0900", "next.end"),
            ("callback.when.intro", "next.today", "next.at", "time.0900", "callback.when.end"),
        ),
        (CLOSED, ("next.unknown",), ("callback.when.open",)),
    ],
    ids=["open", "closed-next-day", "closed-today", "closed-unknown"],
)
def test_when(now: Availability, pieces: tuple[str, ...], said: tuple[str, ...]) -> None:
    assert callback_steps.when(lambda: now, lambda: pieces) == said


def failed(error: str) -> Note:
    return Note("callback-failed", {"p": "2", "error": error})


DONE = Note("callback-reserved", {"p": "2", "reason": "own"})
DONE_KEYED = Note("callback-reserved", {"p": "2", "reason": "keyed"})
DUPLICATE = Note("callback-duplicate", {"p": "2"})
RESERVE_TABLE: list[tuple[Reserved, str, int, bool, Availability, Step]] = [
    # (result, error, in queue, keyed, hours) → step
    ("reserved", "", 0, False, OPEN, Step("goodbye", "2", ("callback.done", "callback.when.open"), (DONE,))),
    (
        "reserved",
        "",
        1,
        True,
        OPEN,
        Step("goodbye", "2", ("callback.done", "callback.when.open"), (DONE_KEYED,)),
    ),
    ("reserved", "", 0, True, CLOSED, Step("goodbye", "2", ("callback.done", *WHEN_NEXT), (DONE_KEYED,))),
    (
        "duplicate",
        "",
        1,
        False,
        OPEN,
        Step("goodbye", "2", ("callback.duplicate", "callback.when.open"), (DUPLICATE,)),
    ),
    (
        "duplicate",
        "",
        0,
        True,
        CLOSED,
        Step("goodbye", "2", ("callback.duplicate", *WHEN_NEXT), (DUPLICATE,)),
    ),
    (
        "failed",
        "OperationalError",
        1,
        False,
        CLOSED,
        Step("back", "2", ("callback.failed", "queue.back"), (failed("OperationalError"),)),
    ),
    (
        "failed",
        "TimeoutError",
        0,
        False,
        OPEN,
        Step("enqueue", "2", ("callback.failed", "agent_connecting"), (failed("TimeoutError"),)),
    ),
    (
        "failed",
        "E" * 50,
        0,
        True,
        CLOSED,
        Step("goodbye", "2", ("callback.failed", "callback.failed.closed"), (failed("E" * 40),)),
    ),
]
RESERVE_IDS = [
    "reserved-own-open",
    "reserved-keyed-in-queue",
    "reserved-closed-says-when",
    "duplicate-open",
    "duplicate-closed",
    "failed-in-queue-back",
    "failed-open-queue",
    "failed-closed-goodbye-error-cut",
]


@pytest.mark.parametrize(
    ("result", "error", "in_queue", "keyed", "now", "step"), RESERVE_TABLE, ids=RESERVE_IDS
)
def test_reserved(
    result: Reserved, error: str, in_queue: int, keyed: bool, now: Availability, step: Step
) -> None:
    said = callback_steps.reserved(
        "2", result, error=error, in_queue=in_queue, keyed=keyed, hours=lambda: now, opening=lambda: NEXT
    )
    assert said == step


def test_the_next_opening_is_looked_up_only_when_closed() -> None:
    def never() -> Any:
        raise AssertionError("the next opening was looked up in hours")

    step = callback_steps.reserved(
        "2", "reserved", in_queue=0, keyed=False, hours=lambda: OPEN, opening=never
    )
    assert step.before == ("callback.done", "callback.when.open")
