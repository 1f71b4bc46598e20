"""Twilio's REST API for `ivr twilio`: credentials from the environment, numbers, errors as one line."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import click
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

API = "https://api.twilio.com"
TIMEOUT_S = 15.0
# The number's voice settings this service owns, in the REST client's names (its form fields are
# VoiceUrl, VoiceMethod, VoiceFallbackUrl, VoiceFallbackMethod, StatusCallback, StatusCallbackMethod).
FIELDS = (
    "voice_url",
    "voice_method",
    "voice_fallback_url",
    "voice_fallback_method",
    "status_callback",
    "status_callback_method",
)
CREDENTIALS = "TWILIO_ACCOUNT_SID and TWILIO_API_KEY/TWILIO_API_SECRET (or TWILIO_AUTH_TOKEN)"


def client(env: Mapping[str, str], api: str | None = None) -> Client:
    """A REST client for the account in TWILIO_ACCOUNT_SID: an API key and secret, else the auth token."""

    def need(name: str, why: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            raise click.UsageError(f"{name} is not set: {why}")
        return value

    account = need(
        "TWILIO_ACCOUNT_SID", "set it to the account's SID (AC…, on the Twilio console's front page)"
    )
    if env.get("TWILIO_API_KEY") or env.get("TWILIO_API_SECRET"):
        key = need("TWILIO_API_KEY", "set it to the API key's SID (SK…) that goes with TWILIO_API_SECRET")
        secret = need("TWILIO_API_SECRET", "set it to the secret of the API key in TWILIO_API_KEY")
        username, password = key, secret
    else:
        token = "set it to the account's auth token, or set TWILIO_API_KEY and TWILIO_API_SECRET instead"
        username, password = account, need("TWILIO_AUTH_TOKEN", token)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs every request at INFO
    found = Client(
        username, password, account, http_client=TwilioHttpClient(timeout=TIMEOUT_S), environment=os.environ
    )
    if api:  # a stand-in for Twilio's API (the tests' local server)
        found.api.base_url = api
    return found


def lookup(rest: Client, number: str) -> Any | None:
    """The account's IncomingPhoneNumber for an E.164 number, or None when the account has no such number."""
    with explained(rest):
        # PhoneNumber matches partial numbers too: keep only the exact one
        matches = rest.incoming_phone_numbers.list(phone_number=number)
    return next((n for n in matches if n.phone_number == number), None)


def settings(number: Any) -> dict[str, str]:
    """The number's voice settings this service owns ("" when unset)."""
    return {name: str(getattr(number, name, None) or "") for name in FIELDS}


def update(rest: Client, number: Any, wanted: Mapping[str, str]) -> dict[str, str]:
    """Set the voice settings on the number; what Twilio says the number holds afterwards."""
    with explained(rest):
        updated = rest.incoming_phone_numbers(number.sid).update(**wanted)
    return settings(updated)


def bound_elsewhere(number: Any) -> str | None:
    """Why Twilio would ignore the number's voice URL (a TwiML App or a SIP trunk), or None."""
    if getattr(number, "trunk_sid", None):
        return (
            f"it is bound to the SIP trunk {number.trunk_sid}: Twilio sends its calls to the trunk and "
            "ignores its voice URL — in the console, Phone Numbers → the number → Voice Configuration → "
            '"Configure with: Webhook", or remove it from the trunk'
        )
    if getattr(number, "voice_application_sid", None):
        return (
            f"it is bound to the TwiML App {number.voice_application_sid}: Twilio uses the App's voice URL "
            "and ignores the number's — in the console, Phone Numbers → the number → Voice Configuration → "
            '"Configure with: Webhook"'
        )
    return None


@contextmanager
def explained(rest: Client) -> Iterator[None]:
    """Turn what the REST client raises into one clear line (click's "Error: …", exit 1, no traceback)."""
    try:
        yield
    except TwilioRestException as exc:
        raise click.ClickException(_explain(exc.status, exc.code, _detail(exc.msg, exc.details))) from None
    except TwilioException as exc:  # a failed page of a list: ("Unable to fetch page", response)
        response = exc.args[1] if len(exc.args) > 1 else None
        status = getattr(response, "status_code", 0)
        try:
            body = json.loads(getattr(response, "text", ""))
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        raise click.ClickException(
            _explain(status, body.get("code"), str(body.get("message", exc)))
        ) from None
    except requests.Timeout:
        raise click.ClickException(
            f"Twilio's API ({rest.api.base_url}) did not answer within {TIMEOUT_S:g} s: try again in a minute"
        ) from None
    except requests.RequestException as exc:
        raise click.ClickException(
            f"cannot reach Twilio's API at {rest.api.base_url} ({type(exc).__name__}): check the network, "
            "the firewall and HTTPS_PROXY"
        ) from None


def _detail(msg: str, details: Any) -> str:
    return msg.split(": ", 1)[-1] + (f" ({details})" if details else "")


def _explain(status: int, code: Any, message: str) -> str:
    if code == 20003 or status == 401:
        return f"Twilio refused the credentials (20003, {message}): check {CREDENTIALS}"
    if code == 20404:
        return (
            f"Twilio has no such resource (20404: {message}): check that TWILIO_ACCOUNT_SID is the account "
            "that holds the numbers"
        )
    if code == 20429 or status == 429:
        return f"Twilio is limiting this account's requests ({code}): run it again in a minute"
    if status >= 500:
        return f"Twilio's API failed (HTTP {status}, {message}): run it again later"
    more = f" (https://www.twilio.com/docs/errors/{code})" if isinstance(code, int) else ""
    return f"Twilio refused the request (HTTP {status}, error {code}: {message}){more}"
