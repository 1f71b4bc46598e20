"""Audio files: served for Twilio's cache, used in TwiML only when they match the current text."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from flask import Flask

from helpers import FixedClock, bundle_of, make_app, parse, twilio_for

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(100)


def add_audio(files: Path, app_text: dict[str, tuple[str, str]]) -> None:
    """Write audio files and a manifest naming them: {file: (prompt id, text)}."""
    entries: dict[str, dict[str, object]] = {}
    manifest = {"version": 1, "files": entries}
    for name, (prompt, text) in app_text.items():
        (files / "audio" / name).write_bytes(WAV)
        entries[name] = {
            "prompt": prompt,
            "text": text,
            "speech": text,
            "engine": "openjtalk",
            "voice": "mei_normal",
            "sha256": hashlib.sha256(WAV).hexdigest(),
            "duration_s": 1.5,
        }
    (files / "audio" / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")


@pytest.fixture
def audio_app(files: Path, clock: FixedClock) -> Flask:
    greeting = bundle_of(make_app(files, clock)).prompts["greeting"]
    add_audio(
        files,
        {
            "greeting-0123456789ab.wav": ("greeting", greeting.text),
            "goodbye-0123456789ab.wav": ("goodbye", "an old text that changed since"),
        },
    )
    return make_app(files, clock, AUDIO_BASE_URL="https://cdn.example.jp/ivr")


def test_fresh_audio_is_played_from_the_audio_base_url(audio_app: Flask) -> None:
    root = parse(twilio_for(audio_app.test_client()).post("/voice"))
    gather = root[0]
    assert [c.tag for c in gather] == ["Play", "Say"]
    assert gather[0].text == "https://cdn.example.jp/ivr/greeting-0123456789ab.wav"


def test_stale_audio_falls_back_to_say_with_the_configured_voice(audio_app: Flask) -> None:
    root = parse(twilio_for(audio_app.test_client()).post("/voice/agent/done?p=", DialCallStatus="completed"))
    assert [c.tag for c in root] == ["Say", "Hangup"]
    assert root[0].attrib == {"language": "ja-JP", "voice": "Polly.Mizuki"}
    bundle = bundle_of(audio_app)
    assert bundle.stale == ["goodbye"]


def test_audio_file_is_served_with_caching_headers(audio_app: Flask) -> None:
    client = audio_app.test_client()
    response = client.get("/audio/greeting-0123456789ab.wav")
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert response.data == WAV
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"]
    assert set(response.headers["Cache-Control"].split(", ")) == {"public", "max-age=31536000", "immutable"}


def test_conditional_get_is_304(audio_app: Flask) -> None:
    client = audio_app.test_client()
    etag = client.get("/audio/greeting-0123456789ab.wav").headers["ETag"]
    again = client.get("/audio/greeting-0123456789ab.wav", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""


def test_head_has_headers_and_no_body(audio_app: Flask) -> None:
    response = audio_app.test_client().head("/audio/greeting-0123456789ab.wav")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(WAV))
    assert response.data == b""


@pytest.mark.parametrize(
    "path",
    [
        "/audio/../flows.yaml",
        "/audio/%2e%2e%2fflows.yaml",
        "/audio/..%2fflows.yaml",
        "/audio/manifest.json",
        "/audio/.hidden.wav",
        "/audio/missing-000.wav",
        "/audio/%00.wav",
    ],
    ids=["dotdot", "encoded", "half-encoded", "manifest", "hidden", "missing", "nul"],
)
def test_no_path_traversal_or_other_files(audio_app: Flask, path: str) -> None:
    assert audio_app.test_client().get(path).status_code == 404


@pytest.mark.parametrize("target", ["outside", "inside"], ids=["to-a-file-outside", "to-a-file-inside"])
def test_a_link_in_the_audio_folder_is_not_served(audio_app: Flask, files: Path, target: str) -> None:
    """A link named like a prompt served what it pointed at (/etc/hostname in the probe)."""
    outside = files / "secret.wav"
    outside.write_bytes(b"not for callers")
    pointed = outside if target == "outside" else files / "audio" / "greeting-0123456789ab.wav"
    (files / "audio" / "linked-0123456789ab.wav").symlink_to(pointed)
    assert audio_app.test_client().get("/audio/linked-0123456789ab.wav").status_code == 404
    assert audio_app.test_client().get("/audio/greeting-0123456789ab.wav").status_code == 200
