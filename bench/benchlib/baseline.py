"""The bench's yardstick: the least a Flask app can do per webhook — answer a constant TwiML document.

Served by bench/webhook under the very same gunicorn.conf.py as the hotline. The document (a real
hotline response padded to the mix's mean size) is read once at import from BENCH_BASELINE_TWIML.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

DOCUMENT = Path(os.environ["BENCH_BASELINE_TWIML"]).read_bytes()

app = Flask(__name__)


@app.post("/voice")
@app.post("/voice/<path:anything>")
def webhook(anything: str = "") -> Response:
    """Every webhook gets the same bytes."""
    return Response(DOCUMENT, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    """What bench's readiness wait polls."""
    return Response("ok\n", mimetype="text/plain")
