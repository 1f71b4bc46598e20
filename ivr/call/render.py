"""TwiML for every position of a call, built with twilio.twiml and memoized per loaded flow."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from twilio.twiml.voice_response import Dial, Gather, Say, VoiceResponse

from ivr.call.navigate import Reason, Step
from ivr.flow.bundle import Bundle
from ivr.flow.catalog import slow

# What is played before the menu or answer, by reason.
PREFIX: dict[str, tuple[str, ...]] = {
    "": (),
    "no_input": ("no_input",),
    "invalid": ("invalid_key",),
    "busy": ("agent_busy",),
    "no-answer": ("agent_no_answer",),
    "failed": ("agent_failed",),
    "canceled": ("agent_canceled",),
}

# A document whose URLs carry the second the caller asked for a person (`t=`) is built once with this
# stand-in second, then the real one is put in its place (no real second is this far in the future).
STAND_IN_SECOND = 9_999_999_999
MEMO_MAX = 4096  # documents kept per loaded flow: every menu and answer, the queue's places and estimates

# Twilio's <Say> takes SSML (here <prosody rate>, for a slow replay) with these voices, not its basic ones
SSML_VOICES = ("Polly.", "Google.")


@dataclass(frozen=True)
class Urls:
    """Absolute URLs under PUBLIC_BASE_URL and AUDIO_BASE_URL."""

    base: str
    audio: str

    def to(self, route: str, **params: str | int) -> str:
        """An absolute URL of one of our routes with its query."""
        return f"{self.base}{route}?{urlencode(params)}" if params else f"{self.base}{route}"

    def file(self, name: str) -> str:
        """The absolute URL of an audio file."""
        return f"{self.audio}/{quote(name)}"


class Renderer:
    """Turns (position, reason, counters) into TwiML text; the flow is static, so each answer is kept."""

    def __init__(self, bundle: Bundle, urls: Urls) -> None:
        self.bundle, self.flow, self.urls = bundle, bundle.flow, urls
        self._cache: dict[tuple[object, ...], str] = {}
        self._lock = threading.Lock()

    def _memo(self, key: tuple[object, ...], build: Callable[[], VoiceResponse]) -> str:
        cached = self._cache.get(key)
        if cached is None:
            cached = str(build())
            if len(self._cache) < MEMO_MAX:
                with self._lock:
                    self._cache[key] = cached
        return cached

    def stamped(self, key: tuple[object, ...], asked: int, build: Callable[[int], VoiceResponse]) -> str:
        """A document whose URLs carry `t=asked` after the key path: memoized like the others.

        Built by `build` for STAND_IN_SECOND, then each `&t=` of it gets the caller's second; the
        document is otherwise the same for every caller at this position (tests compare the two).
        """
        document = self._memo(("stamped", *key), lambda: build(STAND_IN_SECOND))
        return document.replace(f"&amp;t={STAND_IN_SECOND}", f"&amp;t={asked}")

    def speak(self, parent: VoiceResponse | Gather, *prompt_ids: str) -> None:
        """Play each prompt's audio, or say its text when the audio is missing or stale."""
        for prompt_id in prompt_ids:
            entry = self.bundle.audio.get(prompt_id)
            if entry is not None:
                parent.play(self.urls.file(entry.file))
                continue
            prompt = self.bundle.prompts[prompt_id]
            if prompt.rate == 1.0 or not self.flow.say_voice.startswith(SSML_VOICES):
                parent.say(prompt.speech, language=self.flow.say_language, voice=self.flow.say_voice)
                continue
            say = Say(language=self.flow.say_language, voice=self.flow.say_voice)
            say.prosody(prompt.speech, rate=f"{round(prompt.rate * 100)}%")
            parent.append(say)

    def gather(self, action: str, prompt_ids: tuple[str, ...], **options: object) -> Gather:
        """A keypad Gather posting to `action` that plays the prompts (a key interrupts them): one key,
        the flow's timeout, `#` delivered as a digit; `options` override (PIN, number entry, queue wait)."""
        settings = {"num_digits": 1, "timeout": self.flow.input.timeout_s, "finish_on_key": "", **options}
        gather = Gather(input="dtmf", action=action, method="POST", action_on_empty_result=False, **settings)
        self.speak(gather, *prompt_ids)
        return gather

    def _gather(self, path: str, prompt_ids: tuple[str, ...], no_input: int, invalid: int) -> VoiceResponse:
        response = VoiceResponse()
        action = self.urls.to("/voice/key", p=path, n=no_input, x=invalid)
        response.append(self.gather(action, prompt_ids))
        # A Gather that times out falls through: this Redirect (no Digits) is how "no input" arrives.
        response.redirect(action, method="POST")
        return response

    def _node_prompts(self, path: str, reason: str, notice: tuple[str, ...]) -> tuple[str, ...]:
        menus, answer = self.flow.walk(path)
        before = notice if reason == "closed" else PREFIX.get(reason, ())
        if answer is not None and answer.answer is not None:
            if reason == "closing":
                return ("closing",)
            if reason == "invalid":
                return ("invalid_key", "after_answer.short")
            if reason == "slow":  # the answer once more, slowly: the caller knows the question by now
                return (slow(answer.answer), "after_answer")
            if before:  # the answer was heard: after a failed transfer or the hours, only the choices
                return (*before, "after_answer")
            question = (answer.question,) if answer.question else ()
            return (*question, answer.answer, "after_answer")
        menu = f"menu.{menus[-1].id}"
        if reason in ("no_input", "invalid"):  # short re-prompts: a person (0) first, then the options
            return (*before, f"{menu}.short")
        return (*before, menu)

    def welcome(self) -> str:
        """A new call: announcement, greeting, start menu."""
        ids = (self.flow.announcement,) if self.flow.announcement else ()
        ids = (*ids, self.flow.greeting, f"menu.{self.flow.start}")
        return self._memo(("welcome",), lambda: self._gather("", ids, 0, 0))

    def node(
        self,
        path: str,
        reason: Reason = "",
        no_input: int = 0,
        invalid: int = 0,
        notice: tuple[str, ...] = (),
    ) -> str:
        """The menu or answer at a key path, after what the reason calls for (the closed notice)."""

        def build() -> VoiceResponse:
            prompts = self._node_prompts(path, reason, notice)
            return self._gather(path, prompts, no_input, invalid)

        return self._memo(("node", path, reason, no_input, invalid, notice), build)

    def agent(self, path: str) -> str:
        """Put the caller through; busy, no answer and failure come back to /voice/agent/done."""

        def build() -> VoiceResponse:
            response = VoiceResponse()
            self.speak(response, "agent_connecting")
            agent = self.flow.agent
            dial = Dial(
                timeout=agent.dial_timeout_s,
                action=self.urls.to("/voice/agent/done", p=path),
                method="POST",
                caller_id=agent.caller_id,
            )
            if agent.destination.startswith("sip"):
                dial.sip(agent.destination)
            else:
                dial.number(agent.destination)
            response.append(dial)
            return response

        return self._memo(("agent", path), build)

    def hang_up(self, prompts: tuple[str, ...]) -> str:
        """Say these, then end the call."""

        def build() -> VoiceResponse:
            response = VoiceResponse()
            self.speak(response, *prompts)
            response.hangup()
            return response

        return self._memo(("hang-up", prompts), build)

    def goodbye(self, notice: tuple[str, ...] = ()) -> str:
        """End the call politely, after the closed notice (or whatever `notice` says) when there is one."""
        return self.hang_up((*notice, "goodbye"))

    def step(self, step: Step) -> str:
        """The TwiML of a navigation step (the queue and the offer are the web layer's: they need the hour
        the caller asked and the queue's size, which this renderer does not know)."""
        if step.kind in ("queue", "offer"):
            raise ValueError(f"a {step.kind} step is rendered by ivr.web, not by Renderer.step")
        if step.kind == "agent":
            return self.agent(step.path)
        if step.kind == "goodbye":
            return self.goodbye(step.notice)
        return self.node(step.path, step.reason, step.no_input, step.invalid, step.notice)

    def fallback(self) -> str:
        """Static apology; <Say> only, so it works when audio cannot be fetched."""

        def build() -> VoiceResponse:
            response = VoiceResponse()
            prompt = self.bundle.prompts["fallback"]
            response.say(prompt.speech, language=self.flow.say_language, voice=self.flow.say_voice)
            response.hangup()
            return response

        return self._memo(("fallback",), build)


def minimal_fallback() -> str:
    """Valid TwiML for the worst case, when no flow was ever loaded: end the call cleanly."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
