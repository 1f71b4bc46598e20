"""The caller's side of a simulated call: keys from a script or the keyboard, TwiML followed verb by verb."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree import ElementTree

import click

from ivr.ops.caller import Heard, Line
from ivr.ops.sound import Playback, find_player
from ivr.ops.timing import total

KEYPAD = "0123456789*#"
SILENCE = "-_"  # script tokens for "no input"
HANG_UP = "q"
MAX_REQUESTS = 500  # a flow that redirects forever must not hang the terminal


def split_keys(text: str) -> tuple[list[str], list[str]]:
    """The keys in a text ("" for no input; spaces only separate) and the characters that are no key."""
    chars = [ch for ch in text if not ch.isspace()]
    bad = sorted({ch for ch in chars if ch not in KEYPAD + SILENCE})
    return ["" if ch in SILENCE else ch for ch in chars], bad


class Script:
    """Keys given up front (`--keys "1 2 #"`); each is echoed, so the output reads as a transcript."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    @classmethod
    def parse(cls, text: str) -> Script:
        """Every character is one key; spaces only separate; - or _ is no input."""
        keys, bad = split_keys(text)
        if bad:
            raise click.BadParameter(
                f"{' '.join(bad)} cannot be pressed: use 0-9, * and #, and - for no input "
                '(e.g. --keys "1 2 - #")',
                param_hint="--keys",
            )
        return cls(keys)

    def press(self) -> str | None:
        """The next key ("" = no input), or None when the script is over."""
        if not self.keys:
            click.echo("(end of --keys; the call is still going)")
            return None
        key = self.keys.pop(0)
        click.echo(f"> {key or '-'}")
        return key


class Keyboard:
    """Keys typed in the terminal: a line of keys, Enter alone for no input, q to hang up."""

    def __init__(self) -> None:
        self.queue: list[str] = []

    def press(self) -> str | None:
        """The next key ("" = no input), or None when the caller hangs up."""
        while not self.queue:
            try:
                typed = str(click.prompt(">", default="", show_default=False, prompt_suffix=" ")).strip()
            except click.Abort:
                return None
            if typed == HANG_UP:
                return None
            keys, bad = split_keys(typed)
            if bad:
                click.echo(f"  {' '.join(bad)}: press 0-9, * or #, Enter alone for no input, q to hang up")
                continue
            self.queue = keys or [""]
            return self.queue.pop(0)
        key = self.queue.pop(0)
        click.echo(f"> {key or '-'}")
        return key


class QueuePlay:
    """Where a simulated caller is in Twilio's queue: place, seconds waited, the Enqueue action."""

    STEP_S = 30  # seconds between two requests of the wait URL

    def __init__(self, start: int) -> None:
        self.start, self.place, self.waited, self.action = start, start, 0, ""

    def enter(self, action: str, place: int) -> None:
        """Into the queue at a place."""
        self.action, self.place, self.waited = action, place, 0

    def form(self) -> dict[str, str]:
        """What Twilio posts to the wait URL now."""
        size = str(max(self.place, 1))
        return {"QueuePosition": str(self.place), "QueueTime": str(self.waited), "CurrentQueueSize": size}

    def step(self) -> None:
        """One announcement later: one place closer."""
        self.place -= 1
        self.waited += self.STEP_S


class Conversation:
    """Follows the TwiML the way Twilio does and shows what the caller hears."""

    def __init__(
        self,
        line: Line,
        keys: Script | Keyboard,
        transfer: Callable[[], str],
        *,
        sound: bool,
        queue_position: int = 0,
    ) -> None:
        self.line, self.keys, self.transfer = line, keys, transfer
        # Twilio's queue, played by us: the place given by --queue, one place closer each announcement
        self.queue = QueuePlay(queue_position)
        self.player = find_player() if sound else None
        self.heard: list[Heard] = []
        self.presses = 0

    def run(self) -> None:
        """From the incoming call to its end (hang-up, end of script, or the caller quitting)."""
        root: ElementTree.Element | None = self.line.post(self.line.base + "/voice")
        requests = 1
        while root is not None and requests < MAX_REQUESTS:
            root = self._follow(root)
            requests += 1
        if root is not None:
            click.echo(f"(stopped after {MAX_REQUESTS} requests: the flow never waits for the caller)")
        length = total([h.length for h in self.heard])
        click.echo(f"call over: {self.presses} key presses, {len(self.heard)} prompts, {length} of audio")

    def _wait(self, url: str) -> ElementTree.Element:
        """The wait URL as Twilio posts it, or, when the caller's turn came, the agent takes the call."""
        if self.queue.place <= 0:
            click.echo(f"  (an agent takes the call after {self.queue.waited} s)")
            return self.line.post(self.queue.action, QueueResult="bridged", QueueTime=str(self.queue.waited))
        form = self.queue.form()
        self.queue.step()
        return self.line.post(url, **form)

    def _hear(self, element: ElementTree.Element, pending: list[Heard]) -> None:
        heard = self.line.heard(element)
        click.echo(f"  {heard.verb} {heard.prompt} ({heard.length}): {heard.text}")
        if heard.speech:  # the reading list changed how it is said: show what the caller hears
            click.echo(f"      spoken: {heard.speech}")
        self.heard.append(heard)
        pending.append(heard)

    def _play(self, pending: list[Heard]) -> Playback:
        return Playback(self.player, [h.file for h in pending if h.file is not None and h.file.is_file()])

    def _follow(self, root: ElementTree.Element) -> ElementTree.Element | None:
        """Perform one TwiML document; the next one, or None when the call ends."""
        pending: list[Heard] = []
        for verb in root:
            if verb.tag in ("Play", "Say"):
                self._hear(verb, pending)
            elif verb.tag == "Gather":
                for child in verb:
                    if child.tag in ("Play", "Say"):
                        self._hear(child, pending)
                    else:
                        click.echo(f"  ({child.tag})")
                playback, pending = self._play(pending), []
                key = self.keys.press()
                playback.stop()
                if key is None:
                    return None
                if key:
                    self.presses += 1
                    return self.line.post(verb.get("action", ""), Digits=key)
                click.echo(f"  (no input: {verb.get('timeout', '5')} s of silence)")
            elif verb.tag == "Redirect":
                self._play(pending).wait()
                if "/voice/queue/wait" in (verb.text or ""):
                    return self._wait(verb.text or "")
                return self.line.post(verb.text or "")
            elif verb.tag == "Enqueue":
                self._play(pending).wait()
                self.queue.enter(verb.get("action", ""), self.queue.start)
                click.echo(
                    f"  (in the queue '{(verb.text or '').strip()}', place {self.queue.place or 'none'})"
                )
                return self._wait(verb.get("waitUrl", ""))
            elif verb.tag == "Leave":
                self._play(pending).wait()
                click.echo("  (leaves the queue)")
                return self.line.post(
                    self.queue.action, QueueResult="leave", QueueTime=str(self.queue.waited)
                )
            elif verb.tag == "Dial":
                self._play(pending).wait()
                target = " ".join((child.text or "").strip() for child in verb) or (verb.text or "").strip()
                click.echo(f"  dial {target} (rings up to {verb.get('timeout', '30')} s)")
                outcome = self.transfer()
                click.echo(f"  -> {outcome}")
                return self.line.post(verb.get("action", ""), DialCallStatus=outcome)
            elif verb.tag == "Hangup":
                break
            else:
                click.echo(f"  ({verb.tag})")
        self._play(pending).wait()
        click.echo("  hang up")
        return None
