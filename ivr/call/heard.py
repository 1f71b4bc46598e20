"""What a caller hears from the start of a position, as its journal event: a pure function of the flow."""

from __future__ import annotations

from typing import Any

from ivr.flow.model import Flow


def heard(flow: Flow, path: str, where: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """The event of the menu or answer heard at `path` ("menu"/"answer" and its fields); None: none there.

    `where`: the position to journal instead of `path` (where the keys that led here were pressed).
    A pressed key's row stands where it was pressed, which is "" for the start menu.
    """
    try:
        menus, option = flow.walk(path)
    except KeyError:
        return None
    position = path if where is None else where
    if option is not None:
        return "answer", {"p": position, "answer": option.answer}
    return "menu", {"p": position, "menu": menus[-1].id}
