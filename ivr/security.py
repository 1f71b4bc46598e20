"""X-Twilio-Signature on every Twilio-facing request, checked against PUBLIC_BASE_URL."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, request
from twilio.request_validator import RequestValidator

log = logging.getLogger("ivr.security")


def public_url() -> str:
    """The URL Twilio called: our configured origin plus the path and query exactly as received.

    Forwarded headers are never trusted: a proxy or TLS terminator in front must not change what is signed.
    """
    query = request.query_string.decode("latin-1")
    base: str = current_app.config["PUBLIC_BASE_URL"]
    return base + request.path + (f"?{query}" if query else "")


def signature_ok() -> bool:
    """True when the request carries a valid signature for our URL and its form fields."""
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    if not token:
        return bool(current_app.config["IVR_DEV"])
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator: RequestValidator = current_app.extensions["ivr.validator"]
    return bool(validator.validate(public_url(), request.form, signature))


def protect(blueprint: Blueprint) -> None:
    """Refuse every request of the blueprint whose signature does not check out."""

    @blueprint.before_request
    def _check_signature() -> Response | None:
        if signature_ok():
            return None
        log.warning("403: bad or missing X-Twilio-Signature for %s", request.path)
        return Response("Forbidden: invalid X-Twilio-Signature\n", status=403, mimetype="text/plain")


def init_app(app: Flask) -> None:
    """Build the validator once; it holds the auth token."""
    app.extensions["ivr.validator"] = RequestValidator(app.config["TWILIO_AUTH_TOKEN"] or "")
