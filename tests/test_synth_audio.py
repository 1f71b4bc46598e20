"""Phone audio from engine output: μ-law WAV format, G.711 codec, level, peaks, silences, resampling."""

from __future__ import annotations

import io
import math
import struct
import warnings
import wave

import numpy as np
import pytest

from ivr.synth.dsp import analyze, read_wav, to_telephony_wav, wav_duration
from ivr.synth.g711 import decode_ulaw, encode_ulaw
from ivr.synth.wavfile import Samples, float_to_pcm16, write_ulaw_wav

PEAK_LIMIT = 10 ** (-1 / 20)


def framed(tone: Samples, rate: int, lead: float, trail: float) -> Samples:
    """The tone with `lead` and `trail` seconds of digital silence around it."""
    return np.concatenate([np.zeros(round(lead * rate)), tone, np.zeros(round(trail * rate))])


def burst(rate: int, amp: float, *, lead: float = 0.5, trail: float = 0.8, f: float = 441.0) -> Samples:
    """A one-second sine burst with silence around it."""
    t = np.arange(rate) / rate
    return framed(amp * np.sin(2 * np.pi * f * t), rate, lead, trail)


def buzz(rate: int, amp: float) -> Samples:
    """One second of ten harmonics of 150 Hz in cosine phase: peaky like a voice (crest factor 13 dB)."""
    t = np.arange(rate) / rate
    tone = np.sum([np.cos(2 * np.pi * 150 * k * t) for k in range(1, 11)], axis=0) * amp / 10
    return framed(tone, rate, 0.5, 0.8)


def chunks(data: bytes) -> dict[bytes, bytes]:
    """The RIFF chunks of a WAV file, read independently of the code under test."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    found, pos = {}, 12
    while pos < len(data):
        cid, size = struct.unpack_from("<4sI", data, pos)
        found[cid] = data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    assert pos == len(data)
    return found


def db(x: float) -> float:
    return 20 * math.log10(x)


@pytest.mark.parametrize("rate", [48000, 24000, 8000], ids=["48k", "24k", "8k"])
def test_output_is_8k_mono_mulaw_wav_with_fact_chunk(rate: int) -> None:
    data = to_telephony_wav(burst(rate, 0.5), rate, target_db=-18)
    found = chunks(data)
    tag, channels, sample_rate, byte_rate, block, bits, cb_size = struct.unpack("<HHIIHHH", found[b"fmt "])
    assert (tag, channels, sample_rate, byte_rate, block, bits, cb_size) == (7, 1, 8000, 8000, 1, 8, 0)
    assert struct.unpack("<I", found[b"fact"])[0] == len(found[b"data"])
    # 150 ms + 1 s + 300 ms at 8000 Hz
    assert len(found[b"data"]) == 11600
    assert wav_duration(data) == pytest.approx(1.45)


@pytest.mark.parametrize("n", [0, 1, 7, 8], ids=["empty", "one", "odd", "even"])
def test_writer_pads_odd_data_and_counts_samples(n: int) -> None:
    data = write_ulaw_wav(np.full(n, 0.25), 8000)
    found = chunks(data)
    assert len(found[b"data"]) == n and struct.unpack("<I", found[b"fact"])[0] == n
    assert len(data) == 58 + n + (n & 1)
    assert wav_duration(data) == n / 8000
    assert read_wav(data)[0].tolist() == pytest.approx([0.25] * n, rel=0.04)


def test_ulaw_codec_known_values() -> None:
    codes = np.array([0x00, 0x80, 0xFF, 0x7F, 0x8F, 0x0F, 0xFE, 0x7E], dtype=np.uint8)
    assert decode_ulaw(codes).tolist() == [-32124, 32124, 0, 0, 16764, -16764, 8, -8]
    pcm = np.array([0, 32767, -32768, 16764, -16764, 8, -8, -1], dtype=np.int16)
    # -1 truncates to -1 in 14 bits, as in the reference coder, and codes as -8
    assert encode_ulaw(pcm).tolist() == [0xFF, 0x80, 0x00, 0x8F, 0x0F, 0xFE, 0x7E, 0x7E]


def test_ulaw_round_trip_within_g711_error() -> None:
    pcm = np.arange(-32124, 32125, dtype=np.int16)
    codes = encode_ulaw(pcm)
    error = np.abs(decode_ulaw(codes).astype(np.int32) - pcm)
    segment = ((~codes) >> 4) & 0x7
    # half a quantisation step of the segment (8, 16, ... 1024), plus 3 from the 14-bit truncation
    assert (error <= (4 << segment.astype(np.int32)) + 3).all()
    assert error.max() == 515


def test_ulaw_is_bit_exact_with_audioop() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # gone in Python 3.13
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    expected = np.frombuffer(audioop.lin2ulaw(pcm.tobytes(), 2), dtype=np.uint8)
    assert np.array_equal(encode_ulaw(pcm), expected)
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(
        decode_ulaw(codes), np.frombuffer(audioop.ulaw2lin(codes.tobytes(), 2), dtype="<i2")
    )


@pytest.mark.parametrize(
    ("signal", "rate", "target"),
    [
        (burst(48000, 0.003), 48000, -20.0),
        (burst(48000, 0.9), 48000, -20.0),
        (burst(24000, 0.02), 24000, -16.0),
        (burst(24000, 5.0), 24000, -16.0),
        (buzz(48000, 0.5), 48000, -12.0),
    ],
    ids=["quiet-48k", "loud-48k", "quiet-24k", "over-full-scale-24k", "peaky-needs-limiter"],
)
def test_speech_level_on_target_and_peaks_under_limit(signal: Samples, rate: int, target: float) -> None:
    data = to_telephony_wav(signal, rate, target_db=target)
    samples, out_rate = read_wav(data)
    assert out_rate == 8000
    steady = samples[round(0.4 * 8000) : round(1.0 * 8000)]  # inside the burst, away from its edges
    assert abs(db(np.sqrt(np.mean(steady**2))) - target) <= 1.0
    stats = analyze(data)
    assert abs(stats.speech_level_db - target) <= 1.0
    assert stats.peak_db <= -1.0
    assert np.abs(samples).max() <= PEAK_LIMIT


@pytest.mark.parametrize(
    ("lead", "trail", "expected_lead", "expected_trail"),
    [(0.5, 0.8, 0.15, 0.30), (2.0, 2.0, 0.15, 0.30), (0.05, 0.12, 0.05, 0.12), (0.0, 0.0, 0.0, 0.0)],
    ids=["long-silences-trimmed", "very-long-silences-trimmed", "short-silences-kept", "no-silence"],
)
def test_silences_trimmed_to_limits(
    lead: float, trail: float, expected_lead: float, expected_trail: float
) -> None:
    data = to_telephony_wav(burst(48000, 0.5, lead=lead, trail=trail), 48000, target_db=-18)
    stats = analyze(data)
    assert stats.leading_silence_s <= 0.15 and stats.trailing_silence_s <= 0.30
    assert stats.leading_silence_s == pytest.approx(expected_lead, abs=0.011)
    assert stats.trailing_silence_s == pytest.approx(expected_trail, abs=0.011)
    # the whole burst is still there: nothing of the sound was cut
    assert stats.duration_s == pytest.approx(1.0 + expected_lead + expected_trail, abs=0.021)
    assert stats.longest_pause_s == 0.0


def test_anti_alias_filter_removes_what_8k_cannot_carry() -> None:
    rate = 48000
    t = np.arange(rate) / rate
    signal = 0.4 * np.sin(2 * np.pi * 1000 * t) + 0.4 * np.sin(2 * np.pi * 6000 * t)

    def alias_db(samples: Samples) -> float:
        """Level at 2 kHz (where 6 kHz folds to at 8 kHz) relative to the 1 kHz tone."""
        part = samples[2000:6000] * np.hanning(4000)
        spectrum = np.abs(np.fft.rfft(part))
        freqs = np.fft.rfftfreq(4000, 1 / 8000)
        return db(spectrum[np.abs(freqs - 2000) < 20].max() / spectrum[np.abs(freqs - 1000) < 20].max())

    samples, _ = read_wav(to_telephony_wav(signal, rate, target_db=-18))
    assert alias_db(samples) < -40
    assert alias_db(signal[::6]) > -1  # dropping samples would fail the check above


def test_pcm_conversion_clips_instead_of_wrapping() -> None:
    values = np.array([1.5, -1.5, 1.0, -1.0, 0.5, -0.5])
    assert float_to_pcm16(values).tolist() == [32767, -32768, 32767, -32768, 16384, -16384]
    decoded, _ = read_wav(write_ulaw_wav(values, 8000))
    assert np.sign(decoded).tolist() == [1, -1, 1, -1, 1, -1]
    assert decoded[:4].tolist() == pytest.approx([32124 / 32768, -32124 / 32768] * 2)


def test_input_beyond_full_scale_comes_out_as_a_clean_sine() -> None:
    data = to_telephony_wav(burst(48000, 3.0, f=441.0), 48000, target_db=-16)
    samples, _ = read_wav(data)
    part = samples[2000:8000]
    t = np.arange(len(part)) / 8000
    basis = np.stack([np.sin(2 * np.pi * 441 * t), np.cos(2 * np.pi * 441 * t)], axis=1)
    fit = basis @ np.linalg.lstsq(basis, part, rcond=None)[0]
    assert db(np.sqrt(np.mean((part - fit) ** 2)) / np.sqrt(np.mean(part**2))) < -30


def test_read_wav_pcm16_stereo_and_duration() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.array([16384, 0, -16384, -16384, 100, 300], dtype="<i2").tobytes())
    samples, rate = read_wav(buffer.getvalue())
    assert rate == 16000
    assert samples.tolist() == [0.25, -0.5, 200 / 32768]
    assert wav_duration(buffer.getvalue()) == 3 / 16000


@pytest.mark.parametrize(
    ("signal", "kwargs", "message"),
    [
        (np.zeros(8000), {"target_db": -18}, "silent"),
        (np.array([0.1, np.nan]), {"target_db": -18}, "NaN"),
        (burst(8000, 0.5), {"target_db": -0.5}, "target_db < peak_db"),
    ],
    ids=["silence", "nan", "target-above-peak"],
)
def test_bad_input_is_a_clear_value_error(signal: Samples, kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_telephony_wav(signal, 8000, **kwargs)


def test_read_wav_rejects_non_wav() -> None:
    with pytest.raises(ValueError, match="not a WAV file"):
        read_wav(b"ID3\x04 an mp3")
