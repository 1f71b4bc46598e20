"""The google engine with the real client library, against a local server speaking the REST API."""

from __future__ import annotations

import base64
import json
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.auth.credentials import AnonymousCredentials

from ivr.synth import SynthesisError, make_engine
from ivr.synth.g711 import encode_ulaw
from ivr.synth.google_engine import GoogleEngine

SAMPLES_PER_CHAR = 80  # the fake server speaks 10 ms per character
ANSWER = (
    "漏えいの対象となった、お客さま管理番号(店番、お客様番号等)、口座番号、氏名、住所だけでは、"
    "お取引内容の照会や、出金・振込みといったお手続きを行うことはできません。"
    "また、本件に関してお客さま宛に口座番号やキャッシュカードの暗証番号をお聞きしたり、"
    "カードをお預かりしたりするようなことは一切ございません。"
)


def mulaw_wav(n: int) -> bytes:
    """A μ-law WAV with the plain 16-byte `fmt ` chunk and no `fact` chunk, as a server might send."""
    t = np.arange(n) / 8000
    codes = encode_ulaw(np.round(8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)).tobytes()
    fmt = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", n) + codes
    return b"RIFF" + struct.pack("<I", len(body) + (n & 1)) + body + b"\0" * (n & 1)


@dataclass
class FakeTTS:
    """What the server received, and the error answers to give before answering normally."""

    url: str = ""
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: deque[tuple[int, str, str]] = field(default_factory=deque)
    always_fail: tuple[int, str, str] | None = None
    delays: deque[float] = field(default_factory=deque)


@pytest.fixture
def fake_tts() -> Iterator[FakeTTS]:
    state = FakeTTS()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append((self.path, body))
            time.sleep(state.delays.popleft() if state.delays else 0.0)
            failure = state.errors.popleft() if state.errors else state.always_fail
            if failure:
                code, status, message = failure
                self.reply(code, {"error": {"code": code, "message": message, "status": status}})
            else:
                audio = mulaw_wav(SAMPLES_PER_CHAR * len(body["input"]["text"]))
                self.reply(200, {"audioContent": base64.b64encode(audio).decode()})

        def reply(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            try:
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    server.server_close()


def engine_for(server: FakeTTS, *, credentials: Any = "anonymous", **kwargs: Any) -> GoogleEngine:
    return GoogleEngine(
        kwargs.pop("voice", "ja-JP-Chirp3-HD-Aoede"),
        client_options={"api_endpoint": server.url},
        credentials=AnonymousCredentials() if credentials == "anonymous" else credentials,  # type: ignore[no-untyped-call]
        transport="rest",
        initial_backoff_s=0.01,
        max_backoff_s=0.05,
        deadline_s=kwargs.pop("deadline_s", 10.0),
        call_timeout_s=kwargs.pop("call_timeout_s", 5.0),
        **kwargs,
    )


AUDIO_CONFIG = {
    "audioEncoding": "MULAW",
    "sampleRateHertz": 8000,
    "effectsProfileId": ["telephony-class-application"],
}


@pytest.mark.parametrize(
    ("voice", "options", "slower", "audio_config"),
    [
        ("ja-JP-Chirp3-HD-Aoede", {"speaking_rate": 0.9}, 1.0, {**AUDIO_CONFIG, "speakingRate": 0.9}),
        ("ja-JP-Neural2-B", {"pitch": -2.0}, 1.0, {**AUDIO_CONFIG, "speakingRate": 1.0, "pitch": -2.0}),
        ("ja-JP-Chirp3-HD-Aoede", {"speaking_rate": 0.9}, 0.8, {**AUDIO_CONFIG, "speakingRate": 0.72}),
        ("ja-JP-Chirp3-HD-Aoede", {"speaking_rate": 0.3}, 0.8, {**AUDIO_CONFIG, "speakingRate": 0.25}),
    ],
    ids=["chirp3-hd-no-pitch", "neural2-with-pitch", "slow-replay", "slow-replay-at-the-api-minimum"],
)
def test_request_fields(
    fake_tts: FakeTTS, voice: str, options: dict[str, Any], slower: float, audio_config: dict[str, Any]
) -> None:
    text = "お電話ありがとうございます。"
    engine = engine_for(fake_tts, voice=voice, **options)
    samples, rate = engine.synthesize(text, prompt_id="greeting", rate=slower)
    assert fake_tts.requests == [
        (
            "/v1/text:synthesize",
            {
                "input": {"text": text},
                "voice": {"languageCode": "ja-JP", "name": voice},
                "audioConfig": audio_config,
            },
        )
    ]
    assert rate == 8000 and len(samples) == SAMPLES_PER_CHAR * len(text)
    assert np.abs(samples).max() == pytest.approx(8000 / 32768, rel=0.02)


@pytest.mark.parametrize(
    ("code", "status"),
    [(429, "RESOURCE_EXHAUSTED"), (503, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED"), (500, "INTERNAL")],
    ids=["429", "503", "504", "500"],
)
def test_transient_error_is_retried(fake_tts: FakeTTS, code: int, status: str) -> None:
    fake_tts.errors.append((code, status, "try again later"))
    samples, _ = engine_for(fake_tts).synthesize("はい。", prompt_id="yes")
    assert len(fake_tts.requests) == 2
    assert len(samples) == 3 * SAMPLES_PER_CHAR


def test_slow_answer_times_out_and_is_retried(fake_tts: FakeTTS) -> None:
    fake_tts.delays.append(3.0)
    started = time.monotonic()
    samples, _ = engine_for(fake_tts, call_timeout_s=0.2).synthesize("はい。", prompt_id="yes")
    assert len(fake_tts.requests) == 2
    assert len(samples) == 3 * SAMPLES_PER_CHAR
    assert time.monotonic() - started < 2.5  # the first attempt was abandoned, not awaited


def test_persistent_outage_ends_in_one_clear_error(fake_tts: FakeTTS) -> None:
    fake_tts.always_fail = (503, "UNAVAILABLE", "The service is currently unavailable.")
    with pytest.raises(
        SynthesisError, match=r"kept failing for prompt yes 「はい。」.*currently unavailable"
    ):
        engine_for(fake_tts, deadline_s=0.3).synthesize("はい。", prompt_id="yes")
    assert len(fake_tts.requests) >= 2


def test_bad_request_names_prompt_text_and_server_message(fake_tts: FakeTTS) -> None:
    fake_tts.errors.append((400, "INVALID_ARGUMENT", "This request contains sentences that are too long."))
    with pytest.raises(SynthesisError) as caught:
        engine_for(fake_tts).synthesize(ANSWER, prompt_id="faq.3.1")
    message = str(caught.value)
    assert message.startswith(
        "Google TTS rejected prompt faq.3.1 「漏えいの対象となった、お客さま管理番号(店番"
    )
    assert "…」" in message and message.endswith(": This request contains sentences that are too long.")
    assert len(fake_tts.requests) == 1  # a 400 is not retried


def test_long_text_is_split_at_sentence_ends_and_joined(fake_tts: FakeTTS) -> None:
    text = ANSWER * 12  # about 7,400 bytes
    assert len(text.encode()) > 5000
    engine = engine_for(fake_tts)
    samples, rate = engine.synthesize(text, prompt_id="long")
    sent = [body["input"]["text"] for _, body in fake_tts.requests]
    assert len(sent) == 2
    assert all(len(part.encode()) <= 5000 and part.endswith("。") for part in sent)
    assert "".join(sent) == text
    assert len(samples) / rate == pytest.approx(sum(len(part) for part in sent) * SAMPLES_PER_CHAR / 8000)
    assert engine.billable_characters(text) == len(text)


@pytest.mark.parametrize("credentials_env", ["nonexistent-file", "unset"], ids=["bad-path", "unset"])
def test_missing_credentials_is_one_clear_error(
    fake_tts: FakeTTS, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, credentials_env: str
) -> None:
    # no ADC anywhere: no key file, an empty gcloud config, and no GCE metadata server probe
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setattr("google.auth.compute_engine._metadata._NO_GCE_CHECK", True)  # read at import
    if credentials_env == "unset":
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    else:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(SynthesisError, match="set GOOGLE_APPLICATION_CREDENTIALS.*application-default login"):
        engine_for(fake_tts, credentials=None).synthesize("はい。", prompt_id="yes")
    assert fake_tts.requests == []


def test_settings_and_billing() -> None:
    engine = make_engine("google", {"voice": "ja-JP-Chirp3-HD-Kore", "speaking_rate": 1.1})
    assert engine.settings() == {
        "engine": "google",
        "voice": "ja-JP-Chirp3-HD-Kore",
        "language_code": "ja-JP",
        "speaking_rate": 1.1,
        "audio_encoding": "MULAW",
        "sample_rate_hertz": 8000,
        "effects_profile_id": ["telephony-class-application"],
    }
    # what is sent: the text without its outer whitespace, inner spaces included
    assert engine.billable_characters(" はい、 そうです。\n") == 9


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pitch": 2.0}, "'ja-JP-Chirp3-HD-Aoede' does not support the 'pitch' option"),
        ({"speaking_rate": 3}, "'speaking_rate' must be a number from 0.25 to 2.0"),
        ({"voice": "Aoede"}, "not a voice name like 'ja-JP-Chirp3-HD-Aoede'"),
        ({"ssml": True}, "unknown option.*ssml.*known options: voice, speaking_rate, pitch"),
    ],
    ids=["pitch-on-chirp", "rate-range", "bad-voice", "unknown-option"],
)
def test_bad_options_are_value_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_engine("google", options)


def test_empty_text_is_a_synthesis_error(fake_tts: FakeTTS) -> None:
    with pytest.raises(SynthesisError, match="prompt blank: nothing to say"):
        engine_for(fake_tts).synthesize(" ", prompt_id="blank")
    assert fake_tts.requests == []


def test_synth_run_with_google_makes_phone_audio_one_request_per_prompt(fake_tts: FakeTTS) -> None:
    from ivr.flow.catalog import Prompt
    from ivr.synth import analyze, run

    jobs = [
        run.Job(Prompt(pid, text, text), f"{pid}-0.wav")
        for pid, text in (("a", "はい。お電話ありがとうございます。"), ("b", "失礼いたします。"))
    ]
    made = dict(
        run.execute(jobs, "google", {}, -20.0, workers=2, factory=lambda name, options: engine_for(fake_tts))
    )
    assert sorted(j.prompt.id for j in made) == ["a", "b"]
    # google speaks a prompt as a whole (its voice shapes the paragraph); sentences are not split
    assert sorted(body["input"]["text"] for _, body in fake_tts.requests) == [
        "はい。お電話ありがとうございます。",
        "失礼いたします。",
    ]
    for data in made.values():
        stats = analyze(data)
        assert (stats.sample_rate, stats.channels, stats.format_tag) == (8000, 1, 7)
        assert abs(stats.speech_level_db + 20.0) <= 1.0
