"""`flask --app app ivr graph`: the menu as a picture, in Mermaid, Markdown, DOT, SVG or PNG."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from ivr.ops import formats, picture
from ivr.ops.common import loaded_flow

FORMATS = ("mermaid", "markdown", "dot", "svg", "png")
MARKDOWN = """### The current menu

Made by `flask --app app ivr graph --format markdown` from `flows.yaml` and `prompts/`: after an edit,
paste its output over this section (a test fails while the README shows an old menu).

It shows the structure: keys and labels. The seconds of audio change with each synthesis, so they are
not here: `flask --app app ivr paths` lists them, and the other formats of `ivr graph` show them.
Solid arrows are the keys of each menu; dotted arrows start from what works in every menu.

```mermaid
{mermaid}```
"""


@click.command("graph", short_help="Draw the menu: Mermaid, Markdown, DOT, SVG or PNG.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="mermaid", show_default=True, help="What to write."
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output (svg and png: needed when that is a terminal).",
)
@with_appcontext
def graph(fmt: str, output: Path | None) -> None:
    """Draw the menu: each menu and answer with its label and audio length, the agent and hours paths.

    svg and png need Graphviz's `dot` program on the PATH and, for the Japanese labels, a Japanese font
    (fonts-noto-cjk).
    """
    bundle = loaded_flow().bundle
    nodes, edges = picture.build(bundle, bundle.texts, seconds=fmt != "markdown")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("svg", "png"):
        _draw(fmt, nodes, edges, output)
        return
    text = formats.dot(nodes, edges) if fmt == "dot" else formats.mermaid(nodes, edges)
    if fmt == "markdown":
        text = MARKDOWN.format(mermaid=text)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, "utf-8")
        click.echo(f"wrote {output}", err=True)


def _draw(fmt: str, nodes: list[picture.Node], edges: list[picture.Edge], output: Path | None) -> None:
    """An SVG or PNG by Graphviz, into the output file or onto standard output unless that is a terminal."""
    if output is None and sys.stdout.isatty():
        raise click.UsageError(
            f"--format {fmt} draws a picture, not text for the terminal: add --output menu.{fmt} "
            f"(or send it to a file: > menu.{fmt})"
        )
    program = shutil.which("dot")
    missing = [] if program else ["Graphviz's `dot` (apt install graphviz, brew install graphviz)"]
    if not "".join(line for node in nodes for line in node.lines).isascii():
        missing += _japanese_font()
    if program is None or missing:
        raise click.UsageError(f"--format {fmt} needs " + " and ".join(missing) + ", or use --format mermaid")
    result = subprocess.run(
        [program, f"-T{fmt}", *(["-o", str(output)] if output else [])],
        input=formats.dot(nodes, edges).encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise click.ClickException(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
    if output is None:
        click.echo(result.stdout, nl=False)  # bytes: written as they are
    else:
        click.echo(f"wrote {output}", err=True)


def _japanese_font() -> list[str]:
    """What to install when fontconfig knows no Japanese font (labels would be drawn as empty boxes)."""
    if shutil.which("fc-list") is None:
        click.echo("could not check for a Japanese font: fontconfig's `fc-list` is not installed", err=True)
        return []
    found = subprocess.run(["fc-list", ":lang=ja", "family"], capture_output=True, timeout=30, check=False)
    if found.stdout.strip():
        return []
    return [
        "a Japanese font for the labels, which `fc-list :lang=ja` does not find (apt install fonts-noto-cjk)"
    ]
