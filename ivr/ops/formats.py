"""The menu picture written as Mermaid (for Markdown) or Graphviz DOT (for SVG and PNG)."""

from __future__ import annotations

from ivr.ops.picture import Edge, Node

_MERMAID_SHAPES = {
    "start": ('(["', '"])'),
    "menu": ('["', '"]'),
    "answer": ('("', '")'),
    "keys": ('{{"', '"}}'),
    "decision": ('{"', '"}'),
    "dial": ('[["', '"]]'),
    "step": ('[/"', '"/]'),
}


def _mermaid_text(text: str) -> str:
    # Mermaid's entity codes; '#' first, since the others are written with it
    return "".join(f"#{ord(ch)};" if ch in '#"<>' else ch for ch in text)


def mermaid(nodes: list[Node], edges: list[Edge]) -> str:
    """The picture as a Mermaid flowchart (GitHub renders it in Markdown)."""
    out = ["flowchart LR"]
    for node in nodes:
        opening, closing = _MERMAID_SHAPES[node.shape]
        out.append(f"  {node.id}{opening}{'<br/>'.join(_mermaid_text(line) for line in node.lines)}{closing}")
    for edge in edges:
        arrow = "-.->" if edge.dotted else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        out.append(f"  {edge.source} {arrow}{label} {edge.target}")
    return "\n".join(out) + "\n"


_DOT_SHAPES = {
    "start": "shape=oval",
    "menu": "shape=box",
    "answer": 'shape=box, style="rounded"',
    "keys": "shape=hexagon",
    "decision": "shape=diamond",
    "dial": "shape=box3d",
    "step": "shape=parallelogram",
}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(nodes: list[Node], edges: list[Edge]) -> str:
    """The picture in Graphviz DOT, for `dot -Tsvg` or `-Tpng`."""
    # fontconfig picks the nearest installed font; Japanese labels need a Japanese one (fonts-noto-cjk)
    font = 'fontname="Noto Sans CJK JP"'
    out = ["digraph menu {", "  rankdir=LR;", f"  node [{font}];", f"  edge [{font}];"]
    for node in nodes:
        label = "\\n".join(_dot_text(line) for line in node.lines)
        out.append(f'  {node.id} [{_DOT_SHAPES[node.shape]}, label="{label}"];')
    for edge in edges:
        style = ", style=dashed" if edge.dotted else ""
        out.append(f'  {edge.source} -> {edge.target} [label="{_dot_text(edge.label)}"{style}];')
    return "\n".join(out) + "\n}\n"
