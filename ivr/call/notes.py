"""What a call decision asks the call log to record: an event and its fields, in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ivr.flow.model import Flow


@dataclass(frozen=True)
class Note:
    """One call-log event (journal row and metrics) with its fields, as webhook.note takes them."""

    event: str
    fields: dict[str, Any] = field(default_factory=dict)


def heard(flow: Flow, path: str, where: str | None = None) -> Note | None:
    """The note of the menu or answer heard at `path` ("menu"/"answer" and its fields); None: none there.

    `where`: the position to journal instead of `path` (where the keys that led here were pressed).
    A pressed key's row stands where it was pressed, which is "" for the start menu.
    """
    try:
        menus, option = flow.walk(path)
    except KeyError:
        return None
    position = path if where is None else where
    if option is not None:
        return Note("answer", {"p": position, "answer": option.answer})
    return Note("menu", {"p": position, "menu": menus[-1].id})
