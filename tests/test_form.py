"""The leaner request pieces give what werkzeug and urllib give (the size limit: test_security.py)."""

from __future__ import annotations

import io
from urllib.parse import parse_qsl

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import FormDataParser
from werkzeug.test import EnvironBuilder

from ivr.web.form import Fields, FieldsParser, TwilioRequest, parse_pairs

# What a urlencoded body is made of, with the characters that need care: separators, '+', '%' and
# broken escapes, non-ASCII text, and escapes of invalid UTF-8.
PIECES = st.sampled_from(
    ["&", "=", "+", "%", "%2", "%2B", "%zz", "%E3%81%82", "%FF", "a", "From", "あ", " ", ";"]
)
BODIES = st.lists(PIECES, max_size=30).map("".join)


@given(BODIES)
def test_pairs_are_parse_qsl_as_werkzeug_calls_it(body: str) -> None:
    assert parse_pairs(body) == parse_qsl(body, keep_blank_values=True, errors="werkzeug.url_quote")


@given(st.one_of(BODIES.map(str.encode), st.binary(max_size=60)))
def test_the_form_is_werkzeugs_form(body: bytes) -> None:
    """Any body, UTF-8 or not: the same fields (or the same empty form) as werkzeug's own parser."""
    mimetype = "application/x-www-form-urlencoded"
    ours = FieldsParser(cls=Fields).parse(io.BytesIO(body), mimetype, len(body))[1]
    theirs = FormDataParser(cls=MultiDict).parse(io.BytesIO(body), mimetype, len(body))[1]
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))


@pytest.mark.parametrize(
    ("key", "default", "expected"),
    [("Digits", None, "1"), ("Missing", None, None), ("Missing", "-", "-"), ("Empty", "x", "")],
    ids=["present", "missing", "missing-default", "present-but-empty"],
)
def test_get_is_multidict_get(key: str, default: str | None, expected: str | None) -> None:
    pairs = [("Digits", "1"), ("Digits", "2"), ("Empty", "")]
    assert Fields(pairs).get(key, default) == expected == MultiDict(pairs).get(key, default)


def test_get_with_a_type_converts_like_werkzeug() -> None:
    fields = Fields([("n", "3"), ("x", "a")])
    assert (fields.get("n", 0, type=int), fields.get("x", 0, type=int)) == (3, 0)


def test_getall_is_every_value() -> None:
    assert Fields([("a", "1"), ("a", "2")]).getall("a") == ["1", "2"]
    assert Fields().getall("a") == []


def test_the_app_parses_requests_with_them(app: Flask) -> None:
    environ = EnvironBuilder(
        method="POST", path="/voice/key", query_string="p=1&n=0", data={"Digits": "2", "From": "+8190"}
    ).get_environ()
    request = app.request_class(environ)
    assert isinstance(request, TwilioRequest)
    assert isinstance(request.form, Fields) and isinstance(request.args, Fields)
    assert (request.form.get("Digits"), request.form.get("From"), request.args.get("p")) == (
        "2",
        "+8190",
        "1",
    )


class Trickle:
    """A server's input stream that hands out at most `piece` bytes a read, then b"" (like a socket)."""

    def __init__(self, data: bytes, piece: int) -> None:
        self.data, self.piece, self.reads = data, piece, 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        n = self.piece if size < 0 else min(size, self.piece)
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


FORM_BODY = b"CallSid=CA1&From=%2B819012345678&Digits=1&SpeechResult=%E3%81%AF%E3%81%84"


def terminated(body: object, declared: int | None) -> dict[str, object]:
    """A webhook's environ as granian makes it: its own input stream, which it ends itself."""
    environ = EnvironBuilder(method="POST", path="/voice").get_environ()
    environ.update(
        {
            "wsgi.input": body,
            "wsgi.input_terminated": True,
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
        }
    )
    environ.pop("CONTENT_LENGTH", None)
    if declared is not None:
        environ["CONTENT_LENGTH"] = str(declared)
    return environ


@pytest.mark.parametrize(
    ("piece", "declared", "reads"),
    [
        (10_000, len(FORM_BODY), 1),
        (7, len(FORM_BODY), 11),
        (10_000, len(FORM_BODY) + 50, 2),
        (10_000, None, 2),
    ],
    ids=["one-read", "trickled", "shorter-than-declared", "no-length"],
)
def test_a_terminated_input_is_read_to_its_declared_length(
    app: Flask, piece: int, declared: int | None, reads: int
) -> None:
    """Behind granian: the whole form, in as few reads of the server's stream as the stream allows."""
    stream = Trickle(FORM_BODY, piece)
    with app.request_context(terminated(stream, declared)) as context:
        form = context.request.form
    assert list(form.items(multi=True)) == parse_qsl(FORM_BODY.decode(), keep_blank_values=True)
    assert stream.reads == reads


def test_a_terminated_input_without_length_is_read_no_further_than_the_limit(app: Flask) -> None:
    """A body with no Content-Length (chunked) is cut at MAX_CONTENT_LENGTH, as werkzeug cuts it."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    stream = io.BytesIO(b"Padding=" + b"x" * limit)
    with app.request_context(terminated(stream, None)) as context:
        assert len(context.request.form["Padding"]) == limit - len("Padding=")
    assert stream.tell() == limit
