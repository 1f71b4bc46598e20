"""A request's form and query fields with the lookups webhooks make, cheap when a field is missing."""

from __future__ import annotations

from typing import IO, Any
from urllib.parse import unquote

from flask import Flask, Request, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.formparser import FormDataParser


class Fields(ImmutableMultiDict[str, str]):
    """werkzeug's ImmutableMultiDict, whose get() of a missing field costs a dict lookup.

    MultiDict.get goes through __getitem__, which raises (and builds) a BadRequestKeyError for each
    missing field: Digits on a silence, CallDuration before the status callback, an optional header-like
    field. A webhook asks for several of those on every request.
    """

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]  # noqa: A002
        """The field's first value, or `default`; werkzeug's get when converting with `type`."""
        if type is not None:
            return super().get(key, default, type)
        values = dict.get(self, key)
        return values[0] if values else default

    def getall(self, key: str) -> list[str]:
        """Every value of a field (not a copy: read it only): what twilio's compute_signature asks for
        first. Without it, twilio's code raises and catches an AttributeError for each of ~25 fields."""
        # a MultiDict is a dict of each field's list of values underneath (dict.get: not our get above)
        values: list[str] = dict.get(self, key, [])  # type: ignore[arg-type]
        return values


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """urllib's parse_qsl(text, keep_blank_values=True) as werkzeug calls it, in one loop.

    The same pairs (tests/test_fields.py compares them on arbitrary bodies): '+' is a space, each name
    and value is percent-decoded only when it holds a '%' (unquote returns the rest as it is), empty
    fields are skipped, a field without '=' has an empty value.
    """
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = unquote(name, errors="werkzeug.url_quote")
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = unquote(value, errors="werkzeug.url_quote")
        pairs.append((name, value))
    return pairs


class FieldsParser(FormDataParser):
    """werkzeug's form parser with a leaner urlencoded loop (Twilio posts ~25 fields on every webhook)."""

    def _parse_urlencoded(
        self, stream: IO[bytes], mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> tuple[IO[bytes], MultiDict[str, Any], MultiDict[str, Any]]:
        # as werkzeug's: the stream is already limited to max_content_length; a body that is not UTF-8
        # raises ValueError here, which the parser turns into an empty form as werkzeug's does
        return stream, self.cls(parse_pairs(read_body(stream, content_length).decode())), self.cls()


def read_body(stream: IO[bytes], length: int | None) -> bytes:
    """The body's declared `length` bytes (all of the stream when it declares none).

    Behind a server that ends the input itself (granian sets wsgi.input_terminated), werkzeug limits the
    stream to MAX_CONTENT_LENGTH, and its read() reads 64 KiB buffers until a read comes back empty: two
    calls into the server and two zeroed buffers for each small webhook body. The declared length comes
    in one read; a shorter read (a client that sent less) reads on until the stream ends. A declared
    length over the limit was refused before this (413); a body without one is cut at the limit, as
    werkzeug cuts it.
    """
    if length is None:
        return stream.read()
    chunks = []
    while length > 0:
        chunk = stream.read(length)
        if not chunk:
            break
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


class TwilioRequest(Request):
    """Flask's request, with Fields for request.form and request.args, parsed by FieldsParser."""

    parameter_storage_class = Fields
    form_data_parser_class = FieldsParser


def whole_number(value: str, max_digits: int) -> int | None:
    """A count from a request field: ASCII digits only, at most `max_digits` of them; else None.

    str.isdigit() also takes a full-width ３ or a ², which int() refuses or Twilio never sends.
    """
    return int(value) if len(value) <= max_digits and value.isascii() and value.isdigit() else None


def current_request() -> TwilioRequest:
    """The request being served, itself: each attribute read through the `flask.request` proxy costs."""
    found: TwilioRequest = request._get_current_object()  # type: ignore[attr-defined]
    return found


def init_app(app: Flask) -> None:
    """Make every request of the app a TwilioRequest."""
    app.request_class = TwilioRequest
