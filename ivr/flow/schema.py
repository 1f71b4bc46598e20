"""Turn the flows.yaml document into a Flow, reporting every problem with its line."""

from __future__ import annotations

import re
from typing import Any

from ivr.flow import hours, numbers, queue
from ivr.flow.fields import Section
from ivr.flow.model import AgentSettings, Flow, GlobalKeys, InputSettings, Menu, Option, SynthesisSettings
from ivr.flow.numbers import E164
from ivr.flow.yamlpos import Document

KEYPAD = "0123456789*#"
SIP = re.compile(r"^sips?:[^@\s]+@[A-Za-z0-9.\-]+(:\d+)?(;[^\s]*)?$")
TOP = (
    "version",
    "start",
    "announcement",
    "greeting",
    "keys",
    "input",
    "agent",
    "say_voice",
    "say_language",
    "hours",
    "synthesis",
    "checks",
    "menus",
    "numbers",
    "queue",
)


def keypad_key(doc: Document, path: tuple[Any, ...], value: Any, *, key: bool = False) -> str | None:
    """A single keypad key (0-9, * or #) or None with a problem recorded."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if len(text) == 1 and text in KEYPAD:
        return text
    doc.problem(
        path,
        "no key is given (an unquoted # starts a comment)"
        if value is None
        else f"{value!r} is not a single keypad key",
        'use one of 0–9, "*" or "#" (quote * and #, which YAML reads specially)',
        key=key,
    )
    return None


def build(doc: Document) -> Flow | None:
    """Build the Flow from a parsed document; None when it has errors (they are in doc.problems)."""
    if doc.data is None and not doc.problems:
        doc.problem((), "the flow file has no content", "restore it from the last version")
    if not isinstance(doc.data, dict):
        if doc.data is not None:
            doc.problem(
                (), "the flow file must be a list of fields (start:, menus:, …)", "restore its layout"
            )
        return None
    top = Section(doc, (), TOP, required=("start", "menus", "agent"))
    if top.get("version", 1) != 1:
        doc.problem(("version",), f"unknown version {top.get('version')!r}", "write version: 1")
    keys = _keys(doc)
    menus = _menus(doc)
    checks = Section(doc, ("checks",), ("max_menu_seconds",))
    calendar, emergency_prompt = hours.calendar(doc)
    try:
        return Flow(
            start=str(top.text("start", "main")),
            menus=menus,
            keys=keys,
            input=_input(doc),
            agent=_agent(doc),
            calendar=calendar,
            greeting=str(top.text("greeting", "greeting")),
            announcement=top.text("announcement", optional=True),
            emergency_prompt=emergency_prompt,
            say_voice=str(top.text("say_voice", "Polly.Mizuki")),
            say_language=str(top.text("say_language", "ja-JP")),
            synthesis=_synthesis(doc),
            max_menu_seconds=checks.number("max_menu_seconds", 60.0, 5, 600),
            numbers=numbers.read(doc),
            queue=queue.read(doc),
        )
    except (TypeError, ValueError) as exc:  # a value the readers let through but the model refuses
        doc.problem((), f"the flow cannot be used: {exc}", "fix the values reported above")
        return None


def _keys(doc: Document) -> GlobalKeys:
    names = ("repeat", "back", "agent", "main_menu", "slow")
    sec = Section(doc, ("keys",), names)
    found: dict[str, str] = {}
    for name in names:
        value = keypad_key(doc, ("keys", name), sec.get(name, getattr(GlobalKeys, name)))
        if value is None:
            continue
        if value in found.values():
            other = next(k for k, v in found.items() if v == value)
            doc.problem(
                ("keys", name),
                f"'{name}' uses key {value}, already used by '{other}'",
                "give each global key its own key",
            )
        found[name] = value
    return GlobalKeys(**found)


def _input(doc: Document) -> InputSettings:
    sec = Section(doc, ("input",), ("timeout_s", "max_no_input", "max_invalid"))
    return InputSettings(
        timeout_s=int(sec.number("timeout_s", 6, 2, 30, integer=True)),
        max_no_input=int(sec.number("max_no_input", 2, 1, 5, integer=True)),
        max_invalid=int(sec.number("max_invalid", 3, 1, 5, integer=True)),
    )


def _agent(doc: Document) -> AgentSettings:
    sec = Section(doc, ("agent",), ("destination", "dial_timeout_s", "caller_id"), required=("destination",))
    destination = sec.text("destination", "") or ""
    if destination and not (E164.match(destination) or SIP.match(destination)):
        doc.problem(
            ("agent", "destination"),
            f"'{destination}' is not a phone number or SIP address",
            'write an E.164 number like "+81120701675" or a SIP URI like "sip:desk@pbx.example.jp"',
        )
    caller_id = sec.text("caller_id", optional=True)
    if caller_id and not E164.match(caller_id):
        doc.problem(
            ("agent", "caller_id"), f"'{caller_id}' is not an E.164 number", 'write it like "+81312345678"'
        )
    return AgentSettings(
        destination or "+10000000000", int(sec.number("dial_timeout_s", 25, 5, 120, integer=True)), caller_id
    )


def _synthesis(doc: Document) -> SynthesisSettings:
    sec = Section(doc, ("synthesis",), ("engine", "target_db", "slow_rate", "openjtalk", "google"))
    engine = sec.text("engine", "openjtalk") or "openjtalk"
    if engine not in ("openjtalk", "google"):
        doc.problem(
            ("synthesis", "engine"), f"unknown engine {engine!r}", "write engine: openjtalk or engine: google"
        )
    known = {"openjtalk": ("voice", "speed", "half_tone"), "google": ("voice", "speaking_rate", "pitch")}
    engines = {name: dict(Section(doc, ("synthesis", name), fields).data) for name, fields in known.items()}
    return SynthesisSettings(
        engine, sec.number("target_db", -20.0, -40, -6), sec.number("slow_rate", 0.8, 0.5, 1.0), engines
    )


def _menus(doc: Document) -> dict[str, Menu]:
    menus: dict[str, Menu] = {}
    all_menus = Section(doc, ("menus",), [str(k) for k in (doc.data or {}).get("menus") or {}])
    for menu_id in all_menus.data:
        path = ("menus", menu_id)
        sec = Section(doc, path, ("intro", "style", "options"), required=("options",))
        style = sec.get("style", "topic")
        if style not in ("topic", "question"):
            doc.problem((*path, "style"), f"unknown style {style!r}", "write style: topic or style: question")
            style = "topic"
        raw_options = Section(doc, (*path, "options"), [str(k) for k in sec.get("options") or {}]).data
        options: list[Option] = []
        for raw_key in raw_options:
            opath = (*path, "options", raw_key)
            key = keypad_key(doc, opath, raw_key, key=True)
            osec = Section(doc, opath, ("label", "menu", "answer", "question"), required=("label",))
            targets = [t for t in ("menu", "answer") if t in osec.data]
            if len(targets) != 1 and osec.ok:
                doc.problem(
                    opath,
                    f"option {raw_key} needs exactly one of 'menu:' or 'answer:'",
                    "say where the key leads: menu: <menu name> or answer: <prompt id>",
                    key=True,
                )
            if "question" in osec.data and "menu" in osec.data:
                doc.problem(
                    (*opath, "question"),
                    f"option {raw_key} opens a menu, so it has no question to say",
                    "remove question: (it names the FAQ question said before an answer)",
                )
            if key is None or not osec.ok:
                continue
            if any(o.key == key for o in options):
                doc.problem(
                    opath,
                    f"key {key} is used twice in menu '{menu_id}'",
                    "give each option its own key",
                    key=True,
                )
                continue
            options.append(
                Option(
                    key,
                    str(osec.text("label", "")),
                    osec.text("menu", optional=True),
                    osec.text("answer", optional=True),
                    osec.text("question", optional=True),
                )
            )
        menus[str(menu_id)] = Menu(
            str(menu_id), tuple(sorted(options, key=lambda o: o.key)), sec.text("intro", optional=True), style
        )
    return menus
