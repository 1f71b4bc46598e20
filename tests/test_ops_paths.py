"""`flask ivr paths`: keys and seconds of audio before each answer, waiting and barging in; worst and mean."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from helpers import bundle_of
from ivr.flow import prompts

KEYS = [f"{s}{q}" for s, n in (("1", 5), ("2", 4), ("3", 4), ("4", 2)) for q in range(1, n + 1)]
ROW = re.compile(r"^(\d) (\d)\s+(a\d_\d)\s+(~?[\d.]+) s\s+(~?[\d.]+) s  (.+)$")


def paths_json(runner: FlaskCliRunner) -> dict[str, Any]:
    result = runner.invoke(args=["ivr", "paths", "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def announced_by(app: Flask, menu_id: str, key: str, seconds: float) -> float:
    """Seconds into a menu prompt when the option of `key` has been said, found by searching the text."""
    bundle = bundle_of(app)
    texts = prompts.load(Path(app.config["IVR_PROMPTS"]), [])
    menu = bundle.flow.menus[menu_id]
    label = texts.texts[next(o.label for o in menu.options if o.key == key)]
    said = texts.texts[f"compose.{menu.style}.item"].format(label=label, key=key)
    text = bundle.prompts[f"menu.{menu_id}"].text
    prefix = text[: text.index(said) + len(said)]
    return seconds * len(texts.speech(prefix)) / len(bundle.prompts[f"menu.{menu_id}"].speech)


def test_every_answer_with_its_keys_and_seconds(app: Flask, runner: FlaskCliRunner) -> None:
    data = paths_json(runner)
    audio = bundle_of(app).audio
    seconds = {pid: e.duration_s for pid, e in audio.items()}
    assert [a["keys"] for a in data["answers"]] == KEYS
    for row in data["answers"]:
        section, question = row["keys"]
        assert row["answer"] == f"a{section}_{question}"
        heard = seconds["greeting"] + seconds["menu.main"] + seconds[f"menu.s{section}"]
        early = (
            seconds["greeting"]
            + announced_by(app, "main", section, seconds["menu.main"])
            + announced_by(app, f"s{section}", question, seconds[f"menu.s{section}"])
        )
        assert row["waiting_s"] == pytest.approx(heard, abs=0.05)  # to 0.1 s
        assert row["barge_in_s"] == pytest.approx(early, abs=0.07)  # and each step to 0.01 s before
        assert (round(row["waiting_s"], 1), round(row["barge_in_s"], 1)) == (
            row["waiting_s"],
            row["barge_in_s"],
        )
        assert row["estimated"] is False
    waits: list[float] = [a["waiting_s"] for a in data["answers"]]
    earliest: list[float] = [a["barge_in_s"] for a in data["answers"]]
    worst_wait = max(data["answers"], key=lambda a: a["waiting_s"])
    worst_early = max(data["answers"], key=lambda a: a["barge_in_s"])
    assert data["worst"] == {
        "waiting": {"answer": worst_wait["answer"], "seconds": max(waits)},
        "barge_in": {"answer": worst_early["answer"], "seconds": max(earliest)},
    }
    assert data["mean_s"]["waiting"] == pytest.approx(sum(waits) / 15, abs=0.1)
    assert data["mean_s"]["barge_in"] == pytest.approx(sum(earliest) / 15, abs=0.1)
    assert [round(v, 1) for v in data["mean_s"].values()] == list(data["mean_s"].values())


def test_barging_in_is_sooner_and_later_options_take_longer(runner: FlaskCliRunner) -> None:
    answers = paths_json(runner)["answers"]
    for row in answers:
        assert row["barge_in_s"] < row["waiting_s"]
    section1 = [a["barge_in_s"] for a in answers if a["keys"][0] == "1"]
    assert section1 == sorted(section1) and len(set(section1)) == 5


def test_the_table_matches_the_json(runner: FlaskCliRunner) -> None:
    data = paths_json(runner)
    lines = runner.invoke(args=["ivr", "paths"]).output.splitlines()
    assert lines[0].split() == ["keys", "answer", "waiting", "barge-in", "question"]
    rows = [ROW.match(line) for line in lines[1:16]]
    assert [(m[1] + m[2], m[3], m[4], m[5]) for m in rows if m] == [
        (a["keys"], a["answer"], f"{a['waiting_s']:.1f}", f"{a['barge_in_s']:.1f}") for a in data["answers"]
    ]
    assert rows[0] is not None and rows[0][6] == "漏えいの経緯を教えてください"
    worst = data["worst"]["waiting"]
    keys = " ".join(next(a["keys"] for a in data["answers"] if a["answer"] == worst["answer"]))
    assert lines[16] == f"worst waiting: {worst['seconds']:.1f} s before {worst['answer']} (keys {keys})"
    mean = data["mean_s"]
    assert (
        lines[18]
        == f"mean: {mean['waiting']:.1f} s waiting, {mean['barge_in']:.1f} s barge-in, over 15 answers"
    )


def test_without_audio_the_seconds_are_estimated_from_the_text(
    app: Flask, files: Path, runner: FlaskCliRunner
) -> None:
    (files / "audio" / "manifest.json").unlink()
    data = paths_json(runner)
    speech = {pid: p.speech for pid, p in bundle_of(app).prompts.items()}
    first = data["answers"][0]
    expected = sum(round(len(speech[p]) / 5.9, 2) for p in ("greeting", "menu.main", "menu.s1"))
    assert (first["answer"], first["estimated"]) == ("a1_1", True)
    assert first["waiting_s"] == round(expected, 1)
    table = runner.invoke(args=["ivr", "paths"]).output.splitlines()
    assert table[1].split()[3] == f"~{expected:.1f}"


def test_the_shipped_flow_meets_the_listening_targets(app: Flask, runner: FlaskCliRunner) -> None:
    """Issue 10's targets, on the committed audio: short menus, an answer within 40 s on average."""
    data = paths_json(runner)
    bundle = bundle_of(app)
    seconds = {pid: e.duration_s for pid, e in bundle.audio.items()}
    assert bundle.flow.max_menu_seconds == 20
    assert seconds["greeting"] + seconds["menu.main"] <= 20
    assert max(seconds[f"menu.{m}"] for m in bundle.flow.menus if m != "main") <= 20
    assert data["mean_s"]["waiting"] <= 40
    assert data["worst"]["waiting"]["seconds"] <= 45
