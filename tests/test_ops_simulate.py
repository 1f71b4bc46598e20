"""`flask ivr simulate`: a scripted caller on the real, signed webhooks reaches every answer and the agent."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskCliRunner

from helpers import CLOSED_NOTICE, bundle_of
from ivr.ops.sound import Playback, find_player

ROOT = Path(__file__).resolve().parent.parent
FAQ = yaml.safe_load((ROOT / "prompts" / "faq.yaml").read_text("utf-8"))
SECTIONS = {"1": 5, "2": 4, "3": 4, "4": 2}  # questions per section of the FAQ
HEARD = re.compile(r"^  (play|say) (\S+) \((~?[\d.]+) s\): (.*)$")
IN_HOURS = "2026-11-25 10:00"  # a Wednesday
BANK_HOLIDAY = "2026-12-31 10:00"


def simulate(runner: FlaskCliRunner, *args: str, input: str | None = None) -> tuple[int, list[str]]:
    result = runner.invoke(args=["ivr", "simulate", *args], input=input)
    return result.exit_code, result.stdout.splitlines()


def heard_ids(lines: list[str]) -> list[str]:
    return [m[2] for m in map(HEARD.match, lines) if m]


def test_a_script_walks_to_every_answer(app: Flask, runner: FlaskCliRunner) -> None:
    keys: list[str] = []
    expected = ["greeting", "menu.main"]
    for section, count in SECTIONS.items():
        keys.append(section)
        expected.append(f"menu.s{section}")
        for question in range(1, count + 1):
            last = question == count
            keys += [str(question), "9" if last else "#"]  # after the answer: the next question, or the start
            expected += [
                f"q{section}_{question}",  # the FAQ's question names the answer
                f"a{section}_{question}",
                "after_answer",
                "menu.main" if last else f"menu.s{section}",
            ]
    code, lines = simulate(runner, "--keys", " ".join(keys), "--at", IN_HOURS)
    assert code == 0
    assert heard_ids(lines) == expected
    assert lines[0].startswith("calling ") and lines[0].endswith("at Wed 2026-11-25 10:00 Asia/Tokyo: open")
    assert [line for line in lines if line.startswith("> ")] == [f"> {k}" for k in keys]
    bundle = bundle_of(app)
    answers = [m for m in map(HEARD.match, lines) if m and m[2].startswith("a") and m[2] != "after_answer"]
    assert len(answers) == 15
    for match in answers:
        verb, prompt, length, text = match.groups()
        assert (verb, text) == ("play", " ".join(FAQ[prompt].split()))
        assert length == f"{bundle.audio[prompt].duration_s:.1f}"
    assert lines[-2:] == ["(end of --keys; the call is still going)", lines[-1]]
    assert lines[-1].startswith(f"call over: {len(keys)} key presses, {len(expected)} prompts, ")


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
def test_the_agent_in_hours_is_dialled(runner: FlaskCliRunner) -> None:
    code, lines = simulate(runner, "--keys", "1 0", "--at", IN_HOURS)
    assert code == 0
    assert [line for line in lines if not HEARD.match(line)][1:] == [
        "> 1",
        "> 0",
        "  dial sip:hotline-desk@pbx.bank.example.jp (rings up to 25 s)",
        "  -> completed",
        "  hang up",
        lines[-1],
    ]
    assert heard_ids(lines)[-2:] == ["agent_connecting", "goodbye"]


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
def test_a_busy_agent_leads_back_to_the_menu(runner: FlaskCliRunner) -> None:
    code, lines = simulate(runner, "--keys", "0 2", "--at", IN_HOURS, "--dial", "busy")
    assert code == 0
    assert "  -> busy" in lines
    assert heard_ids(lines) == [
        "greeting",
        "menu.main",
        "agent_connecting",
        "agent_busy",
        "menu.main",
        "menu.s2",
    ]


NOTICE_NEW_YEAR = (
    "closed.bank_holiday",
    "next.intro",
    "month.1",
    "date.4",
    "day.mon",
    "next.at",
    "time.0900",
)


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
def test_out_of_hours_the_agent_key_says_why_and_when_it_opens(runner: FlaskCliRunner) -> None:
    code, lines = simulate(runner, "--keys", "0", "--at", BANK_HOLIDAY)
    assert code == 0
    assert lines[0].endswith("at Thu 2026-12-31 10:00 Asia/Tokyo: closed (bank_holiday)")
    assert heard_ids(lines) == ["greeting", "menu.main", *NOTICE_NEW_YEAR, "next.end", "menu.main"]
    assert not any(line.startswith("  dial") for line in lines)


def test_silence_out_of_hours_ends_with_the_notice_and_goodbye(runner: FlaskCliRunner) -> None:
    code, lines = simulate(runner, "--keys", "- _ 1", "--at", "2026-11-25 20:00")
    assert code == 0
    assert heard_ids(lines) == [
        *("greeting", "menu.main"),
        *("no_input", "menu.main.short"),
        *CLOSED_NOTICE,
        "goodbye",
    ]
    assert lines.count("  (no input: 6 s of silence)") == 2
    assert lines[-2:] == ["  hang up", lines[-1]]  # the call ended before the last key
    assert lines[-1].startswith("call over: 0 key presses, 13 prompts, ")


def test_keys_typed_at_the_keyboard(runner: FlaskCliRunner) -> None:
    code, lines = simulate(runner, "--at", IN_HOURS, "--no-sound", input="12\n\nx\nq\n")
    assert code == 0
    assert heard_ids(lines) == [
        *("greeting", "menu.main", "menu.s1", "q1_2", "a1_2", "after_answer"),
        "closing",
    ]
    assert "  x: press 0-9, * or #, Enter alone for no input, q to hang up" in lines


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
def test_the_agents_outcome_is_asked_at_the_keyboard(runner: FlaskCliRunner) -> None:
    code, lines = simulate(runner, "--at", IN_HOURS, "--no-sound", input="0\nno-answer\nq\n")
    assert code == 0
    assert heard_ids(lines)[-3:] == ["agent_connecting", "agent_no_answer", "menu.main"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--keys", "1 a 2"],
            "Invalid value for --keys: a cannot be pressed: use 0-9, * and #, and - for no input",
        ),
        (
            ["--at", "31/12 10:00"],
            "Invalid value for --at: '31/12 10:00' is not a date and time: write it like",
        ),
    ],
    ids=["bad-key", "bad-instant"],
)
def test_bad_options_say_the_fix(runner: FlaskCliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(args=["ivr", "simulate", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_requests_carry_a_signature_the_service_checks(
    runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "ivr.testing.sign", lambda *args: "forged"
    )  # the stand-in's signer, not the service's
    result = runner.invoke(args=["ivr", "simulate", "--keys", "1", "--at", IN_HOURS])
    assert result.exit_code == 1
    assert "Error: /voice answered 403 FORBIDDEN: callers would hear an error" in result.output


def fake_player(folder: Path, log: Path) -> Path:
    """An `aplay` that notes which file it was asked to play."""
    player = folder / "aplay"
    player.write_text(f'#!/bin/sh\nfor last; do :; done\necho "$last" >> {log}\n', "utf-8")
    player.chmod(player.stat().st_mode | stat.S_IEXEC)
    return player


def test_audio_plays_in_order_on_the_first_player_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "played.txt"
    player = fake_player(tmp_path, log)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_player() == [str(player), "-q"]
    Playback(find_player(), [Path("a.wav"), Path("b.wav")]).wait()
    assert log.read_text("utf-8").split() == ["a.wav", "b.wav"]


def test_no_player_means_no_sound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_player() is None
    Playback(None, [Path("a.wav")]).stop()  # nothing to stop: returns at once


def test_what_is_spoken_is_shown_beside_what_is_written(runner: FlaskCliRunner) -> None:
    code, lines = simulate(runner, "--keys", "3 1", "--at", IN_HOURS, "--no-sound")
    assert code == 0
    answer = next(i for i, line in enumerate(lines) if line.startswith("  play a3_1 "))
    assert "0120-701-675" in lines[answer]
    spoken = lines[answer + 1]
    assert spoken.startswith("      spoken: ")
    assert "0を押して" in spoken and "0120-701-675" not in spoken
    greeting = next(i for i, line in enumerate(lines) if line.startswith("  play greeting "))
    assert not lines[greeting + 1].startswith("      spoken:")  # said as written: no second line


def test_queue_plays_the_wait_loop_then_the_callback_path(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["ivr", "simulate", "--keys", "0 - 1 1", "--queue", "57", "--at", "2026-11-25 10:00"]
    )
    assert result.exit_code == 0, result.output
    assert "(in the queue 'hotline', place 57)" in result.output
    assert "queue.position.more" in result.output and "queue.position." in result.output
    assert "callback.readback.intro" in result.output and "callback.done" in result.output
