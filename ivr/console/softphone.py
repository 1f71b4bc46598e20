"""Try the menu: a keypad in the page drives the real webhooks server-side (as `ivr simulate` does)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, Response, abort, current_app, render_template, request, url_for

from ivr import clock
from ivr.console import ulaw
from ivr.console.pages import bp
from ivr.ops.caller import Heard, Line
from ivr.ops.converse import KEYPAD, QueuePlay
from ivr.ops.simulate import OUTCOMES, SHARED
from ivr.state import get_state

MAX_HOPS = 20  # redirects followed in one turn before the page says the flow never waits
_at: ContextVar[dt.datetime | None] = ContextVar("ivr_console_try_at", default=None)
_lock = threading.Lock()  # one walk at a time through the line's test client


@dataclass
class Turn:
    """What one press made the caller hear, and what the call waits for next."""

    heard: list[dict[str, object]] = field(default_factory=list)
    gather: str | None = None  # the URL a key goes to
    silence: str | None = None  # the URL silence goes to
    timeout: str = "5"
    dial: str | None = None  # the URL the transfer's outcome goes to
    target: str = ""
    error: str | None = None


def line_of(app: Flask) -> Line:
    """The app's line into its own webhooks (made once: it loads the flow like a worker does)."""
    found: Line | None = app.extensions.get("ivr.console.line")
    if found is None:
        config = {name: app.config[name] for name in SHARED}
        # the page's chosen time, else the console's own clock (the wall clock in production; a test's
        # fixed clock in the tests: a tried call must not depend on the hour the suite runs at)
        # taken now: `app` may be the current_app proxy, and the line's queue thread has no app context
        console_clock: clock.Clock = app.extensions["ivr.clock"]
        found = Line({**config, "IVR_CLOCK": lambda: _at.get() or console_clock()})
        app.extensions["ivr.console.line"] = found
    return found


def _view(heard: Heard) -> dict[str, object]:
    audio = url_for("console.audio", name=heard.file.name) if heard.file is not None else None
    return {
        "verb": heard.verb,
        "prompt": heard.prompt,
        "text": heard.text,
        "length": str(heard.length),
        "audio": audio,
    }


def walk(line: Line, url: str, form: dict[str, str]) -> Turn:
    """Post one webhook and follow its TwiML until the call waits for a key or a transfer, or ends."""
    turn = Turn()
    root = line.post(url, **form, **_in_queue(url))
    for _ in range(MAX_HOPS):
        verbs, follow = list(root), None
        for index, verb in enumerate(verbs):
            if verb.tag in ("Play", "Say"):
                turn.heard.append(_view(line.heard(verb)))
            elif verb.tag == "Gather":
                turn.heard += [_view(line.heard(c)) for c in verb if c.tag in ("Play", "Say")]
                turn.gather, turn.timeout = verb.get("action", ""), verb.get("timeout", "5")
                turn.silence = next((v.text for v in verbs[index + 1 :] if v.tag == "Redirect"), None)
                return turn
            elif verb.tag == "Dial":
                turn.dial = verb.get("action", "")
                turn.target = " ".join((c.text or "").strip() for c in verb) or (verb.text or "").strip()
                return turn
            elif verb.tag == "Redirect":
                follow = verb.text or ""
                break
            elif verb.tag == "Enqueue":  # in Twilio's queue, the caller hears the wait URL's TwiML
                follow = verb.get("waitUrl", "")
                break
            elif verb.tag == "Hangup":
                return turn
        if follow is None:
            return turn
        root = line.post(follow, CallSid=form["CallSid"], **_in_queue(follow))
    turn.error = f"{MAX_HOPS} 回転送しても入力待ちになりません（フローを確認してください）"
    return turn


def _in_queue(url: str) -> dict[str, str]:
    """What Twilio posts to a wait URL: here the caller is always first in line, as `ivr simulate` starts."""
    return QueuePlay(1).form() if "/voice/queue/wait" in url else {}


def _instant(text: str, zone: str) -> dt.datetime:
    if not text.strip():
        return clock.now()
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        abort(400, "日時は 2026-12-31T10:00 のように指定してください")
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))


def _turn(url: str, form: dict[str, str], pressed: str) -> str:
    line = line_of(current_app)
    zone = line.bundle().flow.calendar.timezone
    at_text = request.form.get("at", "")
    instant = _instant(at_text, zone)
    if not url.startswith(line.base + "/voice"):
        abort(400, "このURLには送れません")
    with _lock:
        token = _at.set(instant)
        try:
            turn = walk(line, url, form)
        except click.ClickException as error:
            turn = Turn(error=error.format_message())
        finally:
            _at.reset(token)
    status = line.bundle().flow.calendar.status(instant.astimezone(ZoneInfo(zone)))
    return render_template(
        "console/try_turn.html",
        turn=turn,
        sid=form["CallSid"],
        at=at_text,
        when=instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M"),
        open=status.open,
        keypad=KEYPAD,
        outcomes=OUTCOMES,
        pressed=pressed,
    )


@bp.get("/try")
def try_page() -> str:
    """The keypad page."""
    now = clock.now().astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%dT%H:%M")
    return render_template("console/try.html", now=now)


@bp.post("/try/call")
def try_call() -> str:
    """A new call into the real webhooks: the greeting and the start menu."""
    return _turn(line_of(current_app).base + "/voice", {"CallSid": "CA" + secrets.token_hex(16)}, "着信")


@bp.post("/try/step")
def try_step() -> str:
    """A key, silence, or the outcome of a transfer, posted where the TwiML said."""
    sid, url = request.form.get("sid", ""), request.form.get("url", "")
    if not (sid.startswith("CA") and len(sid) == 34 and sid[2:].isalnum()):
        abort(400, "通話IDがありません。もう一度かけてください")
    form = {"CallSid": sid}
    key, outcome = request.form.get("key"), request.form.get("outcome")
    pressed = "（無音）"
    if key is not None:
        if len(key) != 1 or key not in KEYPAD:
            abort(400, "押せるのは 0-9、*、# です")
        form["Digits"] = pressed = key
    elif outcome is not None:
        if outcome not in OUTCOMES:
            abort(400, "転送の結果が正しくありません")
        form["DialCallStatus"] = pressed = outcome
    return _turn(url, form, pressed)


@functools.lru_cache(maxsize=64)
def _browser_wav(path: str, _stamp: int) -> tuple[bytes, str]:
    data = ulaw.to_pcm16(Path(path).read_bytes())
    return data, hashlib.sha256(data).hexdigest()[:32]


@bp.get("/audio/<name>")
def audio(name: str) -> Response:
    """A prompt's audio as 16-bit PCM WAV: browsers may not play the phone's μ-law."""
    loaded = get_state().loaded
    if loaded is None or name not in {entry.file for entry in loaded.bundle.audio.values()}:
        abort(404)
    path = Path(current_app.config["IVR_AUDIO"]) / name
    try:
        data, etag = _browser_wav(str(path), path.stat().st_mtime_ns)
    except (OSError, ulaw.NotMulaw):
        abort(404)
    response = Response(data, mimetype="audio/wav")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.make_conditional(request, accept_ranges=True, complete_length=len(data))
    return response
