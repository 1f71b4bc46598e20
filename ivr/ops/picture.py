"""The menu as a graph: menus, answers, option keys, and the agent and hours paths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ivr.flow.bundle import Bundle
from ivr.flow.catalog import Composer
from ivr.flow.model import Flow
from ivr.flow.prompts import PromptTexts
from ivr.ops.timing import of_prompt, total

Shape = Literal["start", "menu", "answer", "keys", "decision", "dial", "step"]


@dataclass(frozen=True)
class Node:
    """A box in the picture; `lines` are its label's lines."""

    id: str
    lines: tuple[str, ...]
    shape: Shape


@dataclass(frozen=True)
class Edge:
    """An arrow; dotted for the global keys that work everywhere."""

    source: str
    target: str
    label: str = ""
    dotted: bool = False


def node_id(kind: str, name: str) -> str:
    """A Mermaid- and DOT-safe id: menus are menu_<id>, answers answer_<prompt id>."""
    return f"{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def _nth(n: int) -> str:
    return f"{n}{'st' if n == 1 else 'nd' if n == 2 else 'rd' if n == 3 else 'th'}"


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build(bundle: Bundle, texts: PromptTexts, *, seconds: bool = True) -> tuple[list[Node], list[Edge]]:
    """Every menu and answer with its label (and audio length), the option keys, the agent and hours paths.

    Without `seconds`, only what an edit of flows.yaml or prompts/ changes: no figure of the audio.
    """
    flow, c = bundle.flow, Composer(bundle.flow, texts)
    length = {pid: f" {of_prompt(bundle, pid)}" if seconds else "" for pid in bundle.prompts}
    welcome = [p for p in (flow.announcement, flow.greeting) if p]
    heard = f" {total([of_prompt(bundle, p) for p in welcome])}" if seconds else ""

    def audio(what: str, prompt_id: str) -> tuple[str, ...]:
        return (f"{what}{length[prompt_id]}",) if seconds else ()

    nodes = [Node("incoming", ("incoming call", f"{' + '.join(welcome)}{heard}"), "start")]
    edges = [Edge("incoming", node_id("menu", flow.start))]
    titles = {o.menu: c.get(o.label) for m in flow.menus.values() for o in m.options if o.menu}
    questions = {o.answer: c.get(o.label) for m in flow.menus.values() for o in m.options if o.answer}
    for menu in flow.menus.values():
        title = "start menu" if menu.id == flow.start else _short(titles.get(menu.id, ""))
        source = node_id("menu", menu.id)
        nodes.append(Node(source, (f"{menu.id}: {title}", *audio("menu", f"menu.{menu.id}")), "menu"))
        for option in menu.options:
            target = node_id("menu", option.menu) if option.menu else node_id("answer", str(option.answer))
            edges.append(Edge(source, target, option.key))
    for answer, question in questions.items():
        lines = (f"{answer}: {_short(question)}", *audio("answer", answer))
        nodes.append(Node(node_id("answer", answer), lines, "answer"))
    keys, agent, cal = flow.keys, flow.agent, flow.calendar
    closed = flow.emergency_prompt if cal.emergency_closure else "closed: why now, when it opens next"
    is_open = "open now? (emergency closure: never)" if cal.emergency_closure else "open now?"
    everywhere = (
        f"every menu: {keys.repeat} repeat · {keys.back} back · {keys.agent} agent",
        f"after an answer: {keys.slow} again slowly · {keys.main_menu} start menu",
        *audio("after_answer", "after_answer"),
    )
    dial = (
        f"agent_connecting{length['agent_connecting']}",
        f"Dial {agent.destination}",
        f"rings up to {agent.dial_timeout_s} s",
    )
    goodbye = f"goodbye{length['goodbye']}"
    nodes += [
        Node("anywhere", everywhere, "keys"),
        Node("hours", (is_open, c.hours(cal)), "decision"),
        Node("agent", dial, "dial"),
        Node("closed", (closed, "then the same menu"), "step"),
        Node("apology", ("apology, then the same menu",), "step"),
        Node("bye", (f"{goodbye}, hang up",), "step"),
        Node("final", (is_open,), "decision"),
        Node("closed_bye", (f"{closed} + {goodbye}", "hang up"), "step"),
        Node("done", (f"closing{length['closing']}, silence again: {goodbye}", "hang up"), "step"),
    ]
    silences, wrong = flow.input.max_no_input, flow.input.max_invalid
    misses = f"in a menu: the {_nth(silences)} silence or {_nth(wrong)} wrong key in a row"
    edges += [
        Edge("anywhere", "hours", keys.agent, dotted=True),
        Edge("hours", "agent", "yes"),
        Edge("hours", "closed", "no"),
        Edge("agent", "bye", "completed"),
        Edge("agent", "apology", "busy · no-answer · failed · canceled"),
        Edge("anywhere", "final", misses, dotted=True),
        Edge("final", "agent", "yes"),
        Edge("final", "closed_bye", "no"),
        Edge("anywhere", "done", "silence after an answer", dotted=True),
    ]
    if flow.queue.enabled:
        nodes, edges = _queued(flow, nodes, edges)
    return nodes, edges


def _queued(flow: Flow, nodes: list[Node], edges: list[Edge]) -> tuple[list[Node], list[Edge]]:
    """With a queue, 0 in hours waits for an agent on the agent line; out of hours a callback is offered."""
    q = flow.queue
    waiting = (
        f"queue '{q.name}': place and estimate every {q.announce_every_s} s",
        "1 callback instead · * place again",
        f"after {q.max_wait_s} s or past {q.max_size} callers: the callback offer",
    )
    callback = ("callback: the number read back, 1 yes · 2 another", "saved, then 承りました and goodbye")
    agent = ("an agent on the agent line", "takes the next caller (key 1)")
    nodes = [n if n.id != "agent" else Node("agent", agent, "dial") for n in nodes if n.id != "apology"]
    nodes += [Node("queue", waiting, "dial"), Node("callback", callback, "step")]
    into_queue = {("hours", "agent"), ("final", "agent")}
    edges = [Edge(e.source, "queue", e.label) if (e.source, e.target) in into_queue else e for e in edges]
    edges = [e for e in edges if not (e.source == "agent" and e.target == "apology")]
    edges += [
        Edge("queue", "agent", "bridged"),
        Edge("queue", "callback", "1 · max wait · full"),
        Edge("closed", "callback", "then the offer"),
    ]
    return nodes, edges
