"""`flask --app app ivr graph`: the menu as a picture, in Mermaid, Markdown, DOT, SVG or PNG."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import click
from flask.cli import with_appcontext

from ivr.ops import formats, picture
from ivr.ops.common import loaded_flow
from ivr.ops.timing import LEGEND

FORMATS = ("mermaid", "markdown", "dot", "svg", "png")
MARKDOWN = """### The current menu

Made by `flask --app app ivr graph --format markdown` from `flows.yaml` and `prompts/`: after an edit,
paste its output over this section (a test fails while the README shows an old menu).

Each box shows the length of its audio; {legend}.
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
    help="Write to this file (needed for svg and png) instead of the terminal.",
)
@with_appcontext
def graph(fmt: str, output: Path | None) -> None:
    """Draw the menu: each menu and answer with its label and audio length, the agent and hours paths.

    svg and png need Graphviz's `dot` program on the PATH.
    """
    bundle = loaded_flow().bundle
    nodes, edges = picture.build(bundle, bundle.texts)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("svg", "png"):
        if output is None:
            raise click.UsageError(f"--format {fmt} writes a file: add --output menu.{fmt}")
        program = shutil.which("dot")
        if program is None:
            raise click.UsageError(
                f"--format {fmt} needs Graphviz's `dot`, which is not installed: install Graphviz "
                "(apt install graphviz, brew install graphviz), or use --format mermaid"
            )
        result = subprocess.run(
            [program, f"-T{fmt}", "-o", str(output)],
            input=formats.dot(nodes, edges).encode(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise click.ClickException(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
        click.echo(f"wrote {output}", err=True)
        return
    text = formats.dot(nodes, edges) if fmt == "dot" else formats.mermaid(nodes, edges)
    if fmt == "markdown":
        text = MARKDOWN.format(legend=LEGEND, mermaid=text)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, "utf-8")
        click.echo(f"wrote {output}", err=True)
