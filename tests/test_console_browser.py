"""The console in a real browser: Debian's Chromium driven by Playwright, against a real HTTP server.

IVR_SCREENSHOTS=docs/console saves a screenshot of each page there (how the README's pictures are made).
"""

from __future__ import annotations

import os
import random
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from console_helpers import PASSWORD, add_user, flush
from helpers import BASE, OPEN_INSTANT, FixedClock, copy_files, make_app, sign
from ivr.store import users

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium: `apt-get install chromium` (.ci/run does it as root)"
)
SHOTS = os.environ.get("IVR_SCREENSHOTS")
WAIT_MS = 15_000


class Hotline:
    """The app served over HTTP in a thread, with its clock and a way to post signed webhooks."""

    def __init__(self, app: Flask, clock: FixedClock, url: str) -> None:
        self.app, self.clock, self.url = app, clock, url

    def webhook(self, path: str, **form: str) -> int:
        """POST a webhook signed as Twilio signs it (against PUBLIC_BASE_URL), over the socket."""
        signature = sign(BASE + path, form)
        request = urllib.request.Request(
            self.url + path,
            data=urllib.parse.urlencode(form).encode(),
            headers={"X-Twilio-Signature": signature},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)

    def call(self, sid: str, keys: list[str], caller: str, end: bool = True) -> None:
        """A caller walking the menu; the call ends with a completed status unless told otherwise."""
        form = {"CallSid": sid, "From": caller, "AccountSid": "AC" + "0" * 32}
        self.webhook("/voice", **form)
        path = ""
        for key in keys:
            self.webhook(f"/voice/key?p={path}", **form, Digits=key)
            path += key
        if end:
            self.webhook("/voice/status", **form, CallStatus="completed", CallDuration="60")


def busy_day(hotline: Hotline) -> None:
    """A morning of calls at different hours, for the figures, the chart and the map."""
    rng = random.Random(13)
    walks = [["1", "1"], ["1", "2"], ["3", "1"], ["3", "3"], ["2", "3"], ["1"], ["0"], ["4", "1"], []]
    for n in range(60):
        hotline.clock.instant = OPEN_INSTANT.replace(hour=9 + n % 6, minute=rng.randrange(60))
        hotline.call(f"CA{n:032d}", rng.choice(walks), f"+8190{rng.randrange(10**8):08d}")
    hotline.clock.instant = OPEN_INSTANT.replace(hour=15, minute=30)
    flush(hotline.app)


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hotline]:
    files = copy_files(tmp_path_factory.mktemp("console"))
    clock = FixedClock(OPEN_INSTANT)
    app = make_app(files, clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hotline = Hotline(app, clock, f"http://127.0.0.1:{server.server_port}")
    for name, role in (("kanri", "admin"), ("etsuran", "viewer"), ("locky", "viewer")):
        add_user(app, name, role)
    busy_day(hotline)
    yield hotline
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()


def log_in(page: Any, hotline: Hotline, name: str, password: str = PASSWORD) -> None:
    page.goto(hotline.url + "/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def wait_until(page: Any, expression: str) -> Any:
    """Poll a JavaScript expression until truthy (wait_for_function needs 'unsafe-eval' in the CSP)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not (value := page.evaluate(expression)):
        assert time.monotonic() < deadline, f"still false after {WAIT_MS} ms: {expression}"
        page.wait_for_timeout(100)
    return value


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_login_wrong_password_and_lockout(page: Any, hotline: Hotline) -> None:
    page.goto(hotline.url + "/console/")
    assert page.url.startswith(hotline.url + "/console/login")
    shot(page, "login")
    for _ in range(users.MAX_FAILURES - 1):
        log_in(page, hotline, "locky", "not-the-password")
        assert "名前またはパスワードが違います" in page.inner_text("[role=alert]")
    log_in(page, hotline, "locky", "not-the-password")
    assert "ロックされています" in page.inner_text("[role=alert]")
    log_in(page, hotline, "locky")  # the right password, but locked
    assert "ロックされています" in page.inner_text("[role=alert]")
    assert "/console/login" in page.url


def test_the_now_page_shows_a_new_call_without_a_reload(page: Any, hotline: Hotline) -> None:
    log_in(page, hotline, "kanri")
    page.wait_for_selector("#calls-count")
    before = int(page.inner_text("#calls-count"))
    page.evaluate("window.__notReloaded = true")
    hotline.call("CA" + "f" * 32, ["3"], "+819055556666", end=False)
    wait_until(page, f"Number(document.getElementById('calls-count').textContent) === {before + 1}")
    assert page.evaluate("window.__notReloaded") is True
    text = page.inner_text("#live")
    assert "…ffffff" in text and "+81********66" in text and "+819055556666" not in page.content()
    shot(page, "now")


def test_csrf_refused_and_a_viewer_cannot_open_admin_pages(page: Any, hotline: Hotline) -> None:
    log_in(page, hotline, "etsuran")
    page.wait_for_selector("#live")
    status = page.evaluate(
        "fetch('/console/try/call', {method: 'POST', body: new URLSearchParams({at: ''})})"
        ".then(r => r.status)"
    )
    assert status == 400
    assert "利用者" not in page.inner_text("nav")
    response = page.goto(hotline.url + "/console/users")
    assert response.status == 403 and "権限がありません" in page.inner_text("main")


def test_the_chart_and_the_map_are_drawn(page: Any, hotline: Hotline) -> None:
    log_in(page, hotline, "kanri")
    page.goto(hotline.url + "/console/figures?from=2026-11-25")
    wait_until(page, "!!(window.Chart && Chart.getChart(document.getElementById('per-hour-chart')))")
    bars = page.evaluate("Chart.getChart(document.getElementById('per-hour-chart')).data.datasets[0].data")
    assert sum(bars) == int(page.inner_text("#calls-total")) and sum(bars[9:16]) == sum(bars)
    painted = page.evaluate(
        "(() => { const c = document.getElementById('per-hour-chart');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })()"
    )
    assert painted > 1000
    shot(page, "figures")
    page.goto(hotline.url + "/console/map?from=2026-11-25")
    page.wait_for_selector("#menu-map svg g.node", state="attached")
    assert page.locator("#menu-map svg g.node").count() >= 20
    assert page.locator("#menu-map svg .edgeLabel").filter(has_text="件").count() > 5
    shot(page, "map")
    page.goto(hotline.url + "/console/flow")
    assert page.inner_text("#digest") == hotline.app.extensions["ivr.state"].loaded.bundle.digest
    shot(page, "flow")
    page.goto(hotline.url + "/console/users")
    assert "locky" in page.inner_text("#users") and "locked" in page.inner_text("#audit")
    shot(page, "users")


def test_the_softphone_plays_an_answer(page: Any, hotline: Hotline) -> None:
    log_in(page, hotline, "etsuran")
    page.goto(hotline.url + "/console/try")
    page.click("#dial")
    page.wait_for_selector("[data-key='1']")
    page.click("[data-key='1']")
    page.wait_for_selector("text=menu.s1")
    page.click("[data-key='2']")
    page.wait_for_selector("text=a1_2")
    played = wait_until(
        page,
        "(() => { const a = document.querySelector('#turn audio.heard');"
        " return (a.currentTime > 0 || a.ended || a.error) && {t: a.currentTime, ended: a.ended,"
        " error: a.error && a.error.code}; })()",
    )
    assert played["error"] is None and (played["t"] > 0 or played["ended"])
    assert page.locator("#turn .text").first.inner_text().strip()  # the spoken text beside the audio
    shot(page, "try")
