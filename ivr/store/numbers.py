"""A caller's number as the store keeps it: masked for people, a keyed hash for counting repeat callers."""

from __future__ import annotations

import hashlib
import hmac
import re


def normalize(number: str) -> str:
    """Digits only, with the leading + of E.164 kept: one spelling per number."""
    digits = re.sub(r"\D", "", number)
    return ("+" if number.strip().startswith("+") else "") + digits


def number_hash(key: bytes, number: str) -> str:
    """HMAC-SHA256 of the number: equal for the same caller, useless without the key."""
    return hmac.new(key, normalize(number).encode("ascii"), hashlib.sha256).hexdigest()
