"""The real thing: serve.py as production starts it, answering signed webhooks over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from helpers import DATA_KEY, NUMBER_KEY, ROOT, SECRET_KEY, TOKEN, migrated_sqlite, sign

SERVE = [sys.executable, str(ROOT / "serve.py")]  # as the image runs it: `python serve.py`


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(files: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "PUBLIC_", "AUDIO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        TWILIO_AUTH_TOKEN=TOKEN,
        IVR_NUMBER_KEY=NUMBER_KEY,
        SECRET_KEY=SECRET_KEY,
        IVR_DATA_KEY=DATA_KEY,
        DATABASE_URL=migrated_sqlite(files),
        PUBLIC_BASE_URL="https://ivr.example.jp",
        IVR_FLOWS=str(files / "flows.yaml"),
        IVR_PROMPTS=str(files / "prompts"),
        IVR_AUDIO=str(files / "audio"),
        WEB_CONCURRENCY="2",
        HOST="127.0.0.1",
        PORT=str(port),
    )
    return env


def launch(env: dict[str, str], port: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """serve.py on a port, its output in log, once every worker has booted and /healthz answers."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(SERVE, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_up(url, proc, log, int(env["WEB_CONCURRENCY"]))
    return proc, url


def wait_up(url: str, proc: subprocess.Popen[bytes], log: Path, workers: int) -> None:
    """Every worker booted (a worker stopped while it still loads the app is killed after 10 s)."""
    for _ in range(300):
        if log.read_text().count("[INFO] Started worker-") >= workers:
            break
        assert proc.poll() is None, "serve.py exited:\n" + log.read_text()
        time.sleep(0.1)
    urllib.request.urlopen(url + "/healthz", timeout=5)


@pytest.fixture
def server(files: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc, url = launch(environment(files, port), port, tmp_path / "serve.log")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def post(url: str, path: str, form: dict[str, str], signature: str | None) -> tuple[int, bytes, str]:
    data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url + path, data=data, method="POST")
    if signature:
        request.add_header("X-Twilio-Signature", signature)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers["Content-Type"]


def test_serve_serves_signed_webhooks_and_rejects_unsigned(server: str) -> None:
    form = {"CallSid": "CA1", "From": "+819012345678"}
    status, body, content_type = post(server, "/voice", form, sign("https://ivr.example.jp/voice", form))
    assert (status, content_type) == (200, "text/xml; charset=utf-8")
    assert ElementTree.fromstring(body).find("Gather") is not None
    assert post(server, "/voice", form, None)[0] == 403
    path = "/voice/key?p=1&n=0&x=0"
    keyed = {**form, "Digits": "2"}
    status, body, _ = post(server, path, keyed, sign("https://ivr.example.jp" + path, keyed))
    assert status == 200
    gather = ElementTree.fromstring(body).find("Gather")
    assert gather is not None and gather.get("action") == "https://ivr.example.jp/voice/key?p=12&n=0&x=0"


def test_serve_refuses_to_start_with_a_broken_flow(files: Path) -> None:
    flows = files / "flows.yaml"
    flows.write_text(flows.read_text("utf-8").replace("menu: s2}", "menu: s9}"), "utf-8")
    result = subprocess.run(
        SERVE,
        cwd=ROOT,
        env=environment(files, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "flows.yaml:" in result.stdout + result.stderr
    assert "menu 's9' does not exist" in result.stdout + result.stderr


def test_serve_refuses_to_start_without_a_token(files: Path) -> None:
    env = environment(files, free_port())
    del env["TWILIO_AUTH_TOKEN"]
    result = subprocess.run(SERVE, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "TWILIO_AUTH_TOKEN is not set" in result.stdout + result.stderr


def test_web_workers_never_load_a_speech_engine(files: Path) -> None:
    probe = (
        "import sys\n"
        "from app import app\n"
        "client = app.test_client()\n"
        "client.post('/voice', data={'CallSid': 'CA1'})\n"
        "client.get('/healthz')\n"
        "heavy = ('pyopenjtalk', 'google.cloud', 'google.api_core', 'grpc', 'numpy', 'soxr')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    env = {**environment(files, free_port()), "IVR_DEV": "1"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
