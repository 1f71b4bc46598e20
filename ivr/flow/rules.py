"""Checks across the flow that a schema cannot see: targets, reachability, clashes, prompt ids."""

from __future__ import annotations

from ivr.flow.model import Flow
from ivr.prompts import PromptTexts
from ivr.yamlpos import Document

MAX_ANSWER_DEPTH = 2


def check(flow: Flow, texts: PromptTexts, doc: Document) -> None:
    """Append every cross-reference problem of the flow to the document's problems."""
    if flow.start not in flow.menus:
        doc.problem(
            ("start",),
            f"the start menu '{flow.start}' does not exist",
            f"write one of: {', '.join(flow.menus) or '(no menus yet)'}",
        )
        return
    _prompt_ids(flow, texts, doc)
    global_keys = {flow.keys.repeat: "repeat", flow.keys.back: "back", flow.keys.agent: "agent"}
    for menu in flow.menus.values():
        where = ("menus", menu.id)
        if not menu.options:
            doc.problem(
                (*where, "options"),
                f"menu '{menu.id}' has no options, so callers have no way on",
                "add at least one option, or remove the menu",
            )
        for option in menu.options:
            opath = (*where, "options", option.key)
            if option.key in global_keys:
                doc.problem(
                    opath,
                    f"key {option.key} in menu '{menu.id}' clashes with the global "
                    f"'{global_keys[option.key]}' key",
                    "choose another key for this option",
                    key=True,
                )
            if option.menu is not None and option.menu not in flow.menus:
                doc.problem(
                    (*opath, "menu"),
                    f"menu '{option.menu}' does not exist",
                    f"write one of: {', '.join(flow.menus)}",
                )
            elif option.menu == flow.start:
                doc.problem(
                    (*opath, "menu"),
                    f"an option cannot lead back to the start menu '{flow.start}'",
                    f"remove it: callers go back with the '{flow.keys.back}' key",
                )
    depth = _depths(flow)
    for menu_id in flow.menus:
        if menu_id not in depth:
            doc.problem(
                ("menus", menu_id),
                f"menu '{menu_id}' cannot be reached from '{flow.start}'",
                "add an option that leads to it, or remove it",
                key=True,
            )
    for menu_id, level in depth.items():
        for option in flow.menus[menu_id].options:
            if option.answer and level + 1 > MAX_ANSWER_DEPTH:
                doc.problem(
                    ("menus", menu_id, "options", option.key),
                    f"answer '{option.answer}' needs {level + 1} key presses from the start menu",
                    f"keep every answer within {MAX_ANSWER_DEPTH} keys of the start menu",
                    key=True,
                    warn=True,
                )


def _depths(flow: Flow) -> dict[str, int]:
    """Fewest key presses from the start menu to each reachable menu."""
    depth = {flow.start: 0}
    queue = [flow.start]
    while queue:
        menu_id = queue.pop(0)
        for option in flow.menus[menu_id].options:
            if option.menu in flow.menus and option.menu not in depth:
                depth[option.menu] = depth[menu_id] + 1
                queue.append(option.menu)
    return depth


def _prompt_ids(flow: Flow, texts: PromptTexts, doc: Document) -> None:
    wanted: list[tuple[tuple[str | int, ...], str]] = [
        (("greeting",), flow.greeting),
        (("hours", "emergency_prompt"), flow.emergency_prompt),
    ]
    if flow.announcement:
        wanted.append((("announcement",), flow.announcement))
    for menu in flow.menus.values():
        if menu.intro:
            wanted.append((("menus", menu.id, "intro"), menu.intro))
        for option in menu.options:
            opath = ("menus", menu.id, "options", option.key)
            wanted.append(((*opath, "label"), option.label))
            if option.answer:
                wanted.append(((*opath, "answer"), option.answer))
    for path, prompt_id in wanted:
        if prompt_id not in texts.texts:
            doc.problem(
                path,
                f"unknown prompt id '{prompt_id}'",
                "add it to a file in prompts/ or fix the spelling (prompts/ に文言を追加してください)",
            )
