"""Property-based abuse: whatever arrives, the caller never hears an application error."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

import pytest
import xmlschema
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import BASE, OPEN_INSTANT, FixedClock, copy_files, make_app, sign

# Twilio's own TwiML schema (MIT, copied from shared/reference with its LICENSE); it predates Google voices.
XSD = Path(__file__).parent / "twiml-xsd" / "twiml_v20100401_twilioRealtimeCallSchema.xsd"
VOICE_ROUTES = [
    "/voice",
    "/voice/key",
    "/voice/agent/done",
    "/voice/status",
    "/voice/fallback",
    "/voice/node",
    "/voice/agent",
    "/voice/unknown/route",
]
TWILIO_FIELDS = [
    "Digits",
    "CallSid",
    "From",
    "To",
    "CallStatus",
    "DialCallStatus",
    "AccountSid",
    "Caller",
    "Direction",
    "ErrorCode",
    "SpeechResult",
    "CallDuration",
]
text = st.text(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Co", "Cn")),
    max_size=40,
)
fields = st.dictionaries(st.one_of(st.sampled_from(TWILIO_FIELDS), text.filter(bool)), text, max_size=6)
queries = st.dictionaries(st.sampled_from(["p", "n", "x", "r", "junk"]), text, max_size=4)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    files = copy_files(tmp_path_factory.mktemp("fuzz"))
    return make_app(files, FixedClock(OPEN_INSTANT))


def check_twiml(body: bytes) -> ElementTree.Element:
    root = ElementTree.fromstring(body)
    assert root.tag == "Response"
    assert b"Traceback" not in body
    return root


@SETTINGS
@given(route=st.sampled_from(VOICE_ROUTES), query=queries, form=fields)
def test_signed_posts_with_arbitrary_fields_always_get_twiml(
    fuzz_app: Flask, route: str, query: dict[str, str], form: dict[str, str]
) -> None:
    path = route + ("?" + urlencode(query) if query else "")
    response = fuzz_app.test_client().post(
        path, data=form, headers={"X-Twilio-Signature": sign(BASE + path, form)}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    check_twiml(response.data)


@SETTINGS
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    route=st.one_of(
        st.sampled_from([*VOICE_ROUTES, "/healthz", "/audio/x.wav", "/", "/audio/"]),
        # safe="": a leading "/" in t must not make "//host…", which the test client reads as a host
        text.map(lambda t: "/" + quote(t, safe="")),
    ),
    headers=st.dictionaries(
        st.sampled_from(["X-Twilio-Signature", "Content-Type", "X-Forwarded-Host", "If-None-Match", "Range"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
        max_size=3,
    ),
    body=st.binary(max_size=200),
)
def test_any_method_header_and_body_never_5xx(
    fuzz_app: Flask, method: str, route: str, headers: dict[str, str], body: bytes
) -> None:
    response = fuzz_app.test_client().open(route, method=method, headers=headers, data=body)
    assert response.status_code < 500
    assert b"Traceback" not in response.data
    if route.startswith("/voice") and response.status_code in (200, 405) and method != "HEAD":
        check_twiml(response.data)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/voice", {}),
        ("/voice/key?p=1&n=0&x=0", {"Digits": "0"}),
        ("/voice/key?p=12&n=0&x=0", {}),
        ("/voice/key?p=1&n=2&x=0", {}),
        ("/voice/agent/done?p=1", {"DialCallStatus": "busy"}),
        ("/voice/agent/done?p=1", {"DialCallStatus": "completed"}),
        ("/voice/fallback", {}),
        ("/voice/status", {}),
    ],
    ids=["incoming", "agent", "answer", "no-input-final", "busy", "completed", "fallback", "status"],
)
def test_responses_validate_against_twilios_schema(fuzz_app: Flask, path: str, form: dict[str, str]) -> None:
    schema = xmlschema.XMLSchema(str(XSD))
    response = fuzz_app.test_client().post(
        path, data=form, headers={"X-Twilio-Signature": sign(BASE + path, form)}
    )
    schema.validate(response.data.decode("utf-8"))
