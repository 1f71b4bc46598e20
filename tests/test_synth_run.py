"""`flask ivr synth`: incremental, atomic, resumable, readings applied, manifest as the contract says."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from flask import Flask

from helpers import ROOT, FixedClock, bundle_of, edit, make_app
from ivr.flow import manifest
from ivr.flow.bundle import Sources, load
from ivr.flow.catalog import Prompt
from ivr.synth import analyze, make_engine, run
from ivr.synth.interface import Engine
from ivr.synth.wavfile import Samples

CALLS: list[str] = []
RATES: list[float] = []


class Counting:
    """The real offline engine, with every call it gets recorded."""

    def __init__(self, inner: Engine) -> None:
        self.inner, self.name, self.voice = inner, inner.name, inner.voice

    def settings(self) -> dict[str, object]:
        return self.inner.settings()

    def billable_characters(self, speech: str) -> int:
        return self.inner.billable_characters(speech)

    def synthesize(self, speech: str, *, prompt_id: str, rate: float = 1.0) -> tuple[Samples, int]:
        CALLS.append(speech)
        RATES.append(rate)
        return self.inner.synthesize(speech, prompt_id=prompt_id, rate=rate)


def counting(name: str, options: Mapping[str, object]) -> Engine:
    return Counting(make_engine(name, options))


def prompts(**texts: str) -> dict[str, Prompt]:
    return {pid: Prompt(pid, text, text.replace("VPN", "ブイピーエヌ")) for pid, text in texts.items()}


def synthesize(batch: dict[str, Prompt], audio: Path) -> run.Plan:
    """One synth run over a set of prompts, as the command does it."""
    engine = counting("openjtalk", {})
    plan = run.plan(batch, engine, -20.0, audio)
    entries = dict(plan.keep)
    for job, data in run.execute(plan.make, "openjtalk", {}, -20.0, workers=1, factory=counting):
        manifest.write_atomic(audio / job.file, data)
        entries[job.file] = run.entry_for(job, engine, data)
    manifest.write(audio, entries)
    return plan


def test_second_run_calls_the_engine_zero_times_and_an_edit_remakes_one(tmp_path: Path) -> None:
    CALLS.clear()
    batch = prompts(greeting="お電話ありがとうございます。", bye="失礼いたします。", vpn="VPNは使いません。")
    first = synthesize(batch, tmp_path)
    assert [j.prompt.id for j in first.make] == ["greeting", "bye", "vpn"]
    assert sorted(CALLS) == sorted(
        ["お電話ありがとうございます。", "失礼いたします。", "ブイピーエヌは使いません。"]
    )
    CALLS.clear()
    second = synthesize(batch, tmp_path)
    assert (second.make, second.adopt, CALLS) == ([], [], [])
    assert set(second.keep) == {j.file for j in first.make}
    third = synthesize({**batch, **prompts(bye="本日はありがとうございました。")}, tmp_path)
    assert [j.prompt.id for j in third.make] == ["bye"]
    assert CALLS == ["本日はありがとうございました。"]
    assert third.orphans == [next(j.file for j in first.make if j.prompt.id == "bye")]


def test_manifest_follows_the_contract(tmp_path: Path) -> None:
    synthesize(prompts(vpn="VPNは、使いません。"), tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text("utf-8"))
    assert manifest["version"] == 1
    [(name, entry)] = manifest["files"].items()
    assert name.startswith("vpn-") and name.endswith(".wav")
    data = (tmp_path / name).read_bytes()
    stats = analyze(data)
    assert entry == {
        "prompt": "vpn",
        "text": "VPNは、使いません。",
        "speech": "ブイピーエヌは、使いません。",
        "engine": "openjtalk",
        "voice": "mei_normal",
        "sha256": __import__("hashlib").sha256(data).hexdigest(),
        "duration_s": round(stats.duration_s, 3),
    }
    assert (stats.sample_rate, stats.channels, stats.format_tag) == (8000, 1, 7)
    assert abs(stats.speech_level_db + 20.0) <= 1.0 and stats.peak_db <= -1.0
    assert stats.leading_silence_s <= 0.15 and stats.trailing_silence_s <= 0.30


def test_sentences_get_a_pause_and_shared_sentences_are_spoken_once(tmp_path: Path) -> None:
    CALLS.clear()
    shared = "何卒ご理解賜りますようお願いいたします。"
    synthesize(prompts(a=f"はい。{shared}", b=f"いいえ。{shared}"), tmp_path)
    assert sorted(CALLS) == sorted(["はい。", "いいえ。", shared])
    manifest = json.loads((tmp_path / "manifest.json").read_text("utf-8"))
    name = next(n for n, e in manifest["files"].items() if e["prompt"] == "a")
    assert analyze((tmp_path / name).read_bytes()).longest_pause_s >= run.SENTENCE_PAUSE_S - 0.05


def test_hash_covers_text_engine_voice_and_settings() -> None:
    plain, faster = (
        make_engine("openjtalk", {}).settings(),
        make_engine("openjtalk", {"speed": 1.2}).settings(),
    )
    base = run.content_hash("はい。", plain, -20.0)
    assert base == run.content_hash("はい。", plain, -20.0)
    assert (
        len(
            {
                base,
                run.content_hash("いいえ。", plain, -20.0),
                run.content_hash("はい。", faster, -20.0),
                run.content_hash("はい。", plain, -18.0),
                run.content_hash("はい。", plain, -20.0, 0.8),
            }
        )
        == 5
    )
    assert run.content_hash("はい。", plain, -20.0, 1.0) == base  # files at the normal rate keep their names


def test_a_slow_prompt_is_its_own_file_spoken_slower_and_made_once(tmp_path: Path) -> None:
    CALLS.clear()
    RATES.clear()
    text = "電話番号は漏えいしていません。"
    batch = {"a1": Prompt("a1", text, text), "a1.slow": Prompt("a1.slow", text, text, rate=0.8)}
    first = synthesize(batch, tmp_path)
    assert sorted(zip(CALLS, RATES, strict=True)) == [(text, 0.8), (text, 1.0)]  # no sound is shared
    files = {j.prompt.id: j.file for j in first.make}
    assert files["a1.slow"].startswith("a1.slow-") and files["a1.slow"] != files["a1"].replace(
        "a1", "a1.slow"
    )
    entries = json.loads((tmp_path / "manifest.json").read_text("utf-8"))["files"]
    normal, slow = (entries[files[p]]["duration_s"] for p in ("a1", "a1.slow"))
    assert 1.15 < slow / normal < 1.4  # 0.8 x the speed: about 1.25 x as long
    assert (entries[files["a1.slow"]]["prompt"], entries[files["a1.slow"]]["text"]) == ("a1.slow", text)
    CALLS.clear()
    again = synthesize(batch, tmp_path)
    assert (CALLS, again.make, sorted(again.keep)) == ([], [], sorted(files.values()))


def test_committed_audio_covers_every_prompt_of_the_flow() -> None:
    bundle = load(Sources(ROOT / "flows.yaml", ROOT / "prompts", ROOT / "audio"))
    assert (bundle.missing, bundle.stale) == ([], [])
    assert set(bundle.audio) == set(bundle.prompts)
    manifest = json.loads((ROOT / "audio" / "manifest.json").read_text("utf-8"))
    assert {p.name for p in (ROOT / "audio").glob("*.wav")} == set(manifest["files"])


def test_readings_reach_the_engine_text(app: Flask) -> None:
    bundle = bundle_of(app)
    assert bundle.prompts["a4_1"].speech.count("ブイピーエヌ") == 2
    assert "パスワードなどは" in bundle.prompts["a1_4"].speech
    assert "株式会社イセトー" in bundle.prompts["a1_1"].speech and "(株)" not in bundle.prompts["a1_1"].speech


def test_menu_prompts_follow_the_labels_in_the_flow(files: Path, clock: FixedClock) -> None:
    topics = files / "prompts" / "menus.yaml"
    edit(topics, 'topic.s2: "お知らせの郵送"', 'topic.s2: "ご案内の郵送"')
    flows = files / "flows.yaml"
    edit(flows, '"2": {label: topic.s2, menu: s2}', '"5": {label: topic.s2, menu: s2}')
    bundle = bundle_of(make_app(files, clock))
    assert "ご案内の郵送は5を" in bundle.prompts["menu.main"].text
    assert "2を" not in bundle.prompts["menu.main"].text
    assert bundle.stale == ["menu.main", "menu.main.short", "topic.s2"]  # the agent line says the label


TINY_FLOW = """
start: main
agent: {destination: "+81120701675"}
menus:
  main:
    options:
      "1": {label: s4, menu: s4}
  s4:
    style: question
    options:
      "1": {label: q4_1, answer: a1_3}
      "2": {label: q4_2, answer: a1_4}
"""


def test_an_interrupted_run_leaves_a_valid_manifest_and_the_next_run_finishes(tmp_path: Path) -> None:
    (tmp_path / "flows.yaml").write_text(TINY_FLOW, "utf-8")
    (tmp_path / "audio").mkdir()
    env = {
        **os.environ,
        "IVR_DEV": "1",
        "IVR_FLOWS": str(tmp_path / "flows.yaml"),
        "IVR_PROMPTS": str(ROOT / "prompts"),
        "IVR_AUDIO": str(tmp_path / "audio"),
    }
    command = [sys.executable, "-m", "flask", "--app", "app", "ivr", "synth", "--workers", "1"]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(list((tmp_path / "audio").glob("*.wav"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # killed between files: no chance to clean up
    proc.wait()
    made = {p.name for p in (tmp_path / "audio").glob("*.wav")}
    assert len(made) >= 3
    manifest_path = tmp_path / "audio" / "manifest.json"
    if manifest_path.exists():
        named = json.loads(manifest_path.read_text("utf-8"))["files"]
        assert set(named) <= made
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{len(made)} found whole from an interrupted run" in result.stdout
    bundle = load(Sources(tmp_path / "flows.yaml", ROOT / "prompts", tmp_path / "audio"))
    assert (bundle.missing, bundle.stale) == ([], [])


def test_dry_run_lists_without_making(files: Path, clock: FixedClock) -> None:
    for wav in (files / "audio").glob("a1_1-*.wav"):
        wav.unlink()
    app = make_app(files, clock)
    result = app.test_cli_runner().invoke(args=["ivr", "synth", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 to synthesize with openjtalk (mei_normal)" in result.output
    assert [line.split()[-1] for line in result.output.splitlines() if "would make" in line][0].startswith(
        "a1_1-"
    )
    assert not list((files / "audio").glob("a1_1-*.wav"))


def test_google_dry_run_reports_characters_billed(files: Path, clock: FixedClock) -> None:
    app = make_app(files, clock)
    result = app.test_cli_runner().invoke(args=["ivr", "synth", "--dry-run", "--engine", "google"])
    assert result.exit_code == 0, result.output
    bundle = bundle_of(app)
    total = sum(len(p.speech) for p in bundle.prompts.values())
    expected = (
        f"{len(bundle.prompts)} to synthesize with google (ja-JP-Chirp3-HD-Aoede), {total} characters billed"
    )
    assert expected in result.output


def test_prune_deletes_only_unused_files(files: Path, clock: FixedClock) -> None:
    (files / "audio" / "old-0000000000000000.wav").write_bytes(b"RIFF")
    result = make_app(files, clock).test_cli_runner().invoke(args=["ivr", "synth", "--prune", "--dry-run"])
    assert "would delete old-0000000000000000.wav" in result.output
    assert (files / "audio" / "old-0000000000000000.wav").exists()


@pytest.mark.parametrize("bad", ["speed: 9", "speed: fast"], ids=["out-of-range", "not-a-number"])
def test_bad_engine_options_are_a_usage_error(files: Path, clock: FixedClock, bad: str) -> None:
    flows = files / "flows.yaml"
    edit(flows, "speed: 1.0", bad)
    result = make_app(files, clock).test_cli_runner().invoke(args=["ivr", "synth", "--dry-run"])
    assert result.exit_code == 2
    assert "flows.yaml synthesis.openjtalk:" in result.output
