"""Speech synthesis for the prompts (ops side only): engines and the 8 kHz μ-law phone audio.

Nothing here imports pyopenjtalk or google.cloud at import time; the engines load them on first use.
The `openjtalk` voice mei_normal is CC BY 3.0 © Nagoya Institute of Technology and must be credited.
"""

from __future__ import annotations

from .dsp import AudioStats, analyze, read_wav, to_telephony_wav, wav_duration
from .engines import make_engine
from .interface import Engine, SynthesisError

__all__ = [
    "AudioStats",
    "Engine",
    "SynthesisError",
    "analyze",
    "make_engine",
    "read_wav",
    "to_telephony_wav",
    "wav_duration",
]
