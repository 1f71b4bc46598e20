"""`flask --app app ivr paths`: for each answer, its keys and the seconds a caller listens before it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import click
from flask.cli import with_appcontext

from ivr.flow.bundle import Bundle
from ivr.flow.model import MAX_PATH, Menu
from ivr.flow.prompts import PromptTexts
from ivr.ops.common import loaded_flow
from ivr.ops.timing import LEGEND, Length, key_announced, of_prompt, total


@dataclass(frozen=True)
class Route:
    """The way to one answer and the audio heard before the answer starts."""

    answer: str
    keys: str
    question: str
    waiting: Length  # every prompt heard to its end, then the key
    barge_in: Length  # each key pressed as soon as its option has been announced


def routes(bundle: Bundle, texts: PromptTexts) -> list[Route]:
    """Every answer reachable from the start menu, in key order."""
    flow = bundle.flow
    welcome = total([of_prompt(bundle, p) for p in (flow.announcement, flow.greeting) if p])
    found: list[Route] = []

    def visit(menu: Menu, keys: str, waiting: Length, barge_in: Length) -> None:
        whole = of_prompt(bundle, f"menu.{menu.id}")
        for option in menu.options:
            heard, early = waiting + whole, barge_in + key_announced(bundle, texts, menu, option.key)
            if option.answer:
                question = texts.texts.get(option.question or option.label, option.label)
                found.append(Route(option.answer, keys + option.key, question, heard, early))
            elif option.menu in flow.menus and len(keys) < MAX_PATH:
                visit(flow.menus[option.menu], keys + option.key, heard, early)

    visit(flow.menus[flow.start], "", welcome, welcome)
    return found


def _mean(lengths: list[Length]) -> Length:
    whole = total(lengths)
    return Length(round(whole.seconds / max(len(lengths), 1), 2), whole.estimated)


@click.command("paths", short_help="Keys and seconds of audio before each answer.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (seconds to 0.1 s) instead of a table.")
@with_appcontext
def paths(as_json: bool) -> None:
    """For each answer: the keys to reach it and the seconds of audio before it starts, plus worst and mean.

    "waiting" hears every prompt to its end before each key; "barge-in" presses each key as soon as its
    option has been announced (the point in the menu prompt estimated from the share of its text).
    """
    bundle = loaded_flow().bundle
    found = routes(bundle, bundle.texts)
    if not found:
        raise click.UsageError("the flow has no answers to reach")
    worst = {
        "waiting": max(found, key=lambda r: r.waiting.seconds),
        "barge_in": max(found, key=lambda r: r.barge_in.seconds),
    }
    mean = {"waiting": _mean([r.waiting for r in found]), "barge_in": _mean([r.barge_in for r in found])}
    if as_json:
        data = {
            "answers": [
                {
                    "answer": r.answer,
                    "keys": r.keys,
                    "question": r.question,
                    "waiting_s": round(r.waiting.seconds, 1),
                    "barge_in_s": round(r.barge_in.seconds, 1),
                    "estimated": r.waiting.estimated or r.barge_in.estimated,
                }
                for r in found
            ],
            "worst": {
                k: {"answer": r.answer, "seconds": round(getattr(r, k).seconds, 1)} for k, r in worst.items()
            },
            "mean_s": {k: round(v.seconds, 1) for k, v in mean.items()},
        }
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'keys':<8} {'answer':<10} {'waiting':>9} {'barge-in':>9}  question")
    for r in found:
        keys = " ".join(r.keys)
        click.echo(f"{keys:<8} {r.answer:<10} {r.waiting!s:>9} {r.barge_in!s:>9}  {r.question}")
    for name, column in (("waiting", "waiting"), ("barge-in", "barge_in")):
        r = worst[column]
        click.echo(f"worst {name}: {getattr(r, column)} before {r.answer} (keys {' '.join(r.keys)})")
    click.echo(f"mean: {mean['waiting']} waiting, {mean['barge_in']} barge-in, over {len(found)} answers")
    click.echo(
        "waiting = every prompt heard to its end; barge-in = each key pressed once its option is announced; "
        + LEGEND
    )
