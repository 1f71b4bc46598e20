"""The menu map: the picture of `ivr graph`, each arrow labelled with the callers who took it in a range."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from flask import render_template, request

from ivr.console.pages import BadRange, bp, day_range
from ivr.flow.bundle import Bundle
from ivr.ops import formats, picture
from ivr.ops.picture import Node, node_id
from ivr.state import get_state
from ivr.store import extension as store
from ivr.store import report, traffic
from ivr.store.traffic import Traffic

HOT_SHARE = 0.2  # a menu where at least this share of the range's calls ended stands out


def edge_counts(bundle: Bundle, seen: Traffic, calls: int) -> dict[tuple[str, str, str], int]:
    """(source, target, key label) → how many times a caller went that way."""
    flow = bundle.flow
    counts: Counter[tuple[str, str, str]] = Counter()
    for (position, digits), n in seen.keys.items():
        try:
            menus, option = flow.walk(position)
        except KeyError:
            continue
        chosen = menus[-1].option(digits) if option is None else None
        if chosen is None:
            continue
        target = node_id("menu", chosen.menu) if chosen.menu else node_id("answer", str(chosen.answer))
        counts[(node_id("menu", menus[-1].id), target, chosen.key)] += n
    kinds, outcomes = seen.kinds, seen.outcomes
    counts[("incoming", node_id("menu", flow.start), "")] = calls
    counts[("anywhere", "hours", flow.keys.agent)] = kinds["agent"] + kinds["agent-closed"]
    counts[("hours", "agent", "yes")] = kinds["agent"]
    counts[("hours", "closed", "no")] = kinds["agent-closed"]
    counts[("agent", "bye", "completed")] = outcomes["completed"]
    counts[("agent", "apology", "busy · no-answer · failed · canceled")] = sum(
        n for outcome, n in outcomes.items() if outcome != "completed"
    )
    counts[("anywhere", "final", "")] = kinds["no-input-final"] + kinds["invalid-final"]
    return counts


def hangup_nodes(hangups: dict[str, int]) -> dict[str, int]:
    """Report hang-up positions (menu or answer id, agent, final, greeting) → node ids of the picture."""
    found: dict[str, int] = {}
    for where, n in hangups.items():
        if where in ("agent", "final"):
            found[where] = n
        elif where == "greeting":
            found["incoming"] = n
        else:
            found[node_id("menu", where)] = found.get(node_id("menu", where), 0) + n
            found[node_id("answer", where)] = found.get(node_id("answer", where), 0) + n
    return found


def mermaid(bundle: Bundle, seen: Traffic, figures: dict[str, Any]) -> tuple[str, list[str]]:
    """The Mermaid text with counts on the arrows and hang-ups in the boxes; the ids of the hot menus."""
    nodes, edges = picture.build(bundle, bundle.texts)
    calls = int(figures["calls"])
    counts = {(s, t): n for (s, t, _key), n in edge_counts(bundle, seen, calls).items()}
    ended = hangup_nodes(figures["hangups"])
    labelled = [
        dataclasses.replace(edge, label=f"{edge.label} · {n}件" if edge.label else f"{n}件")
        if (n := counts.get((edge.source, edge.target))) is not None
        else edge
        for edge in edges
    ]
    shown: list[Node] = []
    hot: list[str] = []
    for node in nodes:
        n = ended.get(node.id, 0)
        if n:
            node = dataclasses.replace(node, lines=(*node.lines, f"ここで終話 {n}件"))
            if node.shape in ("menu", "start") and calls and n / calls >= HOT_SHARE:
                hot.append(node.id)
        shown.append(node)
    lines = [formats.mermaid(shown, labelled).rstrip("\n")]
    lines.append("  classDef hot fill:#ffd6d6,stroke:#c00000,stroke-width:3px,color:#600")
    if hot:
        lines.append(f"  class {','.join(hot)} hot")
    top = max(counts.values(), default=0) or 1
    for index, edge in enumerate(labelled):  # the busier the way, the thicker its arrow
        if n := counts.get((edge.source, edge.target), 0):
            lines.append(f"  linkStyle {index} stroke-width:{1 + round(5 * n / top)}px")
    return "\n".join(lines) + "\n", hot


@bp.get("/map")
def menu_map() -> tuple[str, int] | str:
    """The menu as a picture with the range's traffic on every arrow."""
    loaded = get_state().loaded
    try:
        first, last, begin, stop = day_range(request.args.get("from"), request.args.get("to"))
    except BadRange as error:
        return render_template("console/map.html", error=str(error), text=None, shown=request.args), 400
    shown = {"from": first.isoformat(), "to": last.isoformat()}
    if loaded is None:
        return render_template(
            "console/map.html", error="メニューが読み込まれていません", text=None, shown=shown
        )
    engine = store.engine()
    figures = report.build(engine, begin, stop)
    text, hot = mermaid(loaded.bundle, traffic.build(engine, begin, stop), figures)
    return render_template(
        "console/map.html", error=None, text=text, hot=hot, shown=shown, calls=figures["calls"]
    )
