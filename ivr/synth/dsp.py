"""Turn engine output into phone audio: 8000 Hz mono G.711 μ-law WAV at an even speech level.

Input samples are float, nominally in [-1, 1] (1.0 = full scale); any scale is accepted since the
level is normalised. The steps: resample to 8000 Hz with soxr's very-high-quality anti-alias filter
(never by dropping samples), trim silence at the ends to at most `max_lead_s` / `max_trail_s`
(the rest is kept so onsets survive), set the gain so the speech level (see `levels`: a simplified
ITU-T P.56 active speech level over 20 ms frames) is `target_db` dBFS, let a soft look-ahead
limiter hold the few peaks that would go above `peak_db`, clip to [-1, 1] and μ-law encode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import soxr

from . import dynamics, levels
from .g711 import MAX_ERROR_16BIT
from .wavfile import Samples, parse_wav, read_wav, wav_duration, write_ulaw_wav

__all__ = ["AudioStats", "analyze", "read_wav", "to_telephony_wav", "wav_duration"]

PHONE_RATE = 8000
_FADE_S = 0.005
_LEVEL_TOLERANCE_DB = 0.05
_MAX_PASSES = 12
# μ-law decoding may land up to MAX_ERROR_16BIT above the input: limit that much lower
_ULAW_MARGIN = (MAX_ERROR_16BIT + 1) / 32768.0


@dataclass(frozen=True)
class AudioStats:
    """Facts about a WAV file; levels in dBFS (-inf for silence), times in seconds."""

    sample_rate: int
    channels: int
    format_tag: int
    bits_per_sample: int
    duration_s: float
    speech_level_db: float
    peak_db: float
    leading_silence_s: float
    trailing_silence_s: float
    longest_pause_s: float


def analyze(data: bytes) -> AudioStats:
    """Measure a WAV file (16-bit PCM or μ-law): format, duration, speech level, peak and silences."""
    info, _ = parse_wav(data)
    samples, rate = read_wav(data)
    lead, trail, pause = levels.silences(samples, rate)
    return AudioStats(
        sample_rate=info.sample_rate,
        channels=info.channels,
        format_tag=info.format_tag,
        bits_per_sample=info.bits_per_sample,
        duration_s=info.duration_s,
        speech_level_db=levels.speech_level_db(samples, rate),
        peak_db=levels.peak_db(samples),
        leading_silence_s=lead,
        trailing_silence_s=trail,
        longest_pause_s=pause,
    )


def to_telephony_wav(
    samples: Samples,
    rate: int,
    *,
    target_db: float,
    peak_db: float = -1.0,
    max_lead_s: float = 0.15,
    max_trail_s: float = 0.30,
) -> bytes:
    """Resample, trim, level and μ-law encode float samples into an 8000 Hz mono G.711 WAV file."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1 or rate <= 0:
        raise ValueError(f"expected mono samples and a positive rate, got shape {x.shape} at {rate} Hz")
    if not np.isfinite(x).all():
        raise ValueError("samples contain NaN or infinity")
    if not peak_db <= 0.0 or not target_db < peak_db:
        raise ValueError(f"need target_db < peak_db <= 0, got target_db={target_db}, peak_db={peak_db}")
    if max_lead_s < 0 or max_trail_s < 0:
        raise ValueError("max_lead_s and max_trail_s cannot be negative")
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0:
        raise ValueError("the audio is silent")
    # scale before resampling so what the filter removes stays as small as it really is
    x = resample(x / peak, rate)
    x = trim(x, max_lead_s, max_trail_s)
    fade = min(len(x) // 2, round(PHONE_RATE * _FADE_S))
    ramp = np.linspace(0.0, 1.0, fade, endpoint=False)
    x[:fade] *= ramp
    x[len(x) - fade :] *= ramp[::-1]
    return write_ulaw_wav(_set_level(x, target_db, peak_db), PHONE_RATE)


def resample(x: Samples, rate: int) -> Samples:
    """To the phone rate through soxr's very-high-quality anti-alias filter."""
    if rate == PHONE_RATE:
        return x.copy()
    return np.asarray(soxr.resample(x, rate, PHONE_RATE, quality="VHQ"), dtype=np.float64)


def trim(x: Samples, max_lead_s: float, max_trail_s: float) -> Samples:
    """Cut leading and trailing silence down to at most the given seconds (whole analysis frames)."""
    sound = levels.sound_frames(x, PHONE_RATE)
    if not sound.any():
        raise ValueError("the audio holds no sound above the silence gate")
    hop = round(PHONE_RATE * levels.SILENCE_FRAME_S)
    # whole frames only: the cut stays on the analysis grid, so `analyze` finds the same edges
    keep_lead = int(max_lead_s / levels.SILENCE_FRAME_S + 1e-9)
    keep_trail = int(max_trail_s / levels.SILENCE_FRAME_S + 1e-9)
    idx = np.flatnonzero(sound)
    start = max(0, int(idx[0]) - keep_lead) * hop
    end = min(len(x), (int(idx[-1]) + 1 + keep_trail) * hop)
    return x[start:end].copy()


def _set_level(x: Samples, target_db: float, peak_db: float) -> Samples:
    ceiling = 10.0 ** (peak_db / 20.0) - _ULAW_MARGIN
    shapers: list[Callable[[Samples], Samples]] = [
        lambda s: dynamics.limit_peaks(s, PHONE_RATE, ceiling),  # clean: rides the gain down
        lambda s: dynamics.soft_clip(s, ceiling),  # when riding cannot lift the level any more
    ]
    for shape in shapers:
        gain_db = target_db - levels.speech_level_db(x, PHONE_RATE)
        last_error = float("inf")
        for _ in range(_MAX_PASSES):
            y = shape(x * 10.0 ** (gain_db / 20.0))
            error = target_db - levels.speech_level_db(y, PHONE_RATE)
            if abs(error) <= _LEVEL_TOLERANCE_DB:
                return y
            if abs(error) > 0.9 * abs(last_error):
                break  # more gain only meets more limiting
            last_error = error
            gain_db += error
    raise ValueError(f"cannot reach a speech level of {target_db} dBFS with peaks under {peak_db} dBFS")
