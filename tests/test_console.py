"""The console behind its login: pages, roles, lockout, CSRF, the figures, the map and the softphone."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient

from console_helpers import PASSWORD, add_user, csrf_token, flush, log_in, signed_in
from helpers import CLOSED_INSTANT, FixedClock, edit, make_app, parse, twilio_for
from ivr import clock
from ivr.config import StartRefused
from ivr.console import panels, ulaw
from ivr.console.panels import Panel
from ivr.ops.db import csv_rows
from ivr.store import accounts, report
from ivr.store import engine as engines
from ivr.store import extension as store
from ivr.store.tables import audit

PAGES = [
    "/console/",
    "/console/now/live",
    "/console/figures",
    "/console/figures.csv",
    "/console/map",
    "/console/flow",
    "/console/try",
    "/console/users",
    "/console/callbacks",
    "/console/audio/x.wav",
]


def audit_actions(app: Flask) -> list[tuple[str, str]]:
    with app.app_context(), store.engine().connect() as connection:
        return [(row.who, row.action) for row in connection.execute(audit.select().order_by(audit.c.id))]


@pytest.mark.parametrize("path", PAGES, ids=PAGES)
def test_nothing_of_the_console_without_a_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=")


def test_a_live_panel_after_the_session_ended_sends_the_page_to_login(client: FlaskClient) -> None:
    response = client.get("/console/now/live", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/console/login"


def test_twilio_webhooks_are_not_behind_the_login(app: Flask, client: FlaskClient) -> None:
    assert parse(twilio_for(client).post("/voice")).find("Gather") is not None
    assert client.get("/healthz").status_code == 200
    assert client.post("/voice", data={"CallSid": "CA1"}).status_code == 403  # the signature still guards it


def test_login_sets_a_hardened_session_cookie_and_opens_every_page(app: Flask) -> None:
    add_user(app, "sato", "admin")
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/console/login", data={"name": "sato", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/console"} <= {p.strip() for p in cookie.split(";")}
    for path in PAGES[:-1]:
        assert client.get(path).status_code == 200, path
    assert ("sato", "login") in audit_actions(app)
    page = client.get("/console/")
    assert "sato" in page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_a_wrong_password_is_refused_and_journaled(app: Flask) -> None:
    add_user(app, "sato", "viewer")
    client = app.test_client()
    assert log_in(client, "sato", "not the password") == 401
    assert log_in(client, "nobody", PASSWORD) == 401
    assert client.get("/console/").status_code == 302
    assert audit_actions(app)[-2:] == [("sato", "login-failed"), ("(unknown)", "login-failed")]


def test_five_wrong_passwords_lock_the_account_for_a_while(app: Flask, clock: FixedClock) -> None:
    add_user(app, "sato", "viewer")
    client = app.test_client()
    for _ in range(accounts.MAX_FAILURES):
        assert log_in(client, "sato", "guess guess guess") == 401
    page = client.post(
        "/console/login", data={"name": "sato", "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert page.status_code == 401 and "ロックされています" in page.get_data(as_text=True)
    assert ("sato", "locked") in audit_actions(app)
    clock.instant += accounts.LOCK_FOR + dt.timedelta(seconds=1)
    assert log_in(client, "sato") == 302


def test_wrong_passwords_in_a_row_only_count_until_a_right_one(app: Flask) -> None:
    add_user(app, "sato", "viewer")
    client = app.test_client()
    for _ in range(accounts.MAX_FAILURES - 1):
        log_in(client, "sato", "guess guess guess")
    assert log_in(client, "sato") == 302
    other = app.test_client()
    for _ in range(accounts.MAX_FAILURES - 1):
        log_in(other, "sato", "guess guess guess")
    assert log_in(other, "sato") == 302


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/console/login", {"name": "sato", "password": PASSWORD}),
        ("/console/try/call", {}),
        ("/console/logout", {}),
    ],
    ids=["login", "try-call", "logout"],
)
def test_a_form_without_its_csrf_token_is_refused(app: Flask, path: str, form: dict[str, str]) -> None:
    client = signed_in(app, "viewer", name="sato")
    response = client.post(path, data=form)
    assert response.status_code == 400
    assert "有効期限" in response.get_data(as_text=True)
    forged = client.post(path, data=form, headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 400


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("agent", 403), ("admin", 200)], ids=str)
def test_only_admins_see_users_and_the_audit(app: Flask, role: str, status: int) -> None:
    client = signed_in(app, role)
    assert client.get("/console/users").status_code == status
    assert ("利用者</a>" in client.get("/console/").get_data(as_text=True)) is (status == 200)


def test_a_removed_user_is_signed_out_at_the_next_request(app: Flask) -> None:
    client = signed_in(app, "viewer", name="sato")
    with app.app_context():
        accounts.remove(store.engine(), clock.now(), "sato")
    assert client.get("/console/").status_code == 302


def test_serving_needs_a_secret_key_outside_development(files: Path, clock: FixedClock) -> None:
    with pytest.raises(StartRefused, match="SECRET_KEY is not set"):
        make_app(files, clock, SECRET_KEY=None)
    assert make_app(files, clock, SECRET_KEY=None, IVR_DEV=True).config["SECRET_KEY"]
    assert make_app(files, clock, SECRET_KEY=None, serving=False).config["SECRET_KEY"] is None


def call(app: Flask, client: FlaskClient, sid: str, keys: list[str], caller: str = "+819011112222") -> None:
    """A signed call through the webhooks: the keys pressed at each position in turn."""
    twilio = twilio_for(client)
    twilio.form.update(CallSid=sid, From=caller)
    twilio.post("/voice")
    path = ""
    for key in keys:
        twilio.post(f"/voice/key?p={path}", Digits=key)
        path += key


def test_the_now_page_shows_calls_in_progress_masked_until_they_end(app: Flask) -> None:
    viewer = signed_in(app, "viewer")
    webhooks = app.test_client()
    call(app, webhooks, "CA" + "1" * 32, ["1"])
    flush(app)
    live = viewer.get("/console/now/live").get_data(as_text=True)
    assert "…111111" in live and "+81********22" in live and "s1" in live
    assert "+819011112222" not in live and "09011112222" not in live
    assert "いま待っている方はいません" in live and "未接続" not in live
    twilio = twilio_for(webhooks)
    twilio.form.update(CallSid="CA" + "1" * 32)
    twilio.post("/voice/status", CallStatus="completed", CallDuration="42")
    flush(app)
    assert "…111111" not in viewer.get("/console/now/live").get_data(as_text=True)


def test_a_provider_fills_a_panel_and_roles_decide_who_sees_it(app: Flask) -> None:
    def queue(_engine: object, _now: dt.datetime) -> Panel:
        return Panel("待ち行列", headline="2人待ち・最長 1分05秒", columns=("順番",), rows=(("1",), ("2",)))

    def callbacks(_engine: object, _now: dt.datetime) -> Panel:
        return Panel("折り返し待ち", headline="折り返し 3件", role="agent")

    panels.register(app, "queue", queue)
    panels.register(app, "callbacks", callbacks)
    with pytest.raises(KeyError, match="no panel 'queues'"):
        panels.register(app, "queues", queue)
    viewer = signed_in(app, "viewer").get("/console/now/live").get_data(as_text=True)
    agent = signed_in(app, "agent").get("/console/now/live").get_data(as_text=True)
    assert "2人待ち・最長 1分05秒" in viewer and "2人待ち・最長 1分05秒" in agent
    assert "折り返し 3件" not in viewer and "折り返し 3件" in agent


def test_the_figures_are_the_report_and_the_csv_its_rows(app: Flask) -> None:
    webhooks = app.test_client()
    call(app, webhooks, "CA" + "1" * 32, ["1", "2"])
    call(app, webhooks, "CA" + "2" * 32, ["1", "2"], caller="+819011112222")
    call(app, webhooks, "CA" + "3" * 32, ["0"])
    flush(app)
    viewer = signed_in(app, "viewer")
    page = viewer.get("/console/figures?from=2026-11-25&to=2026-11-25").get_data(as_text=True)
    with app.app_context():
        tokyo = report.TOKYO
        figures = report.build(
            store.engine(), dt.datetime(2026, 11, 25, tzinfo=tokyo), dt.datetime(2026, 11, 26, tzinfo=tokyo)
        )
    assert figures["calls"] == 3 and figures["repeat_callers"] == 1
    assert '<strong id="calls-total">3</strong>' in page
    assert "a1_2" in page and '"values": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3,' in page
    csv = viewer.get("/console/figures.csv?from=2026-11-25&to=2026-11-25")
    assert csv.mimetype == "text/csv" and "attachment" in csv.headers["Content-Disposition"]
    rows = [line.split(",", 2) for line in csv.get_data(as_text=True).lstrip("\ufeff").splitlines()[1:]]
    assert rows == [[s, k, "" if v is None else str(v)] for s, k, v in csv_rows(figures)]


@pytest.mark.parametrize(
    ("query", "message"),
    [("from=2026-13-01", "2026-11-25 のように"), ("from=2026-11-25&to=2026-11-24", "終了日は開始日")],
    ids=["bad-date", "backwards"],
)
def test_a_bad_range_says_how_to_write_it(app: Flask, query: str, message: str) -> None:
    viewer = signed_in(app, "viewer")
    for path in ("/console/figures", "/console/map"):
        response = viewer.get(f"{path}?{query}")
        assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_the_map_counts_the_callers_on_each_arrow_and_marks_where_they_hang_up(app: Flask) -> None:
    webhooks = app.test_client()
    for n in range(3):
        call(app, webhooks, f"CA{n:032d}", ["1", "2"] if n else ["1"])
        twilio = twilio_for(webhooks)
        twilio.form.update(CallSid=f"CA{n:032d}")
        twilio.post("/voice/status", CallStatus="completed", CallDuration="30")
    flush(app)
    page = signed_in(app, "viewer").get("/console/map").get_data(as_text=True)
    assert "menu_main --&gt;|&#34;1 · 3件&#34;| menu_s1" in page
    assert "menu_s1 --&gt;|&#34;2 · 2件&#34;| answer_a1_2" in page
    assert "incoming --&gt;|&#34;3件&#34;| menu_main" in page
    assert "ここで終話 1件" in page and "class menu_s1 hot" in page


def test_the_flow_page_shows_this_worker_and_the_last_refused_edit(app: Flask, files: Path) -> None:
    viewer = signed_in(app, "viewer")
    page = viewer.get("/console/flow").get_data(as_text=True)
    assert app.extensions["ivr.state"].loaded.bundle.digest in page and "ありません" in page
    edit(files / "flows.yaml", "start: main", "start: nowhere")
    app.extensions["ivr.state"].poll()
    page = viewer.get("/console/flow").get_data(as_text=True)
    assert "flows.yaml:" in page and "直前の正しいフローで応答を続けています" in page


def test_the_softphone_walks_the_real_webhooks_at_the_chosen_time(app: Flask) -> None:
    client = signed_in(app, "viewer")
    token = {"X-CSRFToken": csrf_token(client, "/console/try")}
    first = client.post("/console/try/call", data={"at": ""}, headers=token).get_data(as_text=True)
    assert "greeting" in first and "menu.main" in first and "受付時間内" in first
    sid = first.split('name="sid" value="')[1].split('"')[0]
    url = first.split('name="url" value="')[1].split('"')[0].replace("&amp;", "&")
    step = client.post("/console/try/step", data={"sid": sid, "url": url, "key": "1"}, headers=token)
    assert "menu.s1" in step.get_data(as_text=True)
    queued = client.post("/console/try/step", data={"sid": sid, "url": url, "key": "0"}, headers=token)
    assert "queue.position.1" in queued.get_data(as_text=True)  # in hours, 0: first in the queue's wait
    late = client.post("/console/try/call", data={"at": "2026-11-25T20:00"}, headers=token).get_data(
        as_text=True
    )
    sid = late.split('name="sid" value="')[1].split('"')[0]
    url = late.split('name="url" value="')[1].split('"')[0].replace("&amp;", "&")
    closed = client.post(
        "/console/try/step",
        data={"sid": sid, "url": url, "key": "0", "at": "2026-11-25T20:00"},
        headers=token,
    ).get_data(as_text=True)
    assert "受付時間外" in closed and "次の受付" in closed
    for bad in (
        {"sid": sid, "url": "https://evil.example/voice", "key": "1"},
        {"sid": sid, "url": url, "key": "12"},
    ):
        assert client.post("/console/try/step", data=bad, headers=token).status_code == 400


def test_the_browser_gets_the_prompts_as_16_bit_pcm(app: Flask, files: Path) -> None:
    client = signed_in(app, "viewer")
    with app.app_context():
        entry = next(iter(app.extensions["ivr.state"].loaded.bundle.audio.values()))
    original = (files / "audio" / entry.file).read_bytes()
    response = client.get(f"/console/audio/{entry.file}")
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    data = response.data
    tag, channels, rate, _rate2, _align, bits = struct.unpack_from("<HHIIHH", data, 20)
    assert (tag, channels, rate, bits) == (1, 1, 8000, 16)
    samples = ulaw.chunks(original)[b"data"]
    pcm = struct.unpack_from(f"<{len(samples)}h", data, 44)
    assert list(pcm) == [ulaw.TABLE[b] for b in samples]
    assert (
        client.get(
            f"/console/audio/{entry.file}", headers={"If-None-Match": response.headers["ETag"]}
        ).status_code
        == 304
    )
    assert client.get("/console/audio/..%2Fflows.yaml").status_code == 404
    assert client.get("/console/audio/missing-0000.wav").status_code == 404


def test_the_mulaw_table_is_the_synthesis_codec() -> None:
    import numpy as np

    from ivr.synth import g711

    decoded = g711.decode_ulaw(np.arange(256, dtype=np.uint8))
    assert list(decoded) == list(ulaw.TABLE)


def test_a_tried_call_reserves_in_a_store_of_its_own(app: Flask, clock: FixedClock) -> None:
    """The try page's line reserves a callback the way a caller does, but never in the hotline's store."""
    from ivr.console.softphone import line_of
    from ivr.store import reservations

    clock.instant = CLOSED_INSTANT
    line = line_of(app)
    root = line.post(f"{line.base}/voice")
    for digits in ("0", "1", "1"):  # a person → closed: the offer → a callback → this number
        gather = root.find("Gather")
        assert gather is not None, ElementTree.tostring(root)
        root = line.post(gather.get("action", ""), Digits=digits)
    line_engine = engines.create(str(line.app.config["DATABASE_URL"]))
    assert len(reservations.listing(line_engine)) == 1  # reserved: the walk went where a caller's goes
    line_engine.dispose()
    with app.app_context():
        assert reservations.listing(store.engine()) == []
