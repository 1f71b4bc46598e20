"""Caller numbers never appear in clear text: every log line masks them."""

from __future__ import annotations

import logging
import re

from flask import Flask

from ivr.store.number_key import normalize

# E.164 (+81…), and national forms starting with 0 (09012345678, 090-1234-5678), as anyone might write them.
_NUMBER = re.compile(r"(?<![\w+])(\+\d[\d\- ]{6,}\d|0\d{9,10}|0\d{1,4}-\d{1,4}-\d{3,4})(?!\w)")


def mask_number(value: str | None) -> str:
    """'+819012345678' → '+81*******78': enough to tell calls apart, not enough to call back."""
    if not value:
        return "-"
    spelled = normalize(value)
    digits = spelled[1:] if spelled[:1] == "+" else spelled
    if len(digits) < 6:
        return "*" * len(digits)
    return spelled[: len(spelled) - len(digits) + 2] + "*" * (len(digits) - 4) + digits[-2:]


def scrub(text: str) -> str:
    """Mask every phone-number-like run in a text."""
    return _NUMBER.sub(lambda m: mask_number(m.group(1)), text)


# Control characters from a request escaped as \xNN: a field with a line break would forge a log line.
_CONTROLS = str.maketrans({c: f"\\x{c:02x}" for c in (*range(32), 127)})


def printable(text: str) -> str:
    """The text with its control characters escaped, for a log line built from request fields."""
    return text.translate(_CONTROLS)


class MaskingFilter(logging.Filter):
    """Rewrites each record's message with numbers masked, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask, then let the record through."""
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


def _install(filterer: logging.Filterer, masking: MaskingFilter) -> None:
    if not any(isinstance(f, MaskingFilter) for f in filterer.filters):
        filterer.addFilter(masking)


def init_app(app: Flask) -> None:
    """Put the masking filter on the app's and the root logger's handlers, once however many apps."""
    masking = MaskingFilter()
    for logger in (app.logger, logging.getLogger()):
        for handler in logger.handlers:
            _install(handler, masking)
        _install(logger, masking)
    _install(logging.getLogger("ivr"), masking)
