"""A caller who walks the menu at random and reads every answer: the soak's body check (wrk reads none)."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import xmlschema

from benchlib.common import BASE, ROOT
from benchlib.traffic import Req, call_form, send, signed

# Twilio's own TwiML schema (the copy the test suite validates against).
XSD = ROOT / "tests" / "twiml-xsd" / "twiml_v20100401_twilioRealtimeCallSchema.xsd"
KEYS = list("0123456789*#") + [None]  # None: silence (the Gather's Redirect, no Digits)
DIAL_OUTCOMES = ["completed", "busy", "no-answer", "failed", "canceled", "garbage"]


@dataclass
class Caller:
    """Posts signed webhooks one after another, following the TwiML like Twilio, and checks each answer."""

    origin: str
    audio: list[str]  # audio paths: HEAD each now and then (wrk cannot: it waits for a HEAD's body)
    schema_every: int = 5  # validate one answer in this many against the XSD (it is slow)
    seed: int = 5
    answers: int = 0
    validated: int = 0
    failures: list[str] = field(default_factory=list)
    seen: Counter[str] = field(
        default_factory=Counter
    )  # Gather timeouts and verbs: shows reloads took effect
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin calling from a thread of its own."""
        self._schema = xmlschema.XMLSchema(str(XSD))
        self._random = random.Random(self.seed)
        self._thread = threading.Thread(target=self._run, name="caller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Hang up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _check(self, path: str, status: int, content_type: str, body: bytes) -> ElementTree.Element | None:
        self.answers += 1
        problem = None
        if status != 200:
            problem = f"status {status}"
        elif not content_type.startswith(("text/xml", "application/xml")):
            problem = f"content type {content_type}"
        elif b"Traceback" in body:
            problem = "traceback in the body"
        else:
            try:
                root = ElementTree.fromstring(body)
            except ElementTree.ParseError as exc:
                problem = f"not XML: {exc}"
            else:
                if root.tag != "Response":
                    problem = f"root <{root.tag}>"
                elif self.answers % self.schema_every == 0:
                    errors = list(self._schema.iter_errors(body.decode("utf-8")))
                    self.validated += 1
                    if errors:
                        problem = f"not valid TwiML: {errors[0].reason}"
                if problem is None:
                    return root
        if len(self.failures) < 20:
            self.failures.append(f"{path}: {problem}: {body[:200]!r}")
        else:
            self.failures.append("…")
        return None

    def _post(self, url: str, n: int, **extra: str) -> ElementTree.Element | None:
        path = url.removeprefix(BASE)
        answer = send(self.origin, signed(path, call_form(n, **extra)))
        return self._check(path, answer.status, answer.headers.get("content-type", ""), answer.body)

    def _head(self, path: str) -> None:
        """HEAD of an audio file: 200, audio/wav, an ETag, cached for good."""
        self.answers += 1
        answer = send(self.origin, Req("HEAD", path))
        headers = answer.headers
        if (
            answer.status != 200
            or headers.get("content-type") != "audio/wav"
            or "etag" not in headers
            or "immutable" not in headers.get("cache-control", "")
            or answer.body
        ):
            self.failures.append(f"HEAD {path}: {answer.status} {headers}")

    def _next(self, root: ElementTree.Element, n: int) -> ElementTree.Element | None:
        """Do what Twilio would do with this TwiML: press a key, time out, end the dial, or hang up."""
        gather, dial = root.find("Gather"), root.find("Dial")
        if gather is not None:
            self.seen[f"Gather timeout={gather.get('timeout')}"] += 1
            key = self._random.choice(KEYS)
            if key is None:
                redirect = root.find("Redirect")
                return self._post((redirect.text or "") if redirect is not None else BASE + "/voice", n)
            return self._post(gather.get("action", ""), n, Digits=key)
        if dial is not None:
            self.seen["Dial"] += 1
            return self._post(dial.get("action", ""), n, DialCallStatus=self._random.choice(DIAL_OUTCOMES))
        self.seen["end of call"] += 1
        return None

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            root = self._post(BASE + "/voice", n)
            for _ in range(12):  # a call of at most a dozen steps, then a new one
                if root is None or self._stop.is_set():
                    break
                root = self._next(root, n)
            if n % 10 == 0:  # the other webhooks Twilio calls now and then, and a look at the audio
                self._post(BASE + "/voice/status", n, CallStatus="completed", CallDuration="42")
                self._post(BASE + "/voice/fallback", n, ErrorCode="11200")
                self._head(self.audio[n // 10 % len(self.audio)])


def write_failures(path: Path, caller: Caller) -> None:
    """Keep the failures for a look after the run."""
    path.write_text("\n".join(caller.failures) + "\n", "utf-8")
