"""A caller's number as the store and the logs keep it: one spelling, its mask, its keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.privacy import mask_number
from ivr.store.number_key import NumberKey, normalize

NUMBERS = st.one_of(
    st.text(),  # anything a form field may hold
    st.from_regex(r"\A\+?[0-9]{0,15}\Z"),  # what Twilio sends: the shortcut's shape
    st.from_regex(r"\A[ +]?[0-9０-９\- ()]{0,16}\Z"),  # written by people: spaces, dashes, wide digits
)


def by_definition(number: str) -> str:
    """normalize() as its docstring defines it: every digit, the leading + kept."""
    return ("+" if number.strip().startswith("+") else "") + re.sub(r"\D", "", number)


@given(NUMBERS)
def test_one_spelling_whatever_the_path_taken(number: str) -> None:
    assert normalize(number) == by_definition(number)


@given(NUMBERS.filter(bool))
def test_the_mask_keeps_the_first_two_and_last_two_digits_only(number: str) -> None:
    digits = re.sub(r"\D", "", number)
    plus = "+" if number.strip().startswith("+") else ""
    expected = (
        "*" * len(digits) if len(digits) < 6 else plus + digits[:2] + "*" * (len(digits) - 4) + digits[-2:]
    )
    assert mask_number(number) == expected


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+819012345678", "+81********78"), ("090-1234-5678", "09*******78"), ("12345", "*****"), ("", "-")],
    ids=["e164", "national-dashes", "short", "empty"],
)
def test_masks_as_the_call_log_shows_them(number: str, masked: str) -> None:
    assert mask_number(number) == masked


def test_the_keyed_hash_is_hmac_sha256_of_the_spelling_and_does_not_change_with_use() -> None:
    key = NumberKey(b"k" * 32)
    expected = hmac.new(b"k" * 32, b"+819012345678", hashlib.sha256).hexdigest()
    assert [key.hash("+819012345678"), key.hash("+81 90-1234-5678"), key.hash("+819012345678")] == [
        expected
    ] * 3
    assert key.hash("+819012345679") != expected
    assert NumberKey(b"k" * 32).hash("+819012345678") == expected
    assert NumberKey(b"other").hash("+819012345678") != expected
