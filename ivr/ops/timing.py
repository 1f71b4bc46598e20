"""How long a caller listens: audio lengths from the manifest, or estimates from the text without audio."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.flow.bundle import Bundle
from ivr.flow.catalog import Composer
from ivr.flow.model import Menu
from ivr.flow.prompts import PromptTexts

# Measured on the committed offline audio (openjtalk mei_normal, speed 1.0): 4315 characters of speech
# text in 737 s, counting punctuation, which the voice pauses on.
CHARS_PER_SECOND = 5.9
LEGEND = f"~ = no audio yet: estimated from the text at {CHARS_PER_SECOND} characters per second"


@dataclass(frozen=True)
class Length:
    """Seconds of audio, and whether they are estimated from the text rather than measured."""

    seconds: float
    estimated: bool = False

    def __add__(self, other: Length) -> Length:
        return Length(self.seconds + other.seconds, self.estimated or other.estimated)

    def __str__(self) -> str:
        return f"{'~' if self.estimated else ''}{self.seconds:.1f} s"


def estimate(speech: str) -> Length:
    """The estimated length of a text spoken by the voice."""
    return Length(round(len(speech) / CHARS_PER_SECOND, 2), estimated=True)


def of_prompt(bundle: Bundle, prompt_id: str) -> Length:
    """A prompt's length: its audio file's, or estimated from its speech text when there is none."""
    entry = bundle.audio.get(prompt_id)
    return Length(entry.duration_s) if entry else estimate(bundle.prompts[prompt_id].speech)


def total(lengths: list[Length]) -> Length:
    """The sum of lengths (estimated when any part is)."""
    return sum(lengths, Length(0.0))


def key_announced(bundle: Bundle, texts: PromptTexts, menu: Menu, key: str) -> Length:
    """Time into a menu prompt when the option of `key` has been announced in full (barge-in point).

    Without word timings the audio is taken to run evenly over the speech text, so the point is the
    share of the text up to the end of that option's item ("…については、1を" / "1番、…。").
    """
    whole = of_prompt(bundle, f"menu.{menu.id}")
    c = Composer(bundle.flow, texts)
    upto = next(i for i, o in enumerate(menu.options) if o.key == key) + 1
    heard = c.intro(menu) + c.options(menu, upto)
    prompt = bundle.prompts[f"menu.{menu.id}"]
    if not prompt.text.startswith(heard):  # composed differently than assumed: the whole prompt, to be safe
        return whole
    share = len(texts.speech(heard)) / max(len(prompt.speech), 1)
    return Length(round(whole.seconds * min(share, 1.0), 2), whole.estimated)
