"""A local stand-in for Twilio's REST API (IncomingPhoneNumbers), speaking its JSON, paging and errors."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT = "AC" + "a" * 32
TOKEN = "auth-token-of-the-stand-in"
API_KEY, API_SECRET = "SK" + "b" * 32, "secret-of-the-api-key"
# Twilio's form field for each attribute of an IncomingPhoneNumber that update accepts here
FORM = {
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "VoiceApplicationSid": "voice_application_sid",
    "TrunkSid": "trunk_sid",
}
LIST = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/IncomingPhoneNumbers\.json$")
ONE = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/IncomingPhoneNumbers/(PN\w+)\.json$")


def number(sid: str, phone: str, **fields: Any) -> dict[str, Any]:
    """An IncomingPhoneNumber resource as Twilio returns it (the fields this service reads, and some)."""
    resource: dict[str, Any] = {
        "sid": sid,
        "account_sid": ACCOUNT,
        "phone_number": phone,
        "friendly_name": phone,
        "api_version": "2010-04-01",
        "voice_url": "https://demo.twilio.com/welcome/voice/",
        "voice_method": "POST",
        "voice_fallback_url": None,
        "voice_fallback_method": "POST",
        "status_callback": "",
        "status_callback_method": "POST",
        "voice_application_sid": None,
        "trunk_sid": None,
        "voice_receive_mode": "voice",
        "capabilities": {"voice": True, "sms": False, "mms": False, "fax": False},
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers/{sid}.json",
    }
    resource.update(fields)
    return resource


@dataclass
class StandIn:
    """What the stand-in holds: the account's numbers and every request it was sent."""

    url: str = ""
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)

    def add(self, resource: dict[str, Any]) -> None:
        """Put a number in the account."""
        self.numbers[resource["sid"]] = resource

    def posts(self) -> list[tuple[str, dict[str, list[str]]]]:
        """The path and form of every POST."""
        return [(path, form) for method, path, form in self.requests if method == "POST"]


class _Handler(BaseHTTPRequestHandler):
    state: StandIn

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int, message: str) -> None:
        more = f"https://www.twilio.com/docs/errors/{code}"
        self._send(status, {"code": code, "message": message, "more_info": more, "status": status})

    def _authorized(self) -> bool:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        user, _, password = base64.b64decode(encoded or "").decode().partition(":")
        if scheme == "Basic" and (user, password) in ((ACCOUNT, TOKEN), (API_KEY, API_SECRET)):
            return True
        self._error(401, 20003, "Authenticate")
        return False

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.state.requests.append(("GET", parts.path, query))
        if not self._authorized():
            return
        match = LIST.match(parts.path)
        if not match or match[1] != ACCOUNT:
            return self._error(404, 20404, f"The requested resource {parts.path} was not found")
        wanted = query.get("PhoneNumber", [""])[0]
        found = [n for n in self.state.numbers.values() if wanted in n["phone_number"]]
        size = int(query.get("PageSize", ["50"])[0])
        self._send(
            200,
            {
                "incoming_phone_numbers": found[:size],
                "page": 0,
                "page_size": size,
                "start": 0,
                "end": max(len(found[:size]) - 1, 0),
                "first_page_uri": f"{parts.path}?{parts.query}&Page=0",
                "next_page_uri": None,
                "previous_page_uri": None,
                "uri": f"{parts.path}?{parts.query}",
            },
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        path = urlsplit(self.path).path
        self.state.requests.append(("POST", path, form))
        if not self._authorized():
            return
        match = ONE.match(path)
        if not match or match[1] != ACCOUNT or match[2] not in self.state.numbers:
            return self._error(404, 20404, f"The requested resource {path} was not found")
        unknown = sorted(set(form) - set(FORM))
        if unknown:
            return self._error(400, 20001, f"Unknown parameters {unknown}")
        resource = self.state.numbers[match[2]]
        for name, values in form.items():
            resource[FORM[name]] = values[-1] or None
        self._send(200, resource)


@contextmanager
def serve() -> Iterator[StandIn]:
    """Run the stand-in on a free port of 127.0.0.1 for the duration of the block."""
    state = StandIn()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
