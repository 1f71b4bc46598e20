"""TwiML of waiting for a person: <Enqueue>, the wait loop, the callback offer and reservation dialog."""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from ivr.call.queue_steps import Step
from ivr.call.render import Renderer
from ivr.flow.queue_prompts import position_id


def enqueue(r: Renderer, path: str, asked: int, before: tuple[str, ...] = ("agent_connecting",)) -> str:
    """Into Twilio's queue; the wait URL and the action carry where the caller was and when they asked."""

    def build(t: int) -> VoiceResponse:
        response = VoiceResponse()
        r.speak(response, *before)
        response.enqueue(
            r.flow.queue.name,
            action=r.urls.to("/voice/queue/done", p=path, t=t),
            method="POST",
            wait_url=r.urls.to("/voice/queue/wait", p=path, t=t),
            wait_url_method="POST",
        )
        return response

    return r.stamped(("enqueue", path, before), asked, build)


def wait(r: Renderer, path: str, asked: int, position: int, estimate: str) -> str:
    """The caller's place and estimate, a comfort prompt, the keys; silence, then the same again."""

    def build(t: int) -> VoiceResponse:
        q = r.flow.queue
        response = VoiceResponse()
        prompts = (position_id(position, q.positions), estimate, "queue.comfort", "queue.keys")
        action = r.urls.to("/voice/queue/key", p=path, t=t)
        response.append(r.gather(action, prompts, timeout=q.announce_every_s))
        response.redirect(r.urls.to("/voice/queue/wait", p=path, t=t, r=1), method="POST")
        return response

    return r.stamped(("wait", path, position, estimate), asked, build)


def leave(r: Renderer, prompt_id: str) -> str:
    """Say why, then leave the queue (the Enqueue action offers the callback)."""
    response = VoiceResponse()
    r.speak(response, prompt_id)
    response.leave()
    return str(response)


def back_to_wait(r: Renderer, path: str, asked: int, before: tuple[str, ...] = ()) -> str:
    """Inside the queue: after something else, back to the wait loop (the caller keeps their place)."""

    def build(t: int) -> VoiceResponse:
        response = VoiceResponse()
        r.speak(response, *before)
        response.redirect(r.urls.to("/voice/queue/wait", p=path, t=t, r=1), method="POST")
        return response

    return r.stamped(("back", path, before), asked, build)


def offer(
    r: Renderer, path: str, asked: int, *, open_now: bool, before: tuple[str, ...] = (), n: int = 0
) -> str:
    """The callback offer: 1 a callback, (in hours) 2 wait in the queue again, 9 the start menu."""

    def build(t: int) -> VoiceResponse:
        response = VoiceResponse()
        action = r.urls.to("/voice/callback/choose", p=path, t=t, o=int(open_now), n=n)
        prompt = "callback.offer.open" if open_now else "callback.offer.closed"
        response.append(r.gather(action, (*before, prompt)))
        response.redirect(action, method="POST")
        return response

    return r.stamped(("offer", path, open_now, before, n), asked, build)


def readback(r: Renderer, path: str, asked: int, q: int, number: str, k: str = "", n: int = 0) -> str:
    """The number read digit by digit: 1 this number, 2 another."""
    response = VoiceResponse()
    digits = tuple(f"digit.{d}" for d in number)
    params: dict[str, str | int] = {"p": path, "t": asked, "q": q, "n": n}
    if k:
        params["k"] = k
    action = r.urls.to("/voice/callback/confirm", **params)
    response.append(r.gather(action, ("callback.readback.intro", *digits, "callback.readback.end")))
    response.redirect(action, method="POST")
    return str(response)


def entry(r: Renderer, path: str, asked: int, q: int, before: tuple[str, ...] = (), m: int = 0) -> str:
    """「市外局番からご入力のうえ、最後にシャープを」: up to 12 keys ended by #."""
    response = VoiceResponse()
    action = r.urls.to("/voice/callback/number", p=path, t=asked, q=q, m=m)
    gather = r.gather(action, (*before, "callback.enter"), num_digits=12, finish_on_key="#", timeout=10)
    response.append(gather)
    response.redirect(action, method="POST")
    return str(response)


def connect(r: Renderer) -> str:
    """What the caller hears as an agent takes them from the queue (Play only: <Queue url> allows little)."""
    response = VoiceResponse()
    r.speak(response, "queue.connect")
    return str(response)


def step(r: Renderer, step: Step, asked: int, k: str = "") -> str:
    """The TwiML of a queue or callback step (`k`: a readback's keyed number, sealed for the URL)."""
    path, before = step.path, step.before
    if step.kind == "enqueue":
        return enqueue(r, path, asked, before)
    if step.kind == "offer":
        return offer(r, path, asked, open_now=step.open_now, before=before, n=step.n)
    if step.kind == "wait":
        return wait(r, path, asked, step.place, step.estimate)
    if step.kind == "leave":
        return leave(r, before[0])
    if step.kind == "back":
        return back_to_wait(r, path, asked, before)
    if step.kind == "readback":
        return readback(r, path, asked, step.q, step.number, k, step.n)
    if step.kind == "entry":
        return entry(r, path, asked, step.q, before, step.n)
    if step.kind == "goodbye":
        return r.goodbye(before)
    if step.kind == "node":
        return r.node(path)
    raise ValueError(f"a {step.kind} step needs the store before it can be said")
