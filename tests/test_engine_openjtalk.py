"""The real offline engine (pyopenjtalk-plus, mei_normal) through to phone audio."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ivr.synth import SynthesisError, analyze, make_engine, to_telephony_wav
from ivr.synth.openjtalk_engine import OpenJTalkEngine

GREETING = "お電話ありがとうございます。こちらは、情報漏えいに関するお問い合わせ窓口です。"
GREETING_MORAE = 44  # as pyopenjtalk.g2p(kana=True) reads it, without the punctuation


@pytest.fixture(scope="module")
def engine() -> OpenJTalkEngine:
    made = make_engine("openjtalk", {})
    assert isinstance(made, OpenJTalkEngine)
    return made


def test_default_voice_is_bundled_mei_normal(engine: OpenJTalkEngine) -> None:
    assert (engine.name, engine.voice) == ("openjtalk", "mei_normal")
    settings = engine.settings()
    assert settings["voice"] == "mei_normal" and settings["speed"] == 1.0 and settings["half_tone"] == 0.0
    assert len(str(settings["voice_sha256"])) == 64
    assert "Nagoya Institute of Technology" in engine.credit
    assert engine.billable_characters(GREETING) == 0


def test_greeting_becomes_phone_audio(engine: OpenJTalkEngine) -> None:
    samples, rate = engine.synthesize(GREETING, prompt_id="greeting")
    assert rate == 48000
    assert samples.dtype == np.float64 and np.abs(samples).max() <= 1.0
    stats = analyze(to_telephony_wav(samples, rate, target_db=-18.0))
    assert (stats.sample_rate, stats.channels, stats.format_tag, stats.bits_per_sample) == (8000, 1, 7, 8)
    assert abs(stats.speech_level_db - -18.0) <= 1.0
    assert stats.peak_db <= -1.0
    assert 0.0 < stats.leading_silence_s <= 0.15 and 0.0 < stats.trailing_silence_s <= 0.30
    # a calm announcer speaks 6-10 morae per second, pauses included
    assert GREETING_MORAE / 10 <= stats.duration_s <= GREETING_MORAE / 6


@pytest.mark.parametrize(
    ("text", "has_pause"),
    [("はい。いいえ。", True), ("はいいいえ", False)],
    ids=["maru-makes-a-pause", "no-maru-no-pause"],
)
def test_pause_at_sentence_end(engine: OpenJTalkEngine, text: str, has_pause: bool) -> None:
    samples, rate = engine.synthesize(text, prompt_id="pause")
    pause = analyze(to_telephony_wav(samples, rate, target_db=-18.0)).longest_pause_s
    assert (pause >= 0.35) if has_pause else (pause < 0.1)


def test_loud_vowels_are_scaled_not_flattened(engine: OpenJTalkEngine) -> None:
    # "はい" overshoots the int16 scale by 2.4x; clipping there would flatten the whole vowel
    samples, _ = engine.synthesize("はい。いいえ。", prompt_id="loud")
    assert np.abs(samples).max() == 1.0
    assert np.count_nonzero(np.abs(samples) > 0.99) < 5


def test_speed_option_changes_duration(engine: OpenJTalkEngine) -> None:
    normal, rate = engine.synthesize(GREETING, prompt_id="p")
    fast, _ = make_engine("openjtalk", {"speed": 1.5}).synthesize(GREETING, prompt_id="p")
    assert len(fast) / len(normal) == pytest.approx(1 / 1.5, abs=0.05)
    slow, _ = engine.synthesize(GREETING, prompt_id="p.slow", rate=0.8)  # a slow replay: speed x 0.8
    assert len(slow) / len(normal) == pytest.approx(1 / 0.8, abs=0.05)


def test_empty_text_is_a_synthesis_error(engine: OpenJTalkEngine) -> None:
    with pytest.raises(SynthesisError, match="prompt menu.main: nothing to say"):
        engine.synthesize("  \n", prompt_id="menu.main")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sped": 1.2}, "unknown option.*sped.*known options: voice, speed, half_tone"),
        ({"speed": "fast"}, "'speed' must be a number from 0.5 to 2.0"),
        ({"speed": True}, "'speed' must be a number"),
        ({"half_tone": 40}, "'half_tone' must be a number from -12.0 to 12.0"),
        ({"voice": "tohoku-f01"}, "voice 'tohoku-f01' not found; bundled voices: mei_normal \\("),
        ({"voice": "LICENSE_mei_normal"}, "not found"),
    ],
    ids=["unknown-option", "speed-text", "speed-bool", "half-tone-range", "unknown-voice", "license-file"],
)
def test_bad_options_are_value_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_engine("openjtalk", options)


def test_engines_load_lazily_and_quietly() -> None:
    # a fresh interpreter: building engines and hashing settings must not load pyopenjtalk or
    # google.cloud, and synthesis must not print pyopenjtalk's ONNX Runtime notice
    code = (
        "import sys\n"
        "from ivr.synth import make_engine\n"
        "jt = make_engine('openjtalk', {}); jt.settings()\n"
        "make_engine('google', {}).settings()\n"
        "loaded = [m for m in ('pyopenjtalk', 'google.cloud', 'google.api_core') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "jt.synthesize('はい', prompt_id='p')\n"
        "print('done')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
