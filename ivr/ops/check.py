"""`flask --app app ivr check`: every problem in the flow, prompts, readings and audio, with the fix."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
from flask.cli import with_appcontext

from ivr.flow import yamlpos
from ivr.flow.bundle import Bundle, Sources, inspect
from ivr.flow.problems import Problem, ordered
from ivr.ops import timing
from ivr.state import get_state

SYNTH = "flask --app app ivr synth"


@click.command("check", short_help="Find every problem in the flow, prompts and audio, with the fix.")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too (audio, long menus, deep answers).")
@with_appcontext
def check(file: Path | None, strict: bool) -> None:
    """Check the flow, the prompts, the reading list and the audio: every problem, its line and the fix.

    FILE defaults to the app's flow file (IVR_FLOWS); another flow file is checked against the app's
    prompts/ and audio/. Exit 0 when clean or with warnings only, 1 on errors (and on warnings with
    --strict).
    """
    sources = get_state().sources
    if file is not None:
        sources = dataclasses.replace(sources, flows=file)
    bundle, problems = inspect(sources)
    if bundle is not None:
        problems = [*problems, *audit(bundle, sources)]
    for problem in ordered(problems):
        click.echo(str(problem))
    errors = sum(p.severity == "error" for p in problems)
    counts = f"{_count(errors, 'error')}, {_count(len(problems) - errors, 'warning')}"
    if bundle is None:
        click.echo(
            f"{sources.display()}: {counts} — the service refuses this flow "
            "(a running one keeps its last good flow)"
        )
    else:
        flow = bundle.flow
        answers = {o.answer for m in flow.menus.values() for o in m.options if o.answer}
        click.echo(
            f"{sources.display()}: {counts} — {_count(len(flow.menus), 'menu')}, "
            f"{_count(len(answers), 'answer')}, "
            f"audio for {len(bundle.audio)} of {len(bundle.prompts)} prompts (flow {bundle.digest})"
        )
    if errors or (strict and problems):
        click.get_current_context().exit(1)


def audit(bundle: Bundle, sources: Sources) -> list[Problem]:
    """Warnings about what callers will hear: audio that is missing or stale, menus that run too long."""
    doc = yamlpos.load(sources.flows, sources.display())
    texts = bundle.texts
    voice = bundle.flow.say_voice

    def at(prompt_id: str) -> tuple[str, int, int]:
        menu_id = prompt_id.removeprefix("menu.")
        if prompt_id.startswith("menu.") and menu_id not in bundle.flow.menus:
            menu_id = menu_id.removesuffix(".short")
        if menu_id in bundle.flow.menus:
            return (doc.file, *doc.at(("menus", menu_id), key=True))
        written = {"after_answer": "compose.repeat_answer"}.get(prompt_id, prompt_id.removesuffix(".slow"))
        file, line = texts.where.get(written, (doc.file, 1))
        return file, line, 1

    found = [
        Problem(
            *at(pid),
            f"prompt '{pid}' has no audio yet; callers hear it read by the {voice} voice",
            f"run `{SYNTH}` (音声がありません。synth で作成してください)",
            "warning",
        )
        for pid in bundle.missing
    ]
    found += [
        Problem(
            *at(pid),
            f"the audio of prompt '{pid}' is stale: its text changed since it was made; callers hear it "
            f"read by the {voice} voice until it is made again",
            f"run `{SYNTH}` (文言が変わりました。synth で音声を作り直してください)",
            "warning",
        )
        for pid in bundle.stale
    ]
    limit = bundle.flow.max_menu_seconds
    for menu_id in bundle.flow.menus:
        length = timing.of_prompt(bundle, f"menu.{menu_id}")
        if length.seconds > limit:
            found.append(
                Problem(
                    *at(f"menu.{menu_id}"),
                    f"menu '{menu_id}' lasts {length} of audio, "
                    f"more than checks.max_menu_seconds ({limit:g} s)",
                    "shorten its intro or labels, or split it into two menus "
                    "(メニューが長すぎます。案内文を短くするか、メニューを分けてください)",
                    "warning",
                )
            )
    return found


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
