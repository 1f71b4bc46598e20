"""X-Twilio-Signature on every Twilio-facing request, checked against PUBLIC_BASE_URL."""

from __future__ import annotations

import functools
import hmac
import logging
from urllib.parse import urlparse

from flask import Blueprint, Flask, Request, Response, current_app, request
from twilio.request_validator import RequestValidator, add_port, get_signature_algorithm, remove_port
from werkzeug.datastructures import MultiDict

from ivr.privacy import printable
from ivr.web import metrics
from ivr.web.form import current_request

log = logging.getLogger("ivr.security")


def public_url(req: Request, base: str) -> str:
    """The URL Twilio called: our configured origin (`base`) plus the path and query exactly as received.

    Forwarded headers are never trusted: a proxy or TLS terminator in front must not change what is signed.
    """
    query = req.query_string.decode("latin-1")
    return base + req.path + (f"?{query}" if query else "")


@functools.lru_cache(maxsize=1024)
def url_variants(url: str) -> tuple[str, str]:
    """The URL as twilio's RequestValidator signs it: without, then with, the scheme's default port.

    Twilio's own functions, so the normalization is theirs; cached because a call's URLs repeat
    (a few hundred positions and counters), and parsing them was a visible share of each request.
    """
    parsed = urlparse(url)
    return remove_port(parsed), add_port(parsed)


class Validator:
    """twilio's RequestValidator, asked only what a form webhook needs.

    RequestValidator.validate parses the URL and computes both HMACs (URL without and with the port)
    on every request, the largest single cost of a webhook. Here the
    signature is still twilio's own compute_signature, but the URL forms are cached and the second
    HMAC is only computed when the first does not match. tests/test_fuzz_more.py checks that both
    accept and refuse the same requests.
    """

    def __init__(self, token: str) -> None:
        self.twilio = RequestValidator(token)

    def validate(self, url: str, form: MultiDict[str, str], signature: str, settings: str = "") -> bool:
        """True when the signature matches the URL (without or with its default port) and the form."""
        algorithm = get_signature_algorithm(settings)
        if algorithm.upper() not in ("HMAC_SHA1", "HMAC_SHA256") or "bodySHA256" in url:
            return bool(self.twilio.validate(url, form, signature, algorithm))  # twilio's rare paths, as is
        given = signature.encode("utf-8")
        for candidate in url_variants(url):
            computed = self.twilio.compute_signature(candidate, form, algorithm)
            if hmac.compare_digest(computed.encode("utf-8"), given):
                return True
        return False


def signature_ok() -> bool:
    """True when the request carries a valid signature for our URL and its form fields."""
    app, req = current_app._get_current_object(), current_request()  # type: ignore[attr-defined]
    environ = req.environ
    token = app.config["TWILIO_AUTH_TOKEN"]
    if not token:
        return bool(app.config["IVR_DEV"])
    # the WSGI environ's headers as request.headers reads them, without its exception for a missing one
    signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not signature:
        return False
    validator: Validator = app.extensions["ivr.validator"]
    settings = environ.get("HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS", "")
    return validator.validate(public_url(req, app.config["PUBLIC_BASE_URL"]), req.form, signature, settings)


def protect(blueprint: Blueprint) -> None:
    """Refuse every request of the blueprint whose signature does not check out."""

    @blueprint.before_request
    def _check_signature() -> Response | None:
        if signature_ok():
            return None
        metrics.SIGNATURE_REJECTIONS.inc()
        log.warning("403: bad or missing X-Twilio-Signature for %s", printable(request.path))
        return Response("Forbidden: invalid X-Twilio-Signature\n", status=403, mimetype="text/plain")


def init_app(app: Flask) -> None:
    """Build the validator once; it holds the auth token."""
    app.extensions["ivr.validator"] = Validator(app.config["TWILIO_AUTH_TOKEN"] or "")
