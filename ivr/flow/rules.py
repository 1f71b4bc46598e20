"""Checks across the flow that a schema cannot see: targets, reachability, clashes, prompt ids."""

from __future__ import annotations

from ivr.flow.model import MAX_PATH, Flow
from ivr.flow.prompts import PromptTexts
from ivr.flow.yamlpos import Document

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
    _own_numbers(flow, doc)
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
    for menu_id in _dead_ends(flow):
        doc.problem(
            ("menus", menu_id),
            f"menu '{menu_id}' has no way out: none of its keys leads to an answer",
            "give it an option with answer: <prompt id>, or lead its keys to menus that have answers",
            key=True,
        )
    longest = _longest(flow, doc)
    for menu_id, level in depth.items():
        for option in flow.menus[menu_id].options:
            opath = ("menus", menu_id, "options", option.key)
            most = longest.get(menu_id, level) + 1
            fix = f"keep every answer within {MAX_ANSWER_DEPTH} keys of the start menu"
            if option.answer and most > MAX_PATH:
                doc.problem(
                    opath,
                    f"answer '{option.answer}' can be {most} key presses from the start menu, "
                    f"more than the {MAX_PATH} the service can follow",
                    fix,
                    key=True,
                )
            elif option.answer and level + 1 > MAX_ANSWER_DEPTH:
                doc.problem(
                    opath,
                    f"answer '{option.answer}' needs {level + 1} key presses from the start menu",
                    fix,
                    key=True,
                    warn=True,
                )


def _own_numbers(flow: Flow, doc: Document) -> None:
    """A transfer to a number this service answers would call the hotline itself, in a loop."""
    own = {flow.numbers.hotline: "hotline", flow.numbers.agent_line: "agent_line"}
    reached = own.get(flow.agent.destination)
    if reached:
        doc.problem(
            ("agent", "destination"),
            f"the agent destination is this service's own {reached} number (numbers.{reached}): "
            "a transfer would call the hotline itself",
            "write the agents' desk: their own number or a SIP URI on the bank's PBX",
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


def _dead_ends(flow: Flow) -> list[str]:
    """Menus with options from which no answer can be reached (they only lead to each other)."""
    good = {m.id for m in flow.menus.values() if any(o.answer for o in m.options)}
    grew = True
    while grew:
        before = len(good)
        good |= {m.id for m in flow.menus.values() if any(o.menu in good for o in m.options)}
        grew = len(good) > before
    return [m.id for m in flow.menus.values() if m.options and m.id not in good]


def _longest(flow: Flow, doc: Document) -> dict[str, int]:
    """Most key presses from the start to each menu; reports options that lead back up the way (loops)."""
    order: list[str] = []  # each menu after every menu below it; reversed, parents come first

    def visit(menu_id: str, way: tuple[str, ...]) -> None:
        for option in flow.menus[menu_id].options:
            target = option.menu
            if target in way and target != flow.start:  # back to the start is reported above
                doc.problem(
                    ("menus", menu_id, "options", option.key, "menu"),
                    f"key {option.key} in menu '{menu_id}' leads back to '{target}', which callers pass on "
                    "the way here, so they could go round in circles",
                    f"remove it: callers go back with the '{flow.keys.back}' key",
                )
            elif target in flow.menus and target not in order and target not in way:
                visit(target, (*way, target))
        order.append(menu_id)

    visit(flow.start, (flow.start,))
    longest, rank = {flow.start: 0}, {m: i for i, m in enumerate(reversed(order))}
    for menu_id in reversed(order):
        for option in flow.menus[menu_id].options:
            if option.menu is not None and rank.get(option.menu, -1) > rank[menu_id]:  # not a loop
                longest[option.menu] = max(longest.get(option.menu, 0), longest[menu_id] + 1)
    return longest


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
            if option.question:
                wanted.append(((*opath, "question"), option.question))
    for path, prompt_id in wanted:
        if prompt_id not in texts.texts:
            doc.problem(
                path,
                f"unknown prompt id '{prompt_id}'",
                "add it to a file in prompts/ or fix the spelling (prompts/ に文言を追加してください)",
            )
