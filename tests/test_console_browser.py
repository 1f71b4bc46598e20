"""The console in a real browser: Debian's Chromium driven by Playwright, against a real HTTP server.

IVR_SCREENSHOTS=docs/console saves a screenshot of each page there (how the README's pictures are made).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from werkzeug.serving import make_server

from console_helpers import PASSWORD, add_user, flush
from helpers import BASE, OPEN_INSTANT, FixedClock, copy_files, make_app, sign
from ivr.store import accounts, reservations
from ivr.store import extension as store
from ivr.store.tables import audit, utc

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
CALLBACK = "+819012340001"  # the first reservation's number, revealed by an agent in a test
QUEUE_HEADLINE = (
    "[...document.querySelectorAll('section.panel')]"
    ".find(s => s.querySelector('h2').textContent.startsWith('待ち行列'))"
    ".querySelector('.headline').textContent"
)


class Hotline:
    """The app served over HTTP in a thread, with its clock and a way to post signed webhooks."""

    def __init__(self, app: Flask, clock: FixedClock, url: str) -> None:
        self.app, self.clock, self.url = app, clock, url

    def webhook(self, path: str, **form: str) -> int:
        """POST a webhook signed as Twilio signs it (against PUBLIC_BASE_URL), over the socket."""
        return self.twiml(path, **form)[0]

    def twiml(self, path: str, **form: str) -> tuple[int, ElementTree.Element]:
        """POST a signed webhook (a path, or an absolute URL from TwiML): its status and TwiML."""
        path = path.removeprefix(BASE)
        signature = sign(BASE + path, form)
        request = urllib.request.Request(
            self.url + path,
            data=urllib.parse.urlencode(form).encode(),
            headers={"X-Twilio-Signature": signature},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), ElementTree.fromstring(response.read())

    def action(self, path: str, tag: str, attribute: str = "action", **form: str) -> str:
        """POST a signed webhook; the URL in the first `tag`'s attribute of its TwiML."""
        element = self.twiml(path, **form)[1].find(f".//{tag}")
        assert element is not None, f"no <{tag}> from {path}"
        return element.get(attribute, "")

    def enter_queue(self, sid: str, caller: str) -> None:
        """A caller asks for a person at the first menu and hears the wait URL: in the queue."""
        form = {"CallSid": sid, "From": caller, "AccountSid": "AC" + "0" * 32}
        self.webhook("/voice", **form)
        self.webhook("/voice/key?p=", **form, Digits="1")
        wait = self.action("/voice/key?p=1&n=0&x=0", "Enqueue", "waitUrl", **form, Digits="0")
        self.webhook(wait, **form, QueuePosition="1", QueueTime="0", QueueSid="QU" + "0" * 32)

    def reserve(self, sid: str, caller: str, asked: dt.datetime) -> None:
        """A caller who asked for a person at `asked` left the queue and reserved a callback."""
        form = {"CallSid": sid, "From": caller, "AccountSid": "AC" + "0" * 32}
        self.webhook("/voice", **form)
        done = f"/voice/queue/done?p=1&t={int(asked.timestamp())}"
        offer = self.action(done, "Gather", **form, QueueResult="leave", QueueTime="900")
        readback = self.action(offer, "Gather", **form, Digits="1")
        self.webhook(readback, **form, Digits="1")
        self.webhook("/voice/status", **form, CallStatus="completed", CallDuration="120")

    def agent_signs_in(self, sid: str, number: str, pin: str) -> None:
        """An agent calls the agent line from their number and keys the PIN."""
        form = {"CallSid": sid, "From": number, "AccountSid": "AC" + "0" * 32}
        self.webhook(self.action("/voice/agent-line", "Gather", **form), **form, Digits=pin)

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


def busy_now(hotline: Hotline) -> None:
    """At 15:30: callbacks reserved since 14:00 (one already called back), two agents on the line, three
    callers in the queue."""
    app, at = hotline.app, OPEN_INSTANT.replace
    for n, (minute, caller) in enumerate([(12, CALLBACK), (41, "+818033334444"), (55, "+819077778888")]):
        hotline.clock.instant = at(hour=14, minute=minute + 2)
        hotline.reserve(f"CB{n:032d}", caller, at(hour=14, minute=minute))
    hotline.clock.instant = at(hour=15, minute=9)
    hotline.reserve("CB" + "9" * 32, "+819011115555", at(hour=15, minute=5))
    engine = store.of(app).engine
    done = max(row.id for row in reservations.listing(engine))
    assert reservations.take(engine, done, "tanaka", utc(at(hour=15, minute=12)))
    assert (
        reservations.outcome(
            engine, done, "talked", utc(at(hour=15, minute=15)), agent="tanaka", attempts=3, retry_min=30
        )
        == "done"
    )
    for n, (name, number) in enumerate([("sato", "+819099990001"), ("suzuki", "+819099990002")]):
        added = app.test_cli_runner().invoke(
            args=["ivr", "agent", "add", name, "--number", number], input="4321\n4321\n"
        )
        assert added.exit_code == 0, added.output
        hotline.clock.instant = at(hour=15, minute=2 + 10 * n)
        hotline.agent_signs_in(f"CAagent{n}", number, "4321")
    for n, minute in enumerate((22, 25, 28)):
        hotline.clock.instant = at(hour=15, minute=minute, second=7 * n)
        hotline.enter_queue(f"CQ{n:032d}", f"+8170{2222_0000 + n:08d}")
    hotline.clock.instant = at(hour=15, minute=30)
    flush(app)


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hotline]:
    files = copy_files(tmp_path_factory.mktemp("console"))
    clock = FixedClock(OPEN_INSTANT)
    app = make_app(files, clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hotline = Hotline(app, clock, f"http://127.0.0.1:{server.server_port}")
    for name, role in (("kanri", "admin"), ("etsuran", "viewer"), ("locky", "viewer"), ("tanaka", "agent")):
        add_user(app, name, role)
    busy_day(hotline)
    busy_now(hotline)
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
    for _ in range(accounts.MAX_FAILURES - 1):
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


def test_a_viewer_cannot_reveal_a_number_and_an_agents_reveal_is_journaled(
    page: Any, hotline: Hotline
) -> None:
    log_in(page, hotline, "etsuran")
    page.wait_for_selector("#live")
    assert "折り返し" not in page.inner_text("nav") and "折り返し待ち" not in page.inner_text("#live")
    response = page.goto(hotline.url + "/console/callbacks")
    assert response.status == 403 and "権限がありません" in page.inner_text("main")
    assert page.locator("button.reveal").count() == 0 and CALLBACK not in page.content()
    page.goto(hotline.url + "/console/")
    status = page.evaluate(  # with the page's own CSRF token: refused by role, not by the token
        "fetch('/console/callbacks/1/reveal', {method: 'POST', headers: {'X-CSRFToken':"
        " JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']}}).then(r => r.status)"
    )
    assert status == 403
    page.context.clear_cookies()
    log_in(page, hotline, "tanaka")
    page.click("nav >> text=折り返し")
    page.wait_for_selector("#callbacks")
    assert page.locator("#callbacks tbody tr").count() == 3 and page.locator("button.reveal").count() == 3
    assert CALLBACK not in page.content() and "+81********01" in page.inner_text(
        "#callbacks tbody tr >> nth=0"
    )
    shot(page, "callbacks")
    page.locator("#callbacks tbody tr >> nth=0").locator("button.reveal").click()
    page.wait_for_selector("strong.clear")
    assert page.inner_text("strong.clear") == CALLBACK and page.locator("strong.clear").count() == 1
    with hotline.app.app_context(), store.of(hotline.app).engine.connect() as connection:
        lines = connection.execute(audit.select().where(audit.c.action == "reveal-console")).all()
    assert [(line.who, line.detail) for line in lines] == [("tanaka", "callback 1 +81********01")]


def test_the_queue_panel_shows_a_caller_entering_the_queue_without_a_reload(
    page: Any, hotline: Hotline
) -> None:
    log_in(page, hotline, "kanri")
    page.wait_for_selector("#live")
    waiting = int(wait_until(page, QUEUE_HEADLINE).split("人")[0])
    assert waiting >= 3
    page.evaluate("window.__notReloaded = true")
    hotline.enter_queue("CQ" + "e" * 32, "+819066667777")
    wait_until(page, f"{QUEUE_HEADLINE}.startsWith('{waiting + 1}人待ち')")
    assert page.evaluate("window.__notReloaded") is True
    assert "…eeeeee" in page.inner_text("#live") and "+81********77" in page.inner_text("#live")
    assert "+819066667777" not in page.content()
