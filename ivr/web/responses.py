"""Responses whose body is already in memory reach the server as a list: one call to send them.

werkzeug hands every body to the server as an iterator that closes the response. A WSGI server cannot
tell that such an iterator holds one buffer, so granian steps through it from its Rust side
(`response_iter`, each step under the GIL); a list it sends in one `response_bytes` call, which serves
more requests a second at full load. Files (send_file) and generators keep werkzeug's iterator: they
are streamed, not read into memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask
from flask import Response as FlaskResponse
from werkzeug.wsgi import ClosingIterator

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class Response(FlaskResponse):
    """Flask's response; a body held in memory (a list of bytes) goes to the server as a list."""

    def get_app_iter(self, environ: WSGIEnvironment) -> Iterable[bytes]:
        """werkzeug's iterator, or the same bytes as a list when closing it would do nothing.

        Closing runs the response's close(): it closes the body when the body has a close() (a file, a
        generator) and calls what was registered with call_on_close. A list of bytes has no close(), so
        with nothing registered the list needs no closing.
        """
        found = super().get_app_iter(environ)
        if isinstance(found, ClosingIterator) and self.is_sequence and not self._on_close:
            return list(found)
        return found


def init_app(app: Flask) -> None:
    """Every response the app makes (views, errors, make_response) is one of these."""
    app.response_class = Response
