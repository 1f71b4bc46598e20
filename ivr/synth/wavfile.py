"""WAV (RIFF) reading and μ-law WAV writing, with float samples in [-1, 1] (1.0 = 32768 in 16-bit)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from .g711 import decode_ulaw, encode_ulaw

Samples: TypeAlias = npt.NDArray[np.float64]

WAVE_FORMAT_PCM = 1
WAVE_FORMAT_MULAW = 7
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


@dataclass(frozen=True)
class WavInfo:
    """What the `fmt ` chunk says, plus the size of the `data` chunk."""

    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    block_align: int
    data_bytes: int

    @property
    def frames(self) -> int:
        """Number of sample frames (one sample per channel each)."""
        return self.data_bytes // self.block_align if self.block_align else 0

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def parse_wav(data: bytes) -> tuple[WavInfo, bytes]:
    """Split a RIFF/WAVE file into its format and its sample bytes; ValueError if it is not one."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file (no RIFF/WAVE header)")
    fmt: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
            if fmt is None or len(fmt) < 16:
                raise ValueError("WAV file has no valid 'fmt ' chunk before its 'data' chunk")
            # streaming encoders may leave the size at 0 or 0xFFFFFFFF: take what is there
            if size in (0, 0xFFFFFFFF):
                body = data[pos + 8 :]
            return _info(fmt, len(body)), body
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    raise ValueError("WAV file has no 'data' chunk")


def _info(fmt: bytes, data_bytes: int) -> WavInfo:
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]  # first two bytes of the SubFormat GUID
    if channels < 1 or rate < 1 or block_align < 1:
        raise ValueError(f"WAV header is broken (channels={channels}, rate={rate}, block={block_align})")
    return WavInfo(tag, channels, rate, bits, block_align, data_bytes - data_bytes % block_align)


def read_wav(data: bytes) -> tuple[Samples, int]:
    """Decode a 16-bit PCM or μ-law WAV file to mono float samples in [-1, 1] and the sample rate."""
    info, body = parse_wav(data)
    body = body[: info.data_bytes]
    if info.format_tag == WAVE_FORMAT_PCM and info.bits_per_sample == 16:
        pcm = np.frombuffer(body, dtype="<i2")
    elif info.format_tag == WAVE_FORMAT_MULAW and info.bits_per_sample == 8:
        pcm = decode_ulaw(np.frombuffer(body, dtype=np.uint8))
    else:
        raise ValueError(
            f"unsupported WAV encoding (format tag {info.format_tag}, {info.bits_per_sample} bits); "
            "expected 16-bit PCM or 8-bit μ-law"
        )
    samples = pcm.astype(np.float64) / 32768.0
    if info.channels > 1:
        samples = samples.reshape(-1, info.channels).mean(axis=1)
    return samples, info.sample_rate


def wav_duration(data: bytes) -> float:
    """Duration of a WAV file in seconds, from its header and data size."""
    return parse_wav(data)[0].duration_s


def float_to_pcm16(samples: Samples) -> npt.NDArray[np.int16]:
    """Convert float samples to 16-bit PCM, clipping to [-1, 1] first so loud samples never wrap around."""
    scaled = np.round(np.clip(samples, -1.0, 1.0) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def write_ulaw_wav(samples: Samples, rate: int) -> bytes:
    """Encode mono float samples as a G.711 μ-law WAV file (format tag 7, with the `fact` chunk)."""
    codes = encode_ulaw(float_to_pcm16(samples)).tobytes()
    n = len(codes)
    # non-PCM formats need cbSize in 'fmt ' and a 'fact' chunk holding the sample count
    fmt = struct.pack("<HHIIHHH", WAVE_FORMAT_MULAW, 1, rate, rate, 1, 8, 0)
    fact = struct.pack("<I", n)
    pad = b"\0" if n & 1 else b""
    chunks = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"fact" + struct.pack("<I", len(fact)) + fact
        + b"data" + struct.pack("<I", n) + codes + pad
    )  # fmt: skip
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks
