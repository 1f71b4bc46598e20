"""The limit app: the least a correct webhook does — parse the form, check the signature, answer TwiML.

Served by bench/webhook beside the hotline, on the same server with the same settings. It parses the
same form (werkzeug), checks `X-Twilio-Signature` with one twilio `compute_signature` over
PUBLIC_BASE_URL + path + query and one `hmac.compare_digest`, and answers a constant document (a real
hotline response padded to the mix's mean size, read once at import from BENCH_BASELINE_TWIML).
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

DOCUMENT = Path(os.environ["BENCH_BASELINE_TWIML"]).read_bytes()
BASE = os.environ["PUBLIC_BASE_URL"]
VALIDATOR = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])

app = Flask(__name__)


@app.post("/voice")
@app.post("/voice/<path:anything>")
def webhook(anything: str = "") -> Response:
    """Every correctly signed webhook gets the same bytes; any other gets 403."""
    query = request.query_string.decode("latin-1")
    url = BASE + request.path + (f"?{query}" if query else "")
    expected = VALIDATOR.compute_signature(url, request.form)
    given = request.headers.get("X-Twilio-Signature", "")
    if not hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8")):
        return Response("Forbidden\n", status=403, mimetype="text/plain")
    return Response(DOCUMENT, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    """What bench's readiness wait polls."""
    return Response("ok\n", mimetype="text/plain")


def application() -> object:
    """What a granian worker serves: the limit app under serve.py's request deadline and access log,
    like the hotline."""
    import serve
    from ivr.web.deadline import Deadline

    serve.batch_access_log()
    return Deadline(app, 10.0, lambda: None)
