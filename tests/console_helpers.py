"""What the console's tests share: users in the app's store, a signed-in client, the CSRF token of a page."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from ivr import clock
from ivr.store import accounts
from ivr.store import extension as store

PASSWORD = "correct horse battery staple"


def add_user(app: Flask, name: str, role: str, password: str = PASSWORD) -> None:
    """A console user in the app's store."""
    with app.app_context():
        accounts.add(store.engine(), clock.now(), name, role, password)


def csrf_token(client: FlaskClient, path: str = "/console/login") -> str:
    """The CSRF token a page of the console carries."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page) or re.search(
        r'"X-CSRFToken": "([^"]+)"', page
    )
    assert found, page[:500]
    return found[1]


def log_in(client: FlaskClient, name: str, password: str = PASSWORD) -> int:
    """Post the login form with its token; the response's status (302 when it worked)."""
    token = csrf_token(client)
    response = client.post("/console/login", data={"name": name, "password": password, "csrf_token": token})
    return response.status_code


def signed_in(app: Flask, role: str = "admin", name: str | None = None) -> FlaskClient:
    """A client of a new user with this role, logged in."""
    name = name or f"{role}-user"
    add_user(app, name, role)
    client = app.test_client()
    assert log_in(client, name) == 302
    return client


def flush(app: Flask) -> None:
    """Write what the journal buffered (it is at most a second behind in service)."""
    journal = store.of(app).journal
    assert journal is not None and journal.flush()
