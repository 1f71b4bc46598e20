"""Callback numbers: the national form read back to the caller, and which keyed numbers can be called."""

from __future__ import annotations

import re
from typing import Literal

Check = Literal["ok", "invalid", "service"]
# Never called back: free dial, navi dial, premium, pagers and M2M, and the short service codes.
SERVICE_PREFIXES = ("0120", "0570", "0800", "0990", "0180", "0910", "020", "0170", "0077", "0088")
SHORT_SERVICE = re.compile(r"^1\d{2,3}$")  # 110, 119, 118, 104, 117, 171, 1XY…
MOBILE = ("050", "060", "070", "080", "090")


def national(e164: str | None) -> str | None:
    """'+819012345678' → '09012345678' for a Japanese number that can be called back, else None."""
    if not e164 or not e164.startswith("+81"):
        return None
    candidate = "0" + re.sub(r"\D", "", e164[3:])
    return candidate if check(candidate) == "ok" else None


def e164(national_number: str) -> str:
    """'09012345678' → '+819012345678' (what <Dial><Number> wants)."""
    return "+81" + national_number[1:]


def check(digits: str) -> Check:
    """ok: 10–11 digits starting with 0 that reach a person; service: a number we must not call back."""
    if SHORT_SERVICE.match(digits):
        return "service"
    if not (digits.isascii() and digits.isdigit()) or not digits.startswith("0") or digits.startswith("00"):
        return "invalid"
    if digits.startswith(SERVICE_PREFIXES):
        return "service"
    if len(digits) == 11:
        return "ok" if digits.startswith(MOBILE) else "invalid"
    if len(digits) == 10:
        return "invalid" if digits.startswith(MOBILE) else "ok"
    return "invalid"
