"""Odd values a hostile or broken client sends: never a 500, never the caller's fallback apology.

Non-ASCII digits (full-width ０-９, superscripts ² ³) pass str.isdigit() but are no key Twilio sends: they
count as no value (an invalid key, a counter at 0), and the console answers 400 with what to fix.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient

from console_helpers import PASSWORD, add_user, csrf_token, signed_in
from ivr.testing import Twilio

WEBHOOKS = [
    ("/voice/callback/number?p=&t=0&q=0", {"Digits": "0３１２３４５６７８"}),
    ("/voice/queue/wait?p=", {"QueuePosition": "²", "QueueTime": "³"}),
    ("/voice/queue/done?p=", {"QueueResult": "leave", "QueueTime": "１２"}),
    (f"/voice/key?p=&n={quote('²')}&x=0", {"Digits": "1"}),  # as Twilio sends a URL: percent-encoded
    (f"/voice/key?p=&n=0&x={quote('０')}", {}),
    (f"/voice/callback/choose?p=&t={quote('²')}&o=1", {"Digits": "１"}),
    ("/voice/status", {"CallStatus": "completed", "CallDuration": "１２"}),
]


@pytest.mark.parametrize(
    ("url", "form"),
    WEBHOOKS,
    ids=["full-width-callback-number", "superscript-place", "full-width-wait", "superscript-misses",
         "full-width-counter", "superscript-asked-at", "full-width-duration"],
)  # fmt: skip
def test_odd_digits_in_a_signed_webhook_get_twiml_not_the_fallback(
    twilio: Twilio, caplog: pytest.LogCaptureFixture, url: str, form: dict[str, str]
) -> None:
    with caplog.at_level("ERROR", logger="ivr.errors"):
        response = twilio.post(url, **form)
    assert response.status_code == 200
    assert ElementTree.fromstring(response.data).tag == "Response"
    assert [r.getMessage() for r in caplog.records if r.name == "ivr.errors"] == []


def test_a_full_width_callback_number_is_asked_for_again(twilio: Twilio) -> None:
    """Not read back digit by digit (there is no prompt for ３): refused as an invalid number, asked again."""
    root = ElementTree.fromstring(
        twilio.post("/voice/callback/number?p=&t=0&q=0", Digits="0３１２３４５６７８").data
    )
    gather = root.find("Gather")
    assert gather is not None
    action = urlsplit(gather.get("action", ""))
    assert action.path == "/voice/callback/number" and parse_qs(action.query)["m"] == ["1"]


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/console/callbacks?saved=²", 200, ""),
        ("/console/figures?from=9999-12-31", 400, "2099-12-31 までで"),
        ("/console/figures?from=0001-01-01", 400, "2000-01-01 から"),
        ("/console/figures.csv?from=9999-12-31", 400, "2099-12-31 までで"),
        ("/console/map?from=0001-01-01&to=0001-01-02", 400, "2000-01-01 から"),
    ],
    ids=["superscript-saved", "figures-year-9999", "figures-year-1", "csv-year-9999", "map-year-1"],
)
def test_odd_console_parameters_get_a_page_that_says_what_to_fix(
    app: Flask, path: str, status: int, says: str
) -> None:
    response = signed_in(app).get(path)
    assert response.status_code == status
    assert says in response.get_data(as_text=True)


def test_a_next_with_a_line_break_is_not_followed_after_login(app: Flask, client: FlaskClient) -> None:
    add_user(app, "sato", "viewer")
    token = csrf_token(client, "/console/login?next=/console/%0d%0a")
    response = client.post(
        "/console/login?next=/console/%0d%0a",
        data={"name": "sato", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/console/"
