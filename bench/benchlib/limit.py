"""The limit app: the least a correct webhook does — parse the form, check the signature, answer TwiML.

bench/webhook serves it on plain granian beside the hotline (same workers and threads, no access log, no
request deadline). It parses the same form (werkzeug), checks `X-Twilio-Signature` with one twilio
`compute_signature` over PUBLIC_BASE_URL + path + query and one `hmac.compare_digest`, and answers
constant bytes (a real hotline answer padded to the mix's mean size, read at import from BENCH_LIMIT_TWIML).
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

DOCUMENT = Path(os.environ["BENCH_LIMIT_TWIML"]).read_bytes()
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
