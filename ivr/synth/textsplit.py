"""Split a long text into pieces of at most N UTF-8 bytes, at sentence ends where possible."""

from __future__ import annotations

import re

# split after the mark, keeping it with its sentence / clause
_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])")
_CLAUSE_END = re.compile(r"(?<=[、，,])")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(text: str, max_bytes: int) -> list[str]:
    """Pieces of at most `max_bytes` bytes, cut after 。！？ or a newline, else after 、, else anywhere."""
    if max_bytes < 4:
        raise ValueError("max_bytes must leave room for one character (4 bytes)")
    text = text.strip()
    if _size(text) <= max_bytes:
        return [text] if text else []
    units: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if _size(sentence) <= max_bytes:
            units.append(sentence)
            continue
        for clause in _CLAUSE_END.split(sentence):
            units.extend([clause] if _size(clause) <= max_bytes else _hard_split(clause, max_bytes))
    return _pack(units, max_bytes)


def _hard_split(text: str, max_bytes: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for char in text:  # whole characters: a multi-byte character is never cut
        if _size(current + char) > max_bytes:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current]


def _pack(units: list[str], max_bytes: int) -> list[str]:
    """Join consecutive units greedily while they fit, so there are as few requests as possible."""
    chunks: list[str] = []
    current = ""
    for unit in units:
        if current and _size(current + unit) > max_bytes:
            chunks.append(current)
            current = ""
        current += unit
    chunks.append(current)
    return [chunk.strip() for chunk in chunks if chunk.strip()]
