"""Which engine speaks: `make_engine` by name (each loads its speech library only when it first speaks)."""

from __future__ import annotations

from collections.abc import Mapping

from .google_engine import GoogleEngine
from .interface import ENGINE_NAMES, Engine
from .openjtalk_engine import OpenJTalkEngine


def make_engine(name: str, options: Mapping[str, object]) -> Engine:
    """Build the engine `name` from its options; ValueError names an unknown engine or option."""
    if name == "openjtalk":
        return OpenJTalkEngine.from_options(options)
    if name == "google":
        return GoogleEngine.from_options(options)
    raise ValueError(f"unknown speech engine {name!r}; choose one of: {', '.join(ENGINE_NAMES)}")
