"""More abuse, and the proof that the fast paths answer exactly like the libraries they replace.

- every route × every method × arbitrary headers × arbitrary form fields, signed or not: never a 5xx,
  never a traceback, and every XML answer is TwiML;
- callers walking the menu with any keys at any instant (open, closed, holiday): every answer is
  TwiML that Twilio's schema accepts;
- ivr.security's Validator accepts exactly what twilio's RequestValidator accepts.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from xml.etree import ElementTree

import pytest
import werkzeug.urls  # noqa: F401  (registers the codec error handler werkzeug's parser uses)
import xmlschema
from flask import Flask
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator, get_signature_algorithm
from werkzeug.datastructures import MultiDict

from helpers import BASE, OPEN_INSTANT, TOKEN, FixedClock, copy_files, make_app
from ivr.web.signature import Validator

XSD = Path(__file__).parent / "twiml-xsd" / "twiml_v20100401_twilioRealtimeCallSchema.xsd"
TOKYO = dt.timezone(dt.timedelta(hours=9))
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]
ROUTES = [
    "/voice",
    "/voice/key",
    "/voice/node",
    "/voice/agent",
    "/voice/agent/done",
    "/voice/status",
    "/voice/fallback",
    "/voice/some/old/route",
    "/voice/",
    "/healthz",
    "/audio/greeting-717ae111017117c3.wav",
    "/audio/missing-0000.wav",
    "/audio/..%2Fflows.yaml",
    "/audio/",
    "/",
    "/nope",
]
WEBHOOKS = [r for r in ROUTES if r.startswith("/voice") and r != "/voice/"]
FIELDS = ["Digits", "CallSid", "From", "To", "CallStatus", "DialCallStatus", "ErrorCode", "CallDuration"]
HEADERS = [
    "X-Twilio-Signature",
    "Content-Type",
    "If-None-Match",
    "If-Modified-Since",
    "Range",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "Host",
    "Accept",
    "Transfer-Encoding",
]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data; boundary=x",
    "application/json",
    "text/plain",
    "",
]
unicode_text = st.text(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Co", "Cn")),
    max_size=30,
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)
# urlencoded-looking text: the characters that matter to a form parser, often
form_text = st.lists(
    st.sampled_from([*"ab=&+%2BF0fé ;\x00", "%e", "%E3%81", "%FF", "%2B", "%zz", "=="]), max_size=30
).map("".join)
SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    """One clock for the module's app; a test may move it (hypothesis runs examples one at a time)."""
    return FixedClock(OPEN_INSTANT)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, clock: FixedClock) -> Flask:
    files = copy_files(tmp_path_factory.mktemp("fuzz_more"))
    return make_app(files, clock)


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def assert_never_an_application_error(path: str, status: int, mimetype: str | None, body: bytes) -> None:
    assert status < 500, (path, status, body[:300])
    assert b"Traceback" not in body
    if path.startswith("/voice") and mimetype in ("text/xml", "application/xml") and body:
        assert ElementTree.fromstring(body).tag == "Response"


@SETTINGS
@given(
    route=st.sampled_from(ROUTES),
    method=st.sampled_from(METHODS),
    query=st.dictionaries(st.sampled_from(["p", "n", "x", "junk"]), unicode_text, max_size=3),
    form=st.lists(st.tuples(st.one_of(st.sampled_from(FIELDS), unicode_text), unicode_text), max_size=6),
    headers=st.dictionaries(st.sampled_from(HEADERS), header_text, max_size=4),
    content_type=st.sampled_from(CONTENT_TYPES),
    signed=st.booleans(),
)
def test_every_route_method_header_and_field(
    fuzz_app: Flask,
    route: str,
    method: str,
    query: dict[str, str],
    form: list[tuple[str, str]],
    headers: dict[str, str],
    content_type: str,
    signed: bool,
) -> None:
    path = route + ("?" + urlencode(query) if query else "")
    body = urlencode(form)
    headers = {k: v for k, v in headers.items() if k not in ("Content-Type", "Transfer-Encoding", "Host")}
    if content_type:
        headers["Content-Type"] = content_type
    if signed:
        # what the service will see of the form: signed the way Twilio signs it
        seen = (
            MultiDict(parse_qsl(body, keep_blank_values=True))
            if content_type.startswith(CONTENT_TYPES[0])
            else {}
        )
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(BASE + path, seen)
    response = fuzz_app.test_client().open(path, method=method, headers=headers, data=body)
    assert_never_an_application_error(route, response.status_code, response.mimetype, response.data)
    if signed and route in WEBHOOKS and method == "POST" and content_type.startswith(CONTENT_TYPES[0]):
        assert response.status_code == 200
        assert response.mimetype == "text/xml"


@SETTINGS
@given(route=st.sampled_from(ROUTES), method=st.sampled_from(METHODS), body=st.binary(max_size=300))
def test_raw_bytes_with_a_signature_for_what_the_service_parses(
    fuzz_app: Flask, route: str, method: str, body: bytes
) -> None:
    """Bodies that are not valid UTF-8 or urlencoding: the form the service makes of them, signed."""
    try:
        seen = MultiDict(parse_qsl(body.decode(), keep_blank_values=True, errors="werkzeug.url_quote"))
    except UnicodeDecodeError:
        seen = MultiDict()  # werkzeug gives an empty form for a body that is not UTF-8
    headers = {
        "Content-Type": CONTENT_TYPES[0],
        "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(BASE + route, seen),
    }
    response = fuzz_app.test_client().open(route, method=method, headers=headers, data=body)
    assert_never_an_application_error(route, response.status_code, response.mimetype, response.data)


def post(app: Flask, url: str, **form: str) -> ElementTree.Element:
    """POST a signed webhook to an absolute URL from TwiML; the TwiML root it answers (checked)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    data = {"CallSid": "CA" + "f" * 32, "From": "+819012345678", **form}
    signature = RequestValidator(TOKEN).compute_signature(url, data)
    response = app.test_client().post(path, data=data, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200 and response.mimetype == "text/xml", (path, response.data[:300])
    return ElementTree.fromstring(response.data)


instants = st.one_of(
    st.sampled_from(
        [
            OPEN_INSTANT,
            dt.datetime(2026, 11, 25, 20, 0, tzinfo=TOKYO),  # after hours
            dt.datetime(2026, 11, 23, 10, 0, tzinfo=TOKYO),  # 勤労感謝の日
            dt.datetime(2026, 12, 31, 10, 0, tzinfo=TOKYO),  # bank holiday
        ]
    ),
    st.datetimes(
        min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(TOKYO)
    ),
)
presses = st.lists(
    st.one_of(st.none(), st.sampled_from(list("0123456789*#")), st.text(max_size=4)),
    min_size=1,
    max_size=10,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    at=instants, keys=presses, outcomes=st.lists(st.sampled_from(["completed", "busy", "x", ""]), min_size=10)
)
def test_any_walk_through_the_menu_is_valid_twiml(
    fuzz_app: Flask,
    clock: FixedClock,
    schema: xmlschema.XMLSchema,
    at: dt.datetime,
    keys: list[str | None],
    outcomes: list[str],
) -> None:
    """A caller pressing anything (or nothing), at any instant: Twilio's schema accepts every answer."""
    clock.instant = at
    queue_action = ""  # the Enqueue action: where Twilio goes when the caller leaves the queue
    try:
        root = post(fuzz_app, BASE + "/voice")
        for key, outcome in zip(keys, outcomes, strict=False):
            schema.validate(ElementTree.tostring(root, encoding="unicode"))
            gather, dial, enqueue = root.find("Gather"), root.find("Dial"), root.find("Enqueue")
            if enqueue is not None:  # waiting: the wait URL once, or straight out with some QueueResult
                queue_action = enqueue.get("action", "")
                if outcome == "busy":
                    root = post(fuzz_app, enqueue.get("waitUrl", ""), QueuePosition="3", QueueTime="40")
                else:
                    root = post(fuzz_app, queue_action, QueueResult=outcome or "leave", QueueTime="40")
            elif root.find("Leave") is not None:
                root = post(fuzz_app, queue_action, QueueResult="leave", QueueTime="40")
            elif gather is not None and key is not None:
                root = post(fuzz_app, gather.get("action", ""), Digits=key)
            elif root.find("Redirect") is not None:
                redirect = root.find("Redirect")
                assert redirect is not None
                target = redirect.text or ""
                if "/voice/queue/wait" in target:  # the wait loop: Twilio posts the place again
                    root = post(fuzz_app, target, QueuePosition="2", QueueTime="70")
                else:  # a Gather's silence comes back to its own action
                    assert gather is None or target == gather.get("action")
                    root = post(fuzz_app, target)
            elif dial is not None:
                root = post(fuzz_app, dial.get("action", ""), DialCallStatus=outcome)
            else:
                assert root.find("Hangup") is not None  # the only way a call may end
                break
        schema.validate(ElementTree.tostring(root, encoding="unicode"))
    finally:
        clock.instant = OPEN_INSTANT


# --- the fast paths against the libraries they stand in for -------------------------------------------

hosts = st.sampled_from(["ivr.example.jp", "ivr.example.jp:443", "ivr.example.jp:80", "127.0.0.1:8080"])
paths = unicode_text.map(lambda t: "/voice/" + quote(t, safe="/;=&?#"))


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["https", "http"]),
    host=hosts,
    path=paths,
    query=st.one_of(st.just(""), form_text),
    fields=st.lists(st.tuples(st.sampled_from(FIELDS + ["", "a", "Z"]), unicode_text), max_size=8),
    which=st.sampled_from(["as given", "other port form", "other form", "garbage"]),
    garbage=header_text,
    settings_header=st.sampled_from(
        ["", "key=k1,algorithm=HMAC_SHA256", "algorithm=hmac_sha1", "algorithm=MD5"]
    ),
)
def test_validator_accepts_exactly_what_twilios_accepts(
    scheme: str,
    host: str,
    path: str,
    query: str,
    fields: list[tuple[str, str]],
    which: str,
    garbage: str,
    settings_header: str,
) -> None:
    url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    form = MultiDict(fields)
    twilio = RequestValidator(TOKEN)
    algorithm = get_signature_algorithm(settings_header)
    sign = functools.partial(
        twilio.compute_signature, algorithm="HMAC_SHA1" if algorithm == "MD5" else algorithm
    )
    if which == "as given":
        signature = sign(url, form)
    elif which == "other port form":
        other = url.replace(host, host.split(":")[0] + (":443" if scheme == "https" else ":80"), 1)
        if ":" in host:
            other = url.replace(host, host.split(":")[0], 1)
        signature = sign(other, form)
    elif which == "other form":
        signature = sign(url, MultiDict([*fields, ("Digits", "1")]))
    else:
        signature = garbage
    assume(signature)  # the service refuses an empty signature before validating
    expected = twilio.validate(url, form, signature, algorithm)
    assert Validator(TOKEN).validate(url, form, signature, settings_header) == expected
