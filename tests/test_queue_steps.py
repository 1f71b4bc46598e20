"""call.queue_steps as a table: (place, waited, QueueResult, open?, …) → the queue's next step."""

from __future__ import annotations

import pytest

from ivr.call import queue_steps
from ivr.call.availability import Availability
from ivr.call.notes import Note
from ivr.call.queue_steps import Step
from ivr.flow.queue import QueueSettings
from ivr.store.waits import BRIDGED

Q = QueueSettings(enabled=True, max_size=5, max_wait_s=600)
OPEN = Availability(True, "open")
CLOSED = Availability(False, "after_hours", ("closed.after_hours",))
OWN = "+819012345678"  # a Japanese mobile: read back


def offered(reason: str) -> Note:
    return Note("callback-offer", {"p": "2", "reason": reason})


def entered(place: int) -> Note:
    return Note("queue-entered", {"p": "2", "reason": str(place)})


@pytest.mark.parametrize(
    ("waiting", "step"),
    [
        (0, Step("enqueue", "2", ("agent_connecting",))),
        (4, Step("enqueue", "2", ("agent_connecting",))),
        (5, Step("offer", "2", ("queue.full",), (offered("full"),), open_now=True)),
        (9, Step("offer", "2", ("queue.full",), (offered("full"),), open_now=True)),
    ],
    ids=["empty", "one-place-left", "full", "over-full"],
)
def test_enqueue_or_offer(waiting: int, step: Step) -> None:
    assert queue_steps.enqueue_or_offer("2", waiting, Q.max_size) == step


WAIT_TABLE = [
    # (first request?, place, waited, seconds per place) → step
    (True, 1, 0, None, Step("wait", "2", notes=(entered(1),), place=1, estimate="queue.estimate.none")),
    (False, 1, 30, None, Step("wait", "2", place=1, estimate="queue.estimate.none")),
    (False, 3, 30, 100.0, Step("wait", "2", place=3, estimate="queue.estimate.5")),
    (False, 0, 30, 200.0, Step("wait", "2", place=0, estimate="queue.estimate.4")),
    (False, 5, 599, 60.0, Step("wait", "2", place=5, estimate="queue.estimate.5")),
    (False, 2, 600, 60.0, Step("leave", "2", ("queue.timeout",))),
    (True, 2, 600, 60.0, Step("leave", "2", ("queue.timeout",), (entered(2),))),
    (False, 6, 10, 60.0, Step("leave", "2", ("queue.full",))),
    (True, 6, 10, None, Step("leave", "2", ("queue.full",), (entered(6),))),
    (False, 9, 900, None, Step("leave", "2", ("queue.timeout",))),
]
WAIT_IDS = [
    "first-notes-entered",
    "again-no-estimate",
    "estimate-by-place",
    "place-0-counts-as-1",
    "last-place-just-in-time",
    "timeout",
    "first-and-timeout",
    "placed-too-far",
    "first-and-too-far",
    "timeout-before-full",
]


@pytest.mark.parametrize(("first", "place", "waited", "per_place", "step"), WAIT_TABLE, ids=WAIT_IDS)
def test_wait(first: bool, place: int, waited: int, per_place: float | None, step: Step) -> None:
    assert queue_steps.wait("2", first, place, waited, Q, per_place) == step


def pressed(digits: str) -> Note:
    return Note("queue-key", {"p": "2", "digits": digits})


@pytest.mark.parametrize(
    ("digits", "caller", "step"),
    [
        ("1", OWN, Step("readback", "2", notes=(pressed("1"),), q=1, number="09012345678")),
        (
            "1",
            None,
            Step(
                "entry",
                "2",
                ("callback.withheld",),
                (pressed("1"), Note("callback-withheld", {"p": "2"})),
                q=1,
            ),
        ),
        (
            "1",
            "+12025550123",
            Step(
                "entry",
                "2",
                ("callback.withheld",),
                (pressed("1"), Note("callback-withheld", {"p": "2"})),
                q=1,
            ),
        ),
        ("5", OWN, Step("back", "2", notes=(pressed("5"),))),
        ("", OWN, Step("back", "2", notes=(pressed("-"),))),
    ],
    ids=["callback-own-number", "callback-withheld", "callback-foreign", "other-key", "silence"],
)
def test_key(digits: str, caller: str | None, step: Step) -> None:
    assert queue_steps.key("2", digits, caller) == step


def left(result: str, waited: int) -> Note:
    return Note("queue-left", {"p": "2", "outcome": result, "wait_s": waited})


DONE_TABLE = [
    # (QueueResult, seconds waited, hours) → step
    ("bridged", 40, OPEN, Step("goodbye", "2", notes=(left("bridged", 40),))),
    ("bridging-in-process", 40, OPEN, Step("goodbye", "2", notes=(left("bridging-in-process", 40),))),
    ("hangup", 40, CLOSED, Step("goodbye", "2", notes=(left("hangup", 40),))),
    ("redirected", 40, OPEN, Step("node", "2", notes=(left("redirected", 40),))),
    (
        "queue-full",
        0,
        OPEN,
        Step("offer", "2", ("queue.full",), (left("queue-full", 0), offered("full")), open_now=True),
    ),
    ("queue-full", 0, CLOSED, Step("offer", "2", ("queue.full",), (left("queue-full", 0), offered("full")))),
    ("leave", 600, OPEN, Step("offer", "2", (), (left("leave", 600), offered("timeout")), open_now=True)),
    ("leave", 700, CLOSED, Step("offer", "2", (), (left("leave", 700), offered("timeout")))),
    ("leave", 599, OPEN, Step("offer", "2", (), (left("leave", 599), offered("full")), open_now=True)),
    (
        "queue-full",
        900,
        OPEN,
        Step("offer", "2", ("queue.full",), (left("queue-full", 900), offered("full")), open_now=True),
    ),
    (
        "error",
        5,
        OPEN,
        Step("offer", "2", ("agent_failed",), (left("error", 5), offered("error")), open_now=True),
    ),
    (
        "system-error",
        5,
        CLOSED,
        Step("offer", "2", ("agent_failed",), (left("system-error", 5), offered("error"))),
    ),
    (
        "unknown",
        0,
        OPEN,
        Step("offer", "2", ("agent_failed",), (left("unknown", 0), offered("error")), open_now=True),
    ),
]
DONE_IDS = [
    "bridged",
    "bridging",
    "hangup-even-closed",
    "redirected",
    "full-open",
    "full-closed",
    "leave-timeout-open",
    "leave-timeout-closed",
    "leave-placed-too-far",
    "full-is-full-however-long",
    "error-open",
    "system-error-closed",
    "unknown",
]


@pytest.mark.parametrize(("result", "waited", "now", "step"), DONE_TABLE, ids=DONE_IDS)
def test_done(result: str, waited: int, now: Availability, step: Step) -> None:
    assert queue_steps.done("2", result, waited, Q, BRIDGED, lambda: now) == step


@pytest.mark.parametrize(
    "result", ["bridged", "hangup", "redirected"], ids=["bridged", "hangup", "redirected"]
)
def test_the_calendar_is_asked_only_for_an_offer(result: str) -> None:
    def never() -> Availability:
        raise AssertionError("the hours were looked up for a call that gets no offer")

    assert queue_steps.done("2", result, 1, Q, BRIDGED, never).kind in ("goodbye", "node")
