"""TwiML of the agent line: the PIN, the menu with the counts, taking a caller, calling a customer back."""

from __future__ import annotations

from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr.call.agent_line_steps import LineStep
from ivr.call.render import Renderer
from ivr.flow.queue_prompts import count_id

LINE = "/voice/agent-line"


def pin(r: Renderer, wrong: int, before: tuple[str, ...] = ()) -> str:
    """Ask for the PIN, ended by #; silence counts as a wrong PIN."""
    response = VoiceResponse()
    action = r.urls.to(f"{LINE}/pin", w=wrong)
    response.append(
        r.gather(action, (*before, "agent_line.pin"), num_digits=12, finish_on_key="#", timeout=10)
    )
    response.redirect(action, method="POST")
    return str(response)


def menu(
    r: Renderer, session: dict[str, str], waiting: int, pending: int, n: int = 0, before: tuple[str, ...] = ()
) -> str:
    """How many callers wait and callbacks are pending; 1 the next caller, 2 the next callback."""
    shown = r.flow.queue.agent_counts
    prompts = (
        *before,
        "agent_line.waiting",
        count_id(waiting, shown),
        "agent_line.pending",
        count_id(pending, shown),
        "agent_line.menu",
    )
    response = VoiceResponse()
    response.append(r.gather(r.urls.to(f"{LINE}/choose", **session), prompts))
    response.redirect(r.urls.to(f"{LINE}/menu", **session, n=n + 1), method="POST")
    return str(response)


def take_caller(r: Renderer, session: dict[str, str], context: tuple[str, ...]) -> str:
    """What the next caller last heard, then <Dial><Queue>: back to the menu when the call ends."""
    response = VoiceResponse()
    r.speak(response, *context)
    dial = Dial(action=r.urls.to(f"{LINE}/menu", **session), method="POST", timeout=60)
    dial.queue(r.flow.queue.name, url=r.urls.to("/voice/queue/connect"), method="POST")
    response.append(dial)
    return str(response)


def call_back(r: Renderer, session: dict[str, str], callback_id: int, number: str) -> str:
    """Dial the customer from the agent's call, showing the hotline's number."""
    response = VoiceResponse()
    r.speak(response, "agent_line.dialing")
    dial = Dial(
        action=r.urls.to(f"{LINE}/called", **session, id=callback_id),
        method="POST",
        timeout=30,
        caller_id=r.flow.numbers.hotline,
    )
    dial.number(number)
    response.append(dial)
    return str(response)


def ask_outcome(r: Renderer, session: dict[str, str], callback_id: int) -> str:
    """After a call that was answered: 1 talked, 2 wrong number (silence: talked)."""
    response = VoiceResponse()
    action = r.urls.to(f"{LINE}/outcome", **session, id=callback_id)
    response.append(r.gather(action, ("agent_line.outcome",)))
    response.redirect(action, method="POST")
    return str(response)


def to_menu(r: Renderer, session: dict[str, str], before: tuple[str, ...]) -> str:
    """Say these, then the menu again."""
    response = VoiceResponse()
    r.speak(response, *before)
    response.redirect(r.urls.to(f"{LINE}/menu", **session), method="POST")
    return str(response)


def step(r: Renderer, step: LineStep, session: dict[str, str], callback_id: int = 0) -> str:
    """The TwiML of an agent-line step that needs nothing from the store (`callback_id`: ask_outcome's)."""
    if step.kind == "hang_up":
        return r.hang_up(step.before)
    if step.kind == "goodbye":
        return r.goodbye()
    if step.kind == "pin":
        return pin(r, step.count, step.before)
    if step.kind == "ask_outcome":
        return ask_outcome(r, session, callback_id)
    if step.kind == "to_menu":
        return to_menu(r, session, step.before)
    raise ValueError(f"a {step.kind} step needs the store before it can be said")
