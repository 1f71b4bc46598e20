"""The agent line's next step, a pure function of its inputs: caller ID, PIN, menu, choice, outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ivr.call.notes import Note

MAX_PIN_TRIES = 3
MAX_MENUS = 3  # menus played without a choice before hanging up: an agent who left the phone off the hook
# <Dial> to a customer: DialCallStatus → the outcome recorded (anything else: canceled)
OUTCOMES = {"completed": "talked", "busy": "busy", "no-answer": "no-answer", "failed": "failed"}

Kind = Literal[
    "hang_up",
    "pin",
    "menu",
    "goodbye",
    "take_caller",
    "claim",
    "call_back",
    "ask_outcome",
    "record",
    "to_menu",
]
Claimed = Literal["none", "unreadable", "ok"]


@dataclass(frozen=True)
class LineStep:
    """What the agent hears next, and what the call log records first.

    kind: `hang_up` (say `before`, end), `pin` (ask for it; `count` wrong so far), `menu` (the counts and
    choices; `count` menus so far), `goodbye`, `take_caller` (<Dial><Queue>), `claim` (claim the next
    callback, then ask `claimed`), `call_back` (<Dial> the claimed customer), `ask_outcome`, `record` (record
    `outcome`, then ask `recorded`) or `to_menu` (say `before`, then the menu).
    """

    kind: Kind
    before: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    count: int = 0
    outcome: str = ""


UNAVAILABLE = ("agent_line.unavailable",)


def failed(error: str) -> LineStep:
    """Looking the caller up failed (`error`: its type): say so rather than Twilio's error."""
    return LineStep("hang_up", UNAVAILABLE, (Note("line-error", {"error": error[:40]}),))


def failed_in(route: str) -> LineStep:
    """A signed-in agent's step failed in the database (`route`: its URL): say so, not Twilio's error."""
    return LineStep("hang_up", UNAVAILABLE, (Note("line-error", {"reason": route.rsplit("/", 1)[-1][:20]}),))


def refused(reason: str) -> LineStep:
    """Not an agent's number (`number`) or not this call's signed-in session (`session`)."""
    return LineStep("hang_up", ("agent_line.unknown",), (Note("line-refused", {"reason": reason}),))


def incoming(agent: str | None) -> LineStep:
    """An agent calls: a known caller ID (`agent`: their name) is asked for the PIN; anyone else refused."""
    if agent is None:
        return refused("number")
    return LineStep("pin", notes=(Note("line-incoming"),))


def pin(agent: str | None, pin_ok: bool, wrong: int, n: int) -> LineStep:
    """The PIN: right → the menu (`n`: menus so far); wrong (or none) MAX_PIN_TRIES times → hang up."""
    if agent is not None and pin_ok:
        return menu(n, notes=(Note("line-login", {"reason": agent}),))
    wrong_again = Note("line-pin-wrong", {"reason": str(wrong + 1)})
    if agent is None or wrong + 1 >= MAX_PIN_TRIES:
        locked = Note("line-locked", {"reason": agent or "-"})
        return LineStep("hang_up", ("agent_line.pin_wrong", "agent_line.locked"), (wrong_again, locked))
    return LineStep("pin", ("agent_line.pin_wrong",), (wrong_again,), count=wrong + 1)


def menu(n: int, before: tuple[str, ...] = (), notes: tuple[Note, ...] = ()) -> LineStep:
    """The counts and the choices, after `n` menus without a choice; too many: goodbye."""
    if n >= MAX_MENUS:
        return LineStep("goodbye", notes=notes)
    return LineStep("menu", before, notes, count=n)


def choose(digits: str, n: int) -> LineStep:
    """1 the next waiting caller, 2 the next callback (claimed first); anything else: the menu."""
    if digits == "1":
        return LineStep("take_caller", notes=(Note("line-take", {"reason": "queue"}),))
    if digits == "2":
        return LineStep("claim")
    return menu(n)


def claimed(result: Claimed, n: int) -> LineStep:
    """After claiming: none pending, one whose number no key opens (recorded failed), or dial it."""
    if result == "none":
        return menu(n, ("agent_line.no_callbacks",))
    if result == "unreadable":
        return menu(n, UNAVAILABLE)
    return LineStep("call_back", notes=(Note("line-take", {"reason": "callback"}),))


def called(status: str) -> LineStep:
    """The call to the customer ended: answered → ask how it went; else record why (retried later)."""
    if status == "completed":
        return LineStep("ask_outcome")
    return LineStep("record", outcome=OUTCOMES.get(status, "canceled"))


def outcome(digits: str) -> LineStep:
    """After an answered call: 2 wrong number, anything else (or silence) talked."""
    return LineStep("record", outcome="wrong-number" if digits == "2" else "talked")


def recorded(outcome: str, status: str) -> LineStep:
    """The outcome's record: `unknown` when closed meanwhile or taken over (nothing saved); then the menu."""
    if status == "unknown":
        late = Note("line-outcome-late", {"outcome": outcome})
        return LineStep("to_menu", ("agent_line.not_saved",), (late,))
    saved = Note("line-outcome", {"outcome": outcome, "reason": status})
    return LineStep("to_menu", ("agent_line.saved",), (saved,))
