"""GET/HEAD /audio/<file>: pre-synthesized prompts, cached for good (names change when content does)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, send_from_directory

bp = Blueprint("audio", __name__)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.wav$")
ONE_YEAR = 31_536_000


@bp.route("/audio/<name>", methods=["GET", "HEAD"])
def audio(name: str) -> Response:
    """Serve one WAV file with ETag, Last-Modified, 304 and a year of immutable caching."""
    folder = Path(current_app.config["IVR_AUDIO"])
    path = folder / name
    # a regular file of the folder itself: a link placed there could point anywhere on the machine
    if not SAFE_NAME.match(name) or ".." in name or path.is_symlink() or not path.is_file():
        abort(404)
    response = send_from_directory(
        folder, name, mimetype="audio/wav", conditional=True, etag=True, max_age=ONE_YEAR
    )
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


def init_app(app: Flask) -> None:
    """Register the audio route."""
    app.register_blueprint(bp)
