"""The one signed Twilio caller: tests/, `ivr simulate`, the console's try page and bench/ post webhooks as
Twilio does."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

# What Twilio posts on every voice webhook besides the call's own fields; a test may override any.
CALL_FORM = {
    "CallSid": "CA00000000000000000000000000000001",
    "AccountSid": "AC" + "0" * 32,
    "From": "+819012345678",
    "To": "+81120701675",
    "Direction": "inbound",
}


def sign(url: str, form: Mapping[str, str], token: str) -> str:
    """The X-Twilio-Signature Twilio would send for this absolute URL and form (twilio's own code)."""
    return str(RequestValidator(token).compute_signature(url, dict(form)))


class Twilio:
    """Posts to an app the way Twilio does: an absolute URL under PUBLIC_BASE_URL and a signed form."""

    def __init__(
        self, client: FlaskClient, token: str, base: str, form: Mapping[str, str] | None = None
    ) -> None:
        self.client, self.token, self.base = client, token, base.rstrip("/")
        self.form = dict(CALL_FORM if form is None else form)

    def url(self, url: str) -> str:
        """The absolute URL Twilio would call for a path or absolute URL."""
        return url if url.startswith(("http://", "https://")) else self.base + url

    def post(self, url: str, **form: str) -> TestResponse:
        """POST a signed webhook; `url` may be absolute (from TwiML) or a path under the base."""
        absolute = self.url(url)
        data = {**self.form, **form}
        parts = urlsplit(absolute)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.client.post(
            path, data=data, headers={"X-Twilio-Signature": sign(absolute, data, self.token)}
        )
