"""`flask ivr graph`: Mermaid and DOT whose nodes and edges are the flow's menus and options; pictures."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from helpers import bundle_of

ROOT = Path(__file__).resolve().parent.parent
MERMAID_NODE = re.compile(
    r'^  (\w+)(?:\(\["|\["|\("|\{\{"|\{"|\[\[")(.*?)(?:"\]\)|"\]|"\)|"\}\}|"\}|"\]\]|"/\])$'
)
MERMAID_STEP = re.compile(r'^  (\w+)\[/"(.*)"/\]$')
MERMAID_EDGE = re.compile(r'^  (\w+) (-->|-\.->)(?:\|"(.*?)"\|)? (\w+)$')
DOT_EDGE = re.compile(r'^  (\w+) -> (\w+) \[label="(.*?)"(, style=dashed)?\];$')


def graph(runner: FlaskCliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(args=["ivr", "graph", *args])
    return result.exit_code, result.output


def flow_edges(app: Flask) -> set[tuple[str, str, str]]:
    """(source, target, key) for every option of every menu, with the picture's node ids."""
    flow = bundle_of(app).flow
    return {
        (f"menu_{m.id}", f"menu_{o.menu}" if o.menu else f"answer_{o.answer}", o.key)
        for m in flow.menus.values()
        for o in m.options
    }


def parse_mermaid(text: str) -> tuple[dict[str, str], set[tuple[str, str, str, bool]]]:
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: dict[str, str] = {}
    edges: set[tuple[str, str, str, bool]] = set()
    for line in lines[1:]:
        node = MERMAID_STEP.match(line) or MERMAID_NODE.match(line)
        edge = MERMAID_EDGE.match(line)
        assert bool(node) != bool(edge), line
        if node:
            nodes[node[1]] = node[2]
        elif edge:
            edges.add((edge[1], edge[4], edge[3] or "", edge[2] == "-.->"))
    return nodes, edges


def test_mermaid_nodes_and_edges_are_the_flows_menus_and_options(app: Flask, runner: FlaskCliRunner) -> None:
    code, text = graph(runner)
    assert code == 0
    nodes, edges = parse_mermaid(text)
    bundle = bundle_of(app)
    flow = bundle.flow
    answers = {o.answer for m in flow.menus.values() for o in m.options if o.answer}
    assert {n for n in nodes if n.startswith("menu_")} == {f"menu_{m}" for m in flow.menus}
    assert {n for n in nodes if n.startswith("answer_")} == {f"answer_{a}" for a in answers}
    options = {(s, t, k) for s, t, k, dotted in edges if s.startswith("menu_") and not dotted}
    assert options == flow_edges(app)
    assert nodes["menu_s1"] == f"s1: 漏えいの詳細<br/>menu {bundle.audio['menu.s1'].duration_s:.1f} s"
    assert nodes["answer_a1_1"] == f"a1_1: 漏えいの経緯<br/>answer {bundle.audio['a1_1'].duration_s:.1f} s"
    # the agent and hours paths
    assert {e for e in edges if not e[0].startswith("menu_")} == {
        ("incoming", "menu_main", "", False),
        ("anywhere", "hours", "0", True),
        ("hours", "agent", "yes", False),
        ("hours", "closed", "no", False),
        ("agent", "bye", "completed", False),
        ("agent", "apology", "busy · no-answer · failed · canceled", False),
        ("anywhere", "final", "2 silences or 3 wrong keys in a row", True),
        ("final", "agent", "yes", False),
        ("final", "closed_bye", "no", False),
    }
    assert nodes["hours"] == "open now?<br/>平日9:00から17:00まで"
    assert nodes["agent"] == (
        f"agent_connecting {bundle.audio['agent_connecting'].duration_s:.1f} s"
        "<br/>Dial +81120701675<br/>rings up to 25 s"
    )
    assert nodes["anywhere"].startswith(
        "every menu: * repeat · #35; back · 0 agent<br/>"
    )  # '#' escaped for Mermaid


def test_dot_has_the_same_options(app: Flask, runner: FlaskCliRunner) -> None:
    code, text = graph(runner, "--format", "dot")
    assert code == 0
    assert text.startswith("digraph menu {\n") and text.endswith("}\n")
    edges = {m.groups()[:3] for m in map(DOT_EDGE.match, text.splitlines()) if m and m[1].startswith("menu_")}
    assert edges == flow_edges(app)


def test_lengths_without_audio_are_marked_as_estimates(
    app: Flask, files: Path, runner: FlaskCliRunner
) -> None:
    (files / "audio" / "manifest.json").unlink()  # the next look at the files sees it gone
    nodes, _ = parse_mermaid(graph(runner)[1])
    speech = bundle_of(app).prompts["a4_2"].speech
    assert nodes["answer_a4_2"].endswith(f"<br/>answer ~{len(speech) / 5.9:.1f} s")


def test_a_broken_flow_is_refused_with_its_problems(files: Path, runner: FlaskCliRunner) -> None:
    flows = files / "flows.yaml"
    flows.write_text(flows.read_text("utf-8").replace("style: topic", "style: topics"), "utf-8")
    code, text = graph(runner)
    assert code == 2
    assert "the flow has errors; fix them first (`flask --app app ivr check` lists them):" in text
    assert "flows.yaml:" in text and "unknown style 'topics'" in text


@pytest.mark.parametrize("fmt", ["svg", "png"], ids=["svg", "png"])
def test_pictures_need_an_output_file(runner: FlaskCliRunner, fmt: str) -> None:
    code, text = graph(runner, "--format", fmt)
    assert code == 2
    assert f"--format {fmt} writes a file: add --output menu.{fmt}" in text


def test_pictures_need_graphviz(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, text = graph(runner, "--format", "svg", "--output", str(tmp_path / "menu.svg"))
    assert code == 2
    assert "--format svg needs Graphviz's `dot`, which is not installed" in " ".join(text.split())
    assert not (tmp_path / "menu.svg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_svg_and_png_with_graphviz(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert graph(runner, "--format", "svg", "--output", str(tmp_path / "menu.svg"))[0] == 0
    svg = ElementTree.parse(tmp_path / "menu.svg").getroot()
    titles = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")}
    assert {f"menu_{m}" for m in bundle_of(app).flow.menus} <= titles
    assert graph(runner, "--format", "png", "--output", str(tmp_path / "menu.png"))[0] == 0
    assert (tmp_path / "menu.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_readme_shows_the_current_menu(runner: FlaskCliRunner) -> None:
    code, text = graph(runner, "--format", "markdown")
    assert code == 0
    assert text in (ROOT / "README.md").read_text("utf-8"), (
        "README.md shows an old menu: paste the output of `flask --app app ivr graph --format markdown` "
        "over its section 'The current menu'"
    )
