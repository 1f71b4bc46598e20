"""`flask --app app ivr user …`: the console's users on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask

from console_helpers import PASSWORD
from helpers import FixedClock, make_app
from ivr.store import accounts, tables
from ivr.store import extension as store


@pytest.fixture
def store_app(files: Path, clock: FixedClock, migrated_url: str) -> Flask:
    return make_app(files, clock, serving=False, DATABASE_URL=migrated_url)


def ivr(app: Flask, *args: str, stdin: str = "") -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["ivr", "user", *args], input=stdin)
    return result.exit_code, result.output


def test_add_list_passwd_remove(store_app: Flask, clock: FixedClock) -> None:
    assert ivr(store_app, "add", "sato.h", "--role", "admin", stdin=PASSWORD + "\n") == (
        0,
        "added sato.h (admin)\n",
    )
    assert ivr(store_app, "add", "kato", "--role", "viewer", stdin=PASSWORD + "\n")[0] == 0
    code, out = ivr(store_app, "list")
    assert code == 0 and out.splitlines()[0].split() == ["kato", "viewer", "never", "logged", "in"]
    with store_app.app_context():
        engine = store.engine()
        for _ in range(accounts.MAX_FAILURES):
            accounts.authenticate(engine, clock.instant, "kato", "wrong wrong wrong")
        assert accounts.authenticate(engine, clock.instant, "kato", PASSWORD) == (None, "locked")
    assert "locked until" in ivr(store_app, "list")[1]
    assert ivr(store_app, "passwd", "kato", "--role", "agent", stdin="another long password\n")[0] == 0
    with store_app.app_context():
        user, outcome = accounts.authenticate(store.engine(), clock.instant, "kato", "another long password")
        assert outcome == "ok" and user is not None and user.role == "agent"
        stored = store.engine().connect().execute(tables.users.select()).all()
        assert all(row.password_hash.startswith("$argon2id$") for row in stored)
        assert all(PASSWORD not in row.password_hash for row in stored)
    assert ivr(store_app, "remove", "kato") == (0, "removed kato\n")
    assert "kato" not in ivr(store_app, "list")[1]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "sato", "--role", "boss"), PASSWORD, "'boss' is not one of 'viewer', 'agent', 'admin'"),
        (("add", "sato"), PASSWORD, "Missing option '--role'"),
        (("add", "佐藤 さん", "--role", "viewer"), PASSWORD, "use 1-64 letters, digits"),
        (("add", "sato", "--role", "viewer"), "short", "at least 12 characters"),
        (("add", "sato", "--role", "viewer"), "", "no password on standard input"),
        (("add", "taken", "--role", "viewer"), PASSWORD, "exists already"),
        (("passwd", "nobody"), PASSWORD, "there is no user 'nobody'"),
        (("remove", "nobody"), "", "there is no user 'nobody'"),
    ],
    ids=[
        "bad-role",
        "no-role",
        "bad-name",
        "short-password",
        "no-password",
        "taken",
        "passwd-unknown",
        "remove-unknown",
    ],
)
def test_bad_input_says_the_fix(store_app: Flask, args: tuple[str, ...], stdin: str, message: str) -> None:
    ivr(store_app, "add", "taken", "--role", "viewer", stdin=PASSWORD + "\n")
    code, out = ivr(store_app, *args, stdin=stdin + "\n" if stdin else "")
    assert code == 2 and message in out


def test_a_database_not_migrated_names_the_command(files: Path, clock: FixedClock, tmp_path: Path) -> None:
    app = make_app(files, clock, serving=False, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    code, out = ivr(app, "list")
    assert code == 1 and "ivr db upgrade" in out


def test_the_lock_lifts_by_itself(store_app: Flask, clock: FixedClock) -> None:
    ivr(store_app, "add", "kato", "--role", "viewer", stdin=PASSWORD + "\n")
    with store_app.app_context():
        engine = store.engine()
        for _ in range(accounts.MAX_FAILURES):
            accounts.authenticate(engine, clock.instant, "kato", "wrong wrong wrong")
        later = clock.instant + accounts.LOCK_FOR - dt.timedelta(seconds=1)
        assert accounts.authenticate(engine, later, "kato", PASSWORD)[1] == "locked"
        assert accounts.authenticate(engine, later + dt.timedelta(seconds=2), "kato", PASSWORD)[1] == "ok"
