"""A phone line into the real webhooks, in-process: Twilio-signed requests, the TwiML they answer."""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import click
from cryptography.fernet import Fernet

from ivr.flow.bundle import Bundle
from ivr.ops.timing import Length, estimate
from ivr.state import state_of
from ivr.store import migrate
from ivr.testing import CALL_FORM, Twilio


@dataclass(frozen=True)
class Heard:
    """One prompt as the caller hears it: played from its audio file, or said by the <Say> voice."""

    verb: str  # "play" or "say"
    prompt: str  # the prompt id ("?" when the flow does not know it)
    text: str  # as written in prompts/ (for <Say>, the words the voice reads)
    length: Length
    file: Path | None = None  # the local audio file, for the speakers
    speech: str = ""  # what the engine or the voice was given, after the readings (when it differs)


class Line:
    """A call to our own app: every request signed with the app's token, like Twilio signs them.

    Its app has a store of its own (a scratch SQLite file, throwaway keys): what a tried call reserves
    or journals never reaches the real store (`ivr simulate`, the console's try page).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        from ivr import create_app  # the package imports the ops group, which imports this module

        token = secrets.token_hex(16)
        self._scratch = tempfile.TemporaryDirectory(prefix="ivr-line-")  # removed with the line, or at exit
        database = f"sqlite:///{Path(self._scratch.name) / 'line.db'}"
        migrate.upgrade_url(database)
        scratch = {
            "DATABASE_URL": database,
            "IVR_NUMBER_KEY": secrets.token_hex(16),
            "IVR_DATA_KEY": Fernet.generate_key().decode("ascii"),
        }
        settings = {**config, **scratch, "TWILIO_AUTH_TOKEN": token, "IVR_DEV": False}
        self.app = create_app(settings, serving=False)
        self.base = str(self.app.config["PUBLIC_BASE_URL"])
        form = {"CallSid": "CA" + secrets.token_hex(16), "From": "+815000000000"}
        self.twilio = Twilio(self.app.test_client(), token, self.base, {**CALL_FORM, **form})

    def bundle(self) -> Bundle:
        """The flow the line's app answers with now (it reloads edits, like the service)."""
        loaded = state_of(self.app).current()
        if loaded is None:
            raise click.UsageError("the flow has errors; run `flask --app app ivr check` and fix them first")
        bundle: Bundle = loaded.bundle
        return bundle

    def post(self, url: str, **form: str) -> ElementTree.Element:
        """POST a signed webhook to one of the URLs the TwiML names; the TwiML root it answers."""
        if not url.startswith(self.base + "/"):
            raise click.ClickException(f"the TwiML sent the caller outside the service: {url}")
        response = self.twilio.post(url, **form)
        if response.status_code != 200 or response.mimetype not in ("text/xml", "application/xml"):
            path = urlsplit(url).path
            raise click.ClickException(f"{path} answered {response.status}: callers would hear an error")
        return ElementTree.fromstring(response.data)

    def heard(self, element: ElementTree.Element) -> Heard:
        """What a <Play> or <Say> element makes the caller hear."""
        bundle = self.bundle()
        if element.tag == "Play":
            name = unquote(urlsplit(element.text or "").path.rsplit("/", 1)[-1])
            entry = next((e for e in bundle.audio.values() if e.file == name), None)
            if entry is None:
                return Heard("play", "?", name, Length(0.0, estimated=True))
            local = Path(self.app.config["IVR_AUDIO"]) / name
            spoken = entry.speech if entry.speech != entry.text else ""
            return Heard("play", entry.prompt, entry.text, Length(entry.duration_s), local, spoken)
        slower = element.find("prosody")  # a slow replay said with <prosody rate="80%">
        speech = (element if slower is None else slower).text or ""
        rate = 1.0 if slower is None else int(slower.get("rate", "100%").rstrip("%")) / 100
        prompt = next((p for p in bundle.prompts.values() if (p.speech, p.rate) == (speech, rate)), None)
        length = Length(round(estimate(speech).seconds / rate, 2), estimated=True)
        written = prompt.text if prompt else speech
        return Heard(
            "say", prompt.id if prompt else "?", written, length, speech=speech if speech != written else ""
        )
