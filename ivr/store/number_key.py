"""A caller's number as the store keeps it: masked for people, a keyed hash for counting repeat callers."""

from __future__ import annotations

import hashlib
import hmac
import re

_NOT_DIGIT = re.compile(r"\D")


def normalize(number: str) -> str:
    """Digits only, with the leading + of E.164 kept: one spelling per number."""
    if number.isascii() and (number[1:] if number[:1] == "+" else number).isdigit():
        return number  # Twilio's E.164 already is that spelling: no expression to run on every call
    digits = _NOT_DIGIT.sub("", number)
    return ("+" if number.strip().startswith("+") else "") + digits


class NumberKey:
    """IVR_NUMBER_KEY ready to hash numbers: HMAC-SHA256, equal for one caller, useless without the key."""

    def __init__(self, key: bytes) -> None:
        # the key's HMAC state, made once: copying it is cheaper than OpenSSL setting the key up again
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def hash(self, number: str) -> str:
        """The number's keyed hash (hex)."""
        keyed = self._keyed.copy()
        keyed.update(normalize(number).encode("ascii"))
        return keyed.hexdigest()
