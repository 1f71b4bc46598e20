"""The speech engine interface, its error type and option parsing (engines.make_engine builds one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .wavfile import Samples


class SynthesisError(Exception):
    """A synthesis failed; the message is meant for the user as is (no stack trace needed)."""


class Engine(Protocol):
    """A text-to-speech engine: the same speech and settings always give the same sound."""

    name: str  # "openjtalk" | "google"
    voice: str  # voice name recorded in the manifest

    def settings(self) -> dict[str, object]:
        """Everything that changes the sound, for the content hash (JSON-serialisable)."""
        ...

    def synthesize(self, speech: str, *, prompt_id: str, rate: float = 1.0) -> tuple[Samples, int]:
        """Speak `speech` at `rate` x its speed: samples in [-1, 1] and their rate, or SynthesisError."""
        ...

    def billable_characters(self, speech: str) -> int:
        """Characters the provider bills for `speech` (0 for a local engine)."""
        ...


ENGINE_NAMES = ("openjtalk", "google")


def check_options(engine: str, options: Mapping[str, object], known: tuple[str, ...]) -> None:
    """ValueError naming every option the engine does not know."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"unknown option(s) for the {engine} engine: {', '.join(unknown)}; "
            f"known options: {', '.join(known)}"
        )


def number_option(
    engine: str, options: Mapping[str, object], key: str, default: float, low: float, high: float
) -> float:
    """Read a number option within [low, high]; ValueError with the allowed range otherwise."""
    value = options.get(key, default)
    # bool is an int subclass: `speed: true` in YAML must not read as 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{engine} option {key!r} must be a number from {low} to {high}, got {value!r}")
    return float(value)


def text_option(engine: str, options: Mapping[str, object], key: str, default: str) -> str:
    """Read a non-empty text option; ValueError otherwise."""
    value = options.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{engine} option {key!r} must be a non-empty text, got {value!r}")
    return value.strip()


def shorten(text: str, limit: int = 60) -> str:
    """The text on one line, cut to `limit` characters with an ellipsis, for error messages."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
