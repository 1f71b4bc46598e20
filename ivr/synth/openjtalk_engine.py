"""The offline `openjtalk` engine: pyopenjtalk-plus with a bundled HTS voice (default `mei_normal`).

pyopenjtalk is imported on first use only: the web workers never load a speech engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import io
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .interface import SynthesisError, check_options, number_option, shorten, text_option
from .wavfile import Samples

if TYPE_CHECKING:
    from pyopenjtalk.htsengine import HTSEngine

DEFAULT_VOICE = "mei_normal"
CREDIT = 'HTS Voice "Mei" (mei_normal), CC BY 3.0, © Nagoya Institute of Technology'
_OPTIONS = ("voice", "speed", "half_tone")
# printed by pyopenjtalk at import when onnxruntime is missing; it only disables the reading
# guess for a lone 何 (なに/なん), and the library offers no switch to silence it
_ONNX_NOTICE = ("ONNX Runtime is not installed", "pyopenjtalk-plus[onnxruntime]")


def _package_dir() -> Path:
    spec = importlib.util.find_spec("pyopenjtalk")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SynthesisError(
            "the openjtalk engine needs pyopenjtalk-plus: run `make` or pip install '.[synth]'"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _is_voice(path: Path) -> bool:
    # the package also ships LICENSE_mei_normal.htsvoice, a text file: look at the content
    try:
        with path.open("rb") as f:
            return f.read(8) == b"[GLOBAL]"
    except OSError:
        return False


def _voice_file(voice: str) -> Path:
    """The .htsvoice file for a bundled voice name or a path to a .htsvoice file."""
    path = Path(voice) if voice.endswith(".htsvoice") else _package_dir() / "htsvoice" / f"{voice}.htsvoice"
    if not _is_voice(path):
        bundled = sorted(p.stem for p in (_package_dir() / "htsvoice").glob("*.htsvoice") if _is_voice(p))
        raise ValueError(
            f"openjtalk voice {voice!r} not found; bundled voices: {', '.join(bundled)} "
            "(or give the path of a .htsvoice file)"
        )
    return path


def _import_quietly() -> None:
    if "pyopenjtalk" in sys.modules:
        return
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        import pyopenjtalk  # noqa: F401
    for line in captured.getvalue().splitlines():
        if not any(notice in line for notice in _ONNX_NOTICE):
            print(line)


class OpenJTalkEngine:
    """pyopenjtalk-plus with an explicitly loaded HTS voice; output 48 kHz for mei_normal."""

    name = "openjtalk"

    def __init__(self, voice: str = DEFAULT_VOICE, *, speed: float = 1.0, half_tone: float = 0.0) -> None:
        self._voice_path = _voice_file(voice)
        self.voice = self._voice_path.stem
        self.speed = speed
        self.half_tone = half_tone
        self._hts: HTSEngine | None = None
        self._sha256: str | None = None
        self._lock = threading.Lock()  # one HTS engine: its speed/tone settings and synthesis go together

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> OpenJTalkEngine:
        """Build from the `voice`, `speed` (0.5-2.0) and `half_tone` (-12-12) options."""
        check_options("openjtalk", options, _OPTIONS)
        return cls(
            text_option("openjtalk", options, "voice", DEFAULT_VOICE),
            speed=number_option("openjtalk", options, "speed", 1.0, 0.5, 2.0),
            half_tone=number_option("openjtalk", options, "half_tone", 0.0, -12.0, 12.0),
        )

    @property
    def credit(self) -> str:
        """The attribution the voice licence requires (mei_normal: CC BY 3.0)."""
        return CREDIT if self.voice == DEFAULT_VOICE else f"HTS voice {self.voice}"

    def settings(self) -> dict[str, object]:
        """Engine, voice (and its file's hash), speed, half tone and the pyopenjtalk-plus version."""
        return {
            "engine": self.name,
            "voice": self.voice,
            "voice_sha256": self._voice_sha256(),
            "speed": self.speed,
            "half_tone": self.half_tone,
            # the dictionary and the reading rules ship with the package
            "pyopenjtalk_plus": importlib.metadata.version("pyopenjtalk-plus"),
        }

    def _voice_sha256(self) -> str:
        if self._sha256 is None:  # settings() is asked once per prompt: read the 0.9 MB file once
            self._sha256 = hashlib.sha256(self._voice_path.read_bytes()).hexdigest()
        return self._sha256

    def billable_characters(self, speech: str) -> int:
        """Nothing is billed: the engine runs locally."""
        return 0

    def synthesize(self, speech: str, *, prompt_id: str, rate: float = 1.0) -> tuple[Samples, int]:
        """Speak `speech` offline at `rate` x `speed`: samples in [-1, 1] at the voice's rate (48 kHz)."""
        text = speech.strip()
        if not text:
            raise SynthesisError(f"prompt {prompt_id}: nothing to say (the text is empty)")
        _import_quietly()
        import pyopenjtalk
        from pyopenjtalk.htsengine import HTSEngine

        try:
            with self._lock:
                if self._hts is None:
                    self._hts = HTSEngine(str(self._voice_path).encode())
                labels = pyopenjtalk.extract_fullcontext(text)
                # set on every call: synthesis resets the engine's speed and tone
                self._hts.set_speed(self.speed * rate)
                self._hts.add_half_tone(self.half_tone)
                wave = np.asarray(self._hts.synthesize(labels), dtype=np.float64)
                sample_rate = self._hts.get_sampling_frequency()
        except (RuntimeError, ValueError) as exc:
            raise SynthesisError(
                f"openjtalk could not speak prompt {prompt_id} ({shorten(text)}): {exc}"
            ) from exc
        peak = float(np.max(np.abs(wave))) if wave.size else 0.0
        if peak == 0.0:
            raise SynthesisError(f"openjtalk produced no sound for prompt {prompt_id} ({shorten(text)})")
        # int16 scale, but loud vowels overshoot it (up to 2.4x seen): scale down rather than
        # clip, which would flatten whole vowels; the level is set later anyway
        return wave / max(32768.0, peak), sample_rate
