"""What the app hands the WSGI server: a list for a body in memory, werkzeug's closing iterator otherwise."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask, send_file
from werkzeug.test import EnvironBuilder
from werkzeug.wsgi import ClosingIterator

from helpers import BASE, sign
from ivr.testing import CALL_FORM
from ivr.web.responses import Response


def served(
    app: Flask, path: str, method: str = "GET", **kwargs: object
) -> tuple[Iterable[bytes], dict[str, str]]:
    """What the app's WSGI callable returns for the request (not consumed), and its headers."""
    environ = EnvironBuilder(path=path, method=method, base_url=BASE, **kwargs).get_environ()  # type: ignore[arg-type]
    headers: dict[str, str] = {}

    def start_response(status: str, pairs: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers.update(pairs)

    body = app(environ, start_response)
    return body, headers


def test_a_webhook_answer_goes_to_the_server_as_a_list(app: Flask) -> None:
    form = dict(CALL_FORM)
    body, headers = served(
        app, "/voice", "POST", data=form, headers={"X-Twilio-Signature": sign(BASE + "/voice", form)}
    )
    assert isinstance(body, list)
    assert len(body) == 1
    assert ElementTree.fromstring(body[0]).tag == "Response"
    assert headers["Content-Length"] == str(len(body[0]))


def test_a_refused_webhook_goes_as_a_list_too(app: Flask) -> None:
    body, _ = served(app, "/voice", "POST", data=dict(CALL_FORM), headers={"X-Twilio-Signature": "forged"})
    assert body == [b"Forbidden: invalid X-Twilio-Signature\n"]


def test_a_head_request_gets_no_body(app: Flask) -> None:
    body, headers = served(app, "/healthz", "HEAD")
    assert body == []
    assert int(headers["Content-Length"]) > 0  # what GET would send


def test_an_audio_file_is_streamed_not_read_into_memory(app: Flask, files: Path) -> None:
    name = sorted((files / "audio").glob("*.wav"))[0].name
    body, headers = served(app, f"/audio/{name}")
    assert not isinstance(body, list)
    data = b"".join(body)
    getattr(body, "close", lambda: None)()
    assert data == (files / "audio" / name).read_bytes()
    assert headers["Content-Type"] == "audio/wav"


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """A request context (send_file needs one)."""
    with app.test_request_context("/"):
        yield


ENVIRON = {"REQUEST_METHOD": "GET"}


def test_a_generator_stays_lazy_and_is_closed_by_the_server() -> None:
    steps: list[str] = []

    def chunks() -> Iterator[bytes]:
        try:
            steps.append("started")
            yield b"a"
            yield b"b"
        finally:
            steps.append("closed")

    found = Response(chunks()).get_app_iter(ENVIRON)
    assert isinstance(found, ClosingIterator)
    assert steps == []
    assert next(iter(found)) == b"a"
    found.close()
    assert steps == ["started", "closed"]


def test_a_body_with_close_callbacks_keeps_the_closing_iterator() -> None:
    closed: list[bool] = []
    response = Response(b"<Response/>")
    response.call_on_close(lambda: closed.append(True))
    found = response.get_app_iter(ENVIRON)
    assert isinstance(found, ClosingIterator)
    assert b"".join(found) == b"<Response/>"
    found.close()
    assert closed == [True]


def test_a_sent_file_goes_through_as_the_file_wrapper(app: Flask, ctx: None) -> None:
    response = send_file(io.BytesIO(b"RIFF...."), mimetype="audio/wav")
    assert isinstance(response, Response)
    found = response.get_app_iter(ENVIRON)
    assert not isinstance(found, list)
    assert b"".join(found) == b"RIFF...."


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"<Response/>", [b"<Response/>"]), ("ヘルプ", ["ヘルプ".encode()]), ([b"a", b"b"], [b"a", b"b"])],
    ids=["bytes", "text", "list of chunks"],
)
def test_a_body_in_memory_is_the_same_bytes_as_a_list(body: object, expected: list[bytes]) -> None:
    found = Response(body).get_app_iter(ENVIRON)  # type: ignore[arg-type]
    assert found == expected
