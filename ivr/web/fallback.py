"""No caller ever hears Twilio's "application error": failures on voice URLs become fallback TwiML."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ivr.call.render import minimal_fallback
from ivr.state import get_state

log = logging.getLogger("ivr.errors")


def _fallback_twiml() -> str:
    try:
        loaded = get_state().loaded
        return loaded.renderer.fallback() if loaded else minimal_fallback()
    except Exception:  # the error handler itself must never fail
        return minimal_fallback()


def handle(error: Exception) -> Response:
    """HTTP errors keep their status (with TwiML on voice URLs); anything else is logged and answered 200."""
    on_voice = request.path.startswith("/voice")
    if isinstance(error, HTTPException):
        status = error.code or 500
        if on_voice:
            response = Response(_fallback_twiml(), status=status, mimetype="text/xml")
            if status == 405 and error.get_response().headers.get("Allow"):
                response.headers["Allow"] = error.get_response().headers["Allow"]
            return response
        return Response(f"{status} {error.name}\n", status=status, mimetype="text/plain")
    log.exception("unhandled error on %s; caller gets the fallback", request.path)
    if on_voice:
        return Response(_fallback_twiml(), status=200, mimetype="text/xml")
    return Response("500 Internal Server Error\n", status=500, mimetype="text/plain")


def init_app(app: Flask) -> None:
    """Register the catch-all error handler."""
    app.register_error_handler(Exception, handle)
