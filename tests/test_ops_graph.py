"""`flask ivr graph`: Mermaid and DOT whose nodes and edges are the flow's menus and options; pictures."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
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
        ("hours", "queue", "yes", False),  # the shipped flow has a queue: 0 waits for an agent
        ("hours", "closed", "no", False),
        ("agent", "bye", "completed", False),
        ("anywhere", "final", "in a menu: the 2nd silence or 3rd wrong key in a row", True),
        ("final", "queue", "yes", False),
        ("final", "closed_bye", "no", False),
        ("anywhere", "done", "silence after an answer", True),
        ("queue", "agent", "bridged", False),
        ("queue", "callback", "1 · max wait · full", False),
        ("closed", "callback", "then the offer", False),
    }
    assert nodes["hours"] == "open now?<br/>平日9:00から17:00まで"
    assert nodes["agent"] == "an agent on the agent line<br/>takes the next caller (key 1)"
    assert nodes["queue"].startswith("queue 'hotline': place and estimate every 30 s")
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


FAKE_DOT = """#!/bin/sh
# a stand-in for Graphviz's dot: says how it was called, as its picture
echo "picture by dot $*"
"""


def fake_bin(tmp_path: Path, fonts: str) -> str:
    """A PATH with a stand-in `dot` and an `fc-list` that lists `fonts`, before the real one."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dot").write_text(FAKE_DOT, "utf-8")
    (folder / "fc-list").write_text(f"#!/bin/sh\nprintf '{fonts}'\n", "utf-8")
    for program in folder.iterdir():
        program.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


@pytest.mark.parametrize("fmt", ["svg", "png"], ids=["svg", "png"])
def test_a_picture_without_output_goes_to_standard_output(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setenv("PATH", fake_bin(tmp_path, "Noto Sans CJK JP\\n"))
    result = runner.invoke(args=["ivr", "graph", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == f"picture by dot -T{fmt}\n".encode()


def test_pictures_need_graphviz(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, text = graph(runner, "--format", "svg", "--output", str(tmp_path / "menu.svg"))
    assert code == 2
    assert (
        "--format svg needs Graphviz's `dot` (apt install graphviz, brew install graphviz), "
        "or use --format mermaid"
    ) in " ".join(text.split())
    assert not (tmp_path / "menu.svg").exists()


NO_JAPANESE_FONT = (
    "needs a Japanese font for the labels, which `fc-list :lang=ja` does not find "
    "(apt install fonts-noto-cjk)"
)


@pytest.mark.parametrize(
    "how",
    ["fontconfig-without-fonts", "fc-list-lists-none"],
    ids=["fontconfig-without-fonts", "fc-list-empty"],
)
def test_pictures_without_a_japanese_font_say_what_to_install(
    runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("PATH", fake_bin(tmp_path, ""))  # dot is there, so only the font is missing
    if how == "fontconfig-without-fonts":  # the real fc-list, with a configuration that knows no fonts
        config = tmp_path / "fonts.conf"
        config.write_text('<?xml version="1.0"?>\n<fontconfig></fontconfig>\n', "utf-8")
        monkeypatch.setenv("FONTCONFIG_FILE", str(config))
        (tmp_path / "bin" / "fc-list").unlink()
        if shutil.which("fc-list") is None:
            pytest.skip("fontconfig is not installed")
    code, text = graph(runner, "--format", "png", "--output", str(tmp_path / "menu.png"))
    assert code == 2
    assert f"--format png {NO_JAPANESE_FONT}, or use --format mermaid" in " ".join(text.split())
    assert not (tmp_path / "menu.png").exists()


def japanese_font() -> bool:
    found = (
        subprocess.run(["fc-list", ":lang=ja"], capture_output=True, check=False)
        if shutil.which("fc-list")
        else None
    )
    return bool(found and found.stdout.strip())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.skipif(not japanese_font(), reason="no Japanese font (fonts-noto-cjk) is installed")
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


def test_the_readme_menu_shows_structure_not_seconds(app: Flask, runner: FlaskCliRunner) -> None:
    code, text = graph(runner, "--format", "markdown")
    picture = text.split("```mermaid\n", 1)[1]
    nodes, edges = parse_mermaid(picture.removesuffix("```\n"))
    assert not re.search(r"\d\.\d s\b", picture)  # no audio lengths (they change with every synthesis)
    assert nodes["menu_s1"] == "s1: 漏えいの詳細"
    assert nodes["answer_a1_1"] == "a1_1: 漏えいの経緯"
    assert nodes["anywhere"] == (
        "every menu: * repeat · #35; back · 0 agent<br/>after an answer: 7 again slowly · 9 start menu"
    )
    assert {(s, t, k) for s, t, k, dotted in edges if s.startswith("menu_") and not dotted} == flow_edges(app)
