"""Audio on the speakers for `ivr simulate`, stopped by a key press like a caller's barge-in."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

# Tried in this order; each plays one file given as the last argument and exits when done.
PLAYERS = (
    ("aplay", ("-q",)),
    ("paplay", ()),
    ("afplay", ()),
    ("ffplay", ("-nodisp", "-autoexit", "-loglevel", "quiet")),
)


def find_player() -> list[str] | None:
    """The command line of the first audio player on the PATH, or None."""
    for name, args in PLAYERS:
        program = shutil.which(name)
        if program:
            return [program, *args]
    return None


class Playback:
    """Plays files one after another in the background until they end or `stop()` is called."""

    def __init__(self, player: list[str] | None, files: list[Path]) -> None:
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, args=(player, files), daemon=True)
        if player and files:
            self._thread.start()

    def _run(self, player: list[str], files: list[Path]) -> None:
        for file in files:
            with self._lock:
                if self._stopped.is_set():
                    return
                self._process = subprocess.Popen(
                    [*player, str(file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            self._process.wait()

    def stop(self) -> None:
        """Cut the audio now (the caller pressed a key)."""
        self._stopped.set()
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()
        self.wait()

    def wait(self) -> None:
        """Let the audio play to its end."""
        if self._thread.is_alive():
            self._thread.join()
