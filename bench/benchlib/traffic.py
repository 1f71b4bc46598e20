"""Requests as Twilio sends them (full parameter set, signed), and the file that wrk replays."""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from benchlib.common import BASE, TOKEN
from ivr.testing import sign


@dataclass(frozen=True)
class Req:
    """One HTTP request, ready to replay."""

    method: str
    path: str  # path and query, as sent (and signed)
    form: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def body(self) -> str:
        """The urlencoded form (what Twilio posts)."""
        return urlencode(self.form)

    def all_headers(self) -> dict[str, str]:
        """Headers including the form's content type."""
        found = dict(self.headers)
        if self.form:
            found["Content-Type"] = "application/x-www-form-urlencoded"
        return found


def call_form(n: int, **extra: str) -> dict[str, str]:
    """The parameters Twilio posts with every voice webhook (about 600 bytes, like the real thing)."""
    caller, hotline = f"+8190{n % 100_000_000:08d}", "+81120701675"
    form = {"AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", "CallSid": f"CA{n:032x}"}
    form |= {"CallStatus": "in-progress", "Direction": "inbound"}
    for who, number in (("Called", hotline), ("Caller", caller), ("From", caller), ("To", hotline)):
        form |= {who: number, f"{who}City": "", f"{who}Country": "JP", f"{who}State": "", f"{who}Zip": ""}
    return form | extra


def signed(path: str, form: Mapping[str, str], **headers: str) -> Req:
    """A POST carrying the signature Twilio would compute for BASE + path and the form."""
    return Req("POST", path, dict(form), {"X-Twilio-Signature": sign(BASE + path, form, TOKEN), **headers})


def gather(path: str, n: int, digits: str | None) -> Req:
    """A Gather action: a key press (or, with digits None, the no-input Redirect)."""
    extra = {} if digits is None else {"Digits": digits, "FinishedOnKey": "", "msg": "Gather End"}
    return signed(path, call_form(n, **extra))


def write_requests(path: Path, requests: Iterable[Req]) -> Path:
    """The file wrk's requests.lua replays: METHOD, PATH, BODY, headers..., tab-separated."""
    lines = []
    for req in requests:
        fields = [req.method, req.path, req.body, *(f"{k}: {v}" for k, v in req.all_headers().items())]
        if any("\t" in f or "\n" in f for f in fields):
            raise ValueError(f"tab or newline in a request field: {fields}")
        lines.append("\t".join(fields))
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@dataclass(frozen=True)
class Answer:
    """One HTTP response, read whole."""

    status: int
    headers: dict[str, str]
    body: bytes


def send(origin: str, req: Req, timeout_s: float = 10.0) -> Answer:
    """Send one request to http://127.0.0.1:PORT (a new connection each time; for checks, not for load)."""
    host, port = origin.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout_s)
    try:
        body = req.body.encode() if req.form else None
        connection.request(req.method, req.path, body=body, headers=req.all_headers())
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
