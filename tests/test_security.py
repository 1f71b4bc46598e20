"""X-Twilio-Signature on every Twilio-facing POST, and configuration that fails fast."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from helpers import BASE, DROP, TOKEN, FixedClock, make_app, parse, sign
from ivr.config import StartRefused
from ivr.testing import Twilio

FORM = {"CallSid": "CA1", "From": "+819012345678", "Digits": "1"}
ENDPOINTS = [
    "/voice",
    "/voice/key?p=1&n=0&x=0",
    "/voice/agent/done?p=1",
    "/voice/status",
    "/voice/fallback",
    "/voice/node?p=2",
]


def post(client: FlaskClient, path: str, signature: str | None, form: dict[str, str] = FORM) -> int:
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return client.post(path, data=form, headers=headers).status_code


@pytest.mark.parametrize("path", ENDPOINTS, ids=ENDPOINTS)
def test_valid_signature_is_accepted(client: FlaskClient, path: str) -> None:
    assert post(client, path, sign(BASE + path, FORM)) == 200


@pytest.mark.parametrize("path", ENDPOINTS, ids=ENDPOINTS)
def test_missing_signature_is_403(client: FlaskClient, path: str) -> None:
    assert post(client, path, None) == 403


@pytest.mark.parametrize(
    ("case", "signature"),
    [
        ("forged", "c2lnbmF0dXJlIGZvcmdlZCBieSBzb21lb25l"),
        ("empty", ""),
        ("another-token", sign(BASE + "/voice", FORM, token="someone-elses-token")),
        ("different-host", sign("https://evil.example.com/voice", FORM)),
        ("http-not-https", sign("http://ivr.example.jp/voice", FORM)),
        ("other-form", sign(BASE + "/voice", {**FORM, "Digits": "2"})),
    ],
    ids=lambda v: v if len(v) < 20 else "",
)
def test_bad_signatures_are_403(client: FlaskClient, case: str, signature: str) -> None:
    assert post(client, "/voice", signature) == 403


@pytest.mark.parametrize(
    ("settings", "algorithm", "status"),
    [
        ("key=webhooks_sharedkey_1,algorithm=HMAC_SHA256", "HMAC_SHA256", 200),
        ("key=webhooks_sharedkey_1,algorithm=HMAC_SHA256", "HMAC_SHA1", 403),
        ("key=webhooks_sharedkey_1,algorithm=HMAC_SHA512", "HMAC_SHA1", 403),
        ("", "HMAC_SHA1", 200),
    ],
    ids=["sha256-shared-key", "sha1-under-sha256-header", "unknown-algorithm", "no-header-sha1"],
)
def test_signature_settings_header_chooses_the_algorithm(
    client: FlaskClient, settings: str, algorithm: str, status: int
) -> None:
    signature = RequestValidator(TOKEN).compute_signature(BASE + "/voice", FORM, algorithm)
    headers = {"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": settings}
    assert client.post("/voice", data=FORM, headers=headers).status_code == status


def test_action_url_with_query_validates_and_its_query_is_covered(client: FlaskClient) -> None:
    path = "/voice/key?p=12&n=1&x=0"
    assert post(client, path, sign(BASE + path, FORM)) == 200
    # the same signature does not carry over to another position
    assert post(client, "/voice/key?p=13&n=1&x=0", sign(BASE + path, FORM)) == 403


def test_forwarded_headers_are_not_trusted(client: FlaskClient) -> None:
    evil = "https://evil.example.com/voice"
    response = client.post(
        "/voice",
        data=FORM,
        headers={
            "X-Twilio-Signature": sign(evil, FORM),
            "X-Forwarded-Host": "evil.example.com",
            "X-Forwarded-Proto": "https",
            "Host": "evil.example.com",
        },
    )
    assert response.status_code == 403


def test_behind_a_proxy_the_public_base_url_is_what_counts(client: FlaskClient) -> None:
    # the request reaches us as http://localhost/voice, but Twilio signed the public https URL
    response = client.post(
        "/voice",
        data=FORM,
        base_url="http://localhost:8080",
        headers={"X-Twilio-Signature": sign(BASE + "/voice", FORM)},
    )
    assert response.status_code == 200


def test_audio_and_health_need_no_signature(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/audio/nothing-here.wav").status_code == 404


def test_missing_token_refuses_to_start(files: Path, clock: FixedClock) -> None:
    with pytest.raises(StartRefused, match="TWILIO_AUTH_TOKEN is not set"):
        make_app(files, clock, TWILIO_AUTH_TOKEN=None)


def test_missing_public_base_url_refuses_to_start(files: Path, clock: FixedClock) -> None:
    with pytest.raises(StartRefused, match="PUBLIC_BASE_URL is not set"):
        make_app(files, clock, PUBLIC_BASE_URL=None)


def test_dev_mode_skips_signatures_with_a_loud_warning(
    files: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(files, clock, TWILIO_AUTH_TOKEN=None, IVR_DEV=True)
    assert "signatures are NOT checked" in caplog.text
    assert app.test_client().post("/voice", data=FORM).status_code == 200


def test_environment_is_read_and_test_config_wins(
    files: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://from-env.example.jp/")
    monkeypatch.setenv("AUDIO_BASE_URL", "https://cdn.example.jp/ivr/")
    app = make_app(files, clock, PUBLIC_BASE_URL=DROP)
    assert app.config["PUBLIC_BASE_URL"] == "https://from-env.example.jp"
    assert app.config["AUDIO_BASE_URL"] == "https://cdn.example.jp/ivr"
    assert make_app(files, clock).config["PUBLIC_BASE_URL"] == BASE


def test_token_is_used_for_validation(files: Path, clock: FixedClock) -> None:
    app = make_app(files, clock, TWILIO_AUTH_TOKEN="another")
    assert post(app.test_client(), "/voice", sign(BASE + "/voice", FORM, token=TOKEN)) == 403
    assert post(app.test_client(), "/voice", sign(BASE + "/voice", FORM, token="another")) == 200


def test_a_body_far_larger_than_twilio_sends_is_refused_unread(client: FlaskClient) -> None:
    form = {**FORM, "Padding": "x" * 70_000}
    response = client.post("/voice", data=form, headers={"X-Twilio-Signature": sign(BASE + "/voice", form)})
    assert response.status_code == 413
    assert response.mimetype == "text/xml"
    assert ElementTree.fromstring(response.data).tag == "Response"


@pytest.mark.parametrize("path", ["/voice", "/voice/status"], ids=["incoming", "status"])
def test_webhooks_open_no_session(twilio: Twilio, path: str) -> None:
    """Sessions live under /console, where their cookie is sent: a webhook neither reads nor sets one."""
    response = twilio.post(path, CallStatus="completed")
    parse(response)
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers  # a session touched would add Vary: Cookie
