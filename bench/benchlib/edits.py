"""What ops might do to flows.yaml during calls: good edits and broken ones, saved in place or atomically."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Edit = Callable[[str], str | bytes]


def replace(old: str, new: str) -> Edit:
    """An edit that swaps one piece of text (which must be there)."""

    def apply(text: str) -> str:
        if old not in text:
            raise ValueError(f"flows.yaml has no {old!r} to edit")
        return text.replace(old, new, 1)

    return apply


def both(first: Edit, second: Edit) -> Edit:
    """Two text edits, one after the other."""

    def apply(text: str) -> str:
        middle = first(text)
        assert isinstance(middle, str)
        result = second(middle)
        assert isinstance(result, str)
        return result

    return apply


# (name, good?, edit of the original text). Good edits change what callers hear (timeouts in the TwiML,
# transfers off), so the soak's checker sees reloads happen; broken ones must change nothing.
EDITS: list[tuple[str, bool, Edit]] = [
    ("timeout 7 s", True, replace("timeout_s: 6 ", "timeout_s: 7 ")),
    ("unknown menu s9", False, replace("menu: s2}", "menu: s9}")),
    (
        "timeout 5 s, dial 20 s",
        True,
        both(replace("timeout_s: 6 ", "timeout_s: 5 "), replace("_s: 25", "_s: 20")),
    ),
    ("YAML syntax error", False, lambda t: t.replace("keys:", "keys: [", 1)),
    ("original", True, lambda t: t),
    ("empty file", False, lambda t: ""),
    ("emergency closure on", True, replace("emergency_closure: false", "emergency_closure: true")),
    ("cut in half", False, lambda t: t[: len(t) // 2]),
    ("timeout 8 s", True, replace("timeout_s: 6 ", "timeout_s: 8 ")),
    ("binary junk", False, lambda t: b"\x00\xff\xfe garbage \x80\x81" * 20),
    ("max_no_input -1", False, replace("max_no_input: 2", "max_no_input: -1")),
    ("original", True, lambda t: t),
]


@dataclass
class Editor:
    """Rewrites flows.yaml every `interval` seconds from a thread; saves alternate in place and atomic."""

    path: Path
    interval: float
    original: str = ""
    done: list[tuple[float, str, bool, str]] = field(default_factory=list)  # (time, name, good, how)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin editing."""
        self.original = self.path.read_text("utf-8")
        self._thread = threading.Thread(target=self._run, name="editor", daemon=True)
        self._thread.start()

    def _save(self, content: str | bytes, atomic: bool) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        if atomic:  # what careful tools do: a temp file renamed over the old one
            temp = self.path.with_suffix(".tmp")
            temp.write_bytes(data)
            os.replace(temp, self.path)
        else:  # what many editors do: truncate and write, so a reader may see a half-written file
            with self.path.open("wb") as out:
                out.write(data[: len(data) // 2])
                out.flush()
                time.sleep(0.005)
                out.write(data[len(data) // 2 :])

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(self.interval):
            name, good, edit = EDITS[i % len(EDITS)]
            atomic = i % 2 == 1
            self._save(edit(self.original), atomic)
            self.done.append((time.monotonic(), name, good, "atomic" if atomic else "in place"))
            i += 1

    def stop(self) -> None:
        """Stop editing and put the original back (atomically)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._save(self.original, atomic=True)
