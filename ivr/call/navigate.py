"""The caller's next step from where they are and what they pressed: a pure function of its inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ivr.call.availability import Availability
from ivr.flow.model import MAX_PATH, Flow

Reason = Literal[
    "", "no_input", "invalid", "closing", "closed", "busy", "no-answer", "failed", "canceled", "slow"
]
MAX_COUNT = 9  # miss counters beyond this are not told apart (and keep URLs and the memo small)
DIAL_OUTCOMES: dict[str, Reason] = {
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "canceled",
}


@dataclass(frozen=True)
class Step:
    """What the caller hears next: a menu or answer (node), a transfer (agent), the queue for an agent
    (queue), the closed notice then the callback offer (offer), or the end (goodbye)."""

    kind: Literal["node", "agent", "queue", "offer", "goodbye"]
    path: str = ""
    reason: Reason = ""
    no_input: int = 0
    invalid: int = 0
    notice: tuple[str, ...] = ()  # when closed: the prompts saying why and when the line opens next
    # what the call log records about this step (event name and its fields), when anything
    event: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def resolve(flow: Flow, path: str) -> str:
    """The longest prefix of a key path that still leads somewhere in this flow (calls survive menu edits)."""
    menu = flow.menus[flow.start]
    for i, key in enumerate(path[:MAX_PATH]):
        option = menu.option(key)
        if option is None:
            return path[:i]
        if option.answer is not None:
            return path[: i + 1]
        assert option.menu is not None
        menu = flow.menus[option.menu]
    return path[:MAX_PATH]


def agent_or_hours(path: str, now: Availability, *, queued: bool = False) -> Step:
    """A person in hours (through the queue when the flow has one); otherwise why the line is closed and
    when it opens, then the same menu (with a queue: the offer of a callback for when it opens)."""
    if now.open:
        return Step("queue" if queued else "agent", path, event="agent")
    kind: Literal["node", "offer"] = "offer" if queued else "node"
    return Step(kind, path, "closed", notice=now.notice, event="agent-closed", fields={"reason": now.reason})


def final(path: str, now: Availability, event: str, *, queued: bool = False) -> Step:
    """After too many misses in a menu: a person in hours, else the closed notice and goodbye."""
    if now.open:
        return Step("queue" if queued else "agent", path, event=event)
    return Step("goodbye", path, "closed", notice=now.notice, event=event)


def key(
    flow: Flow,
    path: str,
    heard: str,
    digits: str,
    no_input: int,
    invalid: int,
    hours: Callable[[], Availability],
) -> Step:
    """The step after a Gather at `path` (resolved; `heard` as the URL carried it) got `digits` or none.

    `hours` is asked only when the step depends on them (it costs a calendar lookup).
    """
    keys = flow.keys
    _, answer = flow.walk(path)
    if not digits:
        if answer is not None:  # silence after an answer: the caller is done, not lost
            if no_input == 0:
                return Step("node", path, "closing", 1, invalid)
            return Step("goodbye", path, event="done")
        if no_input + 1 >= flow.input.max_no_input:
            return final(path, hours(), "no-input-final", queued=flow.queue.enabled)
        return Step("node", path, "no_input", no_input + 1, invalid)
    if digits == keys.agent:
        return agent_or_hours(path, hours(), queued=flow.queue.enabled)
    if digits == keys.repeat or path != heard:
        # the menu the caller heard was edited away: the key meant something there, not here,
        # so play the menu that survives instead of guessing
        return Step("node", path)
    if digits == keys.back and path:
        return Step("node", path[:-1])
    if answer is not None and digits == keys.main_menu:
        return Step("node", "")
    if answer is not None and digits == keys.slow:
        return Step("node", path, "slow")
    if answer is None and len(digits) == 1 and flow.walk(path)[0][-1].option(digits) is not None:
        return Step("node", path + digits)
    if invalid + 1 >= flow.input.max_invalid:
        return final(path, hours(), "invalid-final", queued=flow.queue.enabled)
    return Step("node", path, "invalid", no_input, invalid + 1)


def dial_done(path: str, outcome: str) -> Step:
    """After the <Dial> to a person ended: goodbye after a conversation, else an apology and the menu."""
    if outcome == "completed":
        return Step("goodbye", path)
    return Step("node", path, DIAL_OUTCOMES.get(outcome, "failed"))
