"""The ops console under /console: the hotline at a glance in a browser, behind a login.

A layer on top of web/ and store/ (beside ops/): it reads the journal and the loaded flow, draws the menu
with ops' picture, and tries the menu through ops' in-process line. Twilio's webhooks are not behind it.
"""

from __future__ import annotations

from flask import Flask, Response

from ivr.console import (  # noqa: F401 (routes)
    auth,
    callback_list,
    figures,
    flowinfo,
    menumap,
    now,
    people,
    queue_panels,
    softphone,
)
from ivr.console.pages import ROLE_NAMES, bp, me

# The console's own scripts and data only: no inline script, no other origin, never in a frame.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@bp.after_request
def headers(response: Response) -> Response:
    """No caching of figures by shared caches, no framing, the console's content policy."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def shared() -> dict[str, object]:
    """What every console template may use."""
    return {"role_names": ROLE_NAMES, "me": me}


def init_app(app: Flask) -> None:
    """Login, CSRF and cookies, the Now page's queue, agents and callbacks panels, then the pages."""
    auth.init_app(app)
    queue_panels.init_app(app)
    app.register_blueprint(bp)
