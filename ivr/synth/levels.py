"""Speech level and silence detection for float samples in [-1, 1].

Speech level (a simplified ITU-T P.56 active speech level): cut the signal into 20 ms frames and
take each frame's mean power in dBFS (0 dBFS = a constant at full scale 1.0, so a full-scale sine
is -3 dBFS, as with P.56's dBov). The reference is the 95th percentile of the frames above
-70 dBFS ("the loudest frames"); the active frames are those above max(-70, reference - 30) dBFS;
the speech level is the mean power of the active frames in dBFS. Pauses therefore do not lower it.

Silence (for trimming and for the leading/trailing/pause figures): 10 ms frames whose level is
below max(-60 dBFS, reference - 40 dB). The lower gate than for the level keeps soft onsets such
as breathy /h/ or /s/ from being counted, and later cut, as silence.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .wavfile import Samples

LEVEL_FRAME_S = 0.020
SILENCE_FRAME_S = 0.010
_ABS_FLOOR_DB = -70.0
_ACTIVE_GATE_DB = 30.0
_SILENCE_FLOOR_DB = -60.0
_SILENCE_GATE_DB = 40.0


def _frame_db(samples: Samples, rate: int, frame_s: float) -> npt.NDArray[np.float64]:
    """Mean power of consecutive frames in dBFS; a last partial frame counts over its own length."""
    hop = max(1, round(rate * frame_s))
    n = -(-len(samples) // hop)
    padded = np.zeros(n * hop)
    padded[: len(samples)] = samples
    power = (padded.reshape(n, hop) ** 2).sum(axis=1)
    power /= np.minimum(hop, len(samples) - np.arange(n) * hop)
    with np.errstate(divide="ignore"):
        return np.asarray(10.0 * np.log10(power), dtype=np.float64)


def _reference_db(samples: Samples, rate: int) -> float | None:
    levels = _frame_db(samples, rate, LEVEL_FRAME_S)
    audible = levels[levels > _ABS_FLOOR_DB]
    return float(np.percentile(audible, 95)) if audible.size else None


def speech_level_db(samples: Samples, rate: int) -> float:
    """Active speech level in dBFS as defined in the module docstring; -inf for silence."""
    ref = _reference_db(samples, rate)
    if ref is None:
        return float("-inf")
    levels = _frame_db(samples, rate, LEVEL_FRAME_S)
    active = levels[levels > max(_ABS_FLOOR_DB, ref - _ACTIVE_GATE_DB)]
    return float(10.0 * np.log10(np.mean(10.0 ** (active / 10.0))))


def peak_db(samples: Samples) -> float:
    """Largest absolute sample in dBFS; -inf for silence or no samples."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return 20.0 * float(np.log10(peak)) if peak > 0 else float("-inf")


def sound_frames(samples: Samples, rate: int) -> npt.NDArray[np.bool_]:
    """Which 10 ms frames hold sound rather than silence (see the module docstring)."""
    levels = _frame_db(samples, rate, SILENCE_FRAME_S)
    ref = _reference_db(samples, rate)
    if ref is None:
        return np.zeros(len(levels), dtype=bool)
    return levels > max(_SILENCE_FLOOR_DB, ref - _SILENCE_GATE_DB)


def silences(samples: Samples, rate: int) -> tuple[float, float, float]:
    """Leading silence, trailing silence and longest pause inside the sound, in seconds."""
    sound = sound_frames(samples, rate)
    duration = len(samples) / rate
    if not sound.any():
        return duration, duration, 0.0
    idx = np.flatnonzero(sound)
    gaps = np.diff(idx) - 1
    longest = int(gaps.max()) if gaps.size else 0
    hop = max(1, round(rate * SILENCE_FRAME_S))
    end = min(len(samples), (int(idx[-1]) + 1) * hop)
    return int(idx[0]) * hop / rate, (len(samples) - end) / rate, longest * hop / rate
