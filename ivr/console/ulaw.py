"""G.711 μ-law WAV → 16-bit PCM WAV for browsers, in pure Python (web workers never import numpy)."""

from __future__ import annotations

import struct

MULAW = 7  # WAVE_FORMAT_MULAW
PCM = 1


def _decode(code: int) -> int:
    # The classic Sun / CPython audioop.ulaw2lin: all bits inverted, sign, 3-bit segment, 4-bit mantissa.
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - magnitude if code & 0x80 else magnitude - 0x84


TABLE = tuple(_decode(code) for code in range(256))  # μ-law byte → 16-bit sample
_LOW = bytes(sample & 0xFF for sample in TABLE)  # each sample's little-endian bytes, for bytes.translate
_HIGH = bytes((sample >> 8) & 0xFF for sample in TABLE)


class NotMulaw(ValueError):
    """The file is not a mono μ-law WAV."""


def chunks(data: bytes) -> dict[bytes, bytes]:
    """The RIFF/WAVE file's chunks by id (the first of each)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise NotMulaw("not a RIFF/WAVE file")
    found: dict[bytes, bytes] = {}
    at = 12
    while at + 8 <= len(data):
        ident, size = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        found.setdefault(ident, data[at + 8 : at + 8 + size])
        at += 8 + size + (size & 1)
    return found


def to_pcm16(data: bytes) -> bytes:
    """A mono μ-law WAV as a 16-bit PCM WAV at the same rate (a PCM WAV comes back unchanged)."""
    parts = chunks(data)
    fmt, samples = parts.get(b"fmt "), parts.get(b"data")
    if fmt is None or samples is None or len(fmt) < 16:
        raise NotMulaw("no fmt or data chunk")
    tag, channels, rate = struct.unpack_from("<HHI", fmt)
    if tag == PCM:
        return data
    if tag != MULAW or channels != 1:
        raise NotMulaw(f"format {tag} with {channels} channels; expected mono μ-law (7)")
    pcm = bytearray(2 * len(samples))
    pcm[0::2] = samples.translate(_LOW)
    pcm[1::2] = samples.translate(_HIGH)
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        PCM,
        1,
        rate,
        rate * 2,
        2,
        16,
        b"data",
        len(pcm),
    )
    return header + bytes(pcm)
