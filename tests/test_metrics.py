"""GET /metrics: not public, counts calls, answers, transfers, rejections; the server's workers add up."""

from __future__ import annotations

import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from test_server import SERVE, environment, free_port, launch, post

from helpers import ROOT, FixedClock, make_app, parse, sign, twilio_for
from ivr.config import StartRefused
from ivr.store import engine as engines
from ivr.store.report import counts

METRICS_TOKEN = "metrics-token-0123456789"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("token", "header", "status"),
    [(None, "", 404), (METRICS_TOKEN, "", 401), (METRICS_TOKEN, "Bearer nope", 401)],
    ids=["no-token-set", "no-header", "wrong-token"],
)
def test_metrics_are_not_public(
    files: Path, clock: FixedClock, token: str | None, header: str, status: int
) -> None:
    client = make_app(files, clock, IVR_METRICS_TOKEN=token).test_client()
    assert client.get("/metrics", headers={"Authorization": header} if header else {}).status_code == status


def test_metrics_count_what_happens(files: Path, clock: FixedClock) -> None:
    app = make_app(files, clock, IVR_METRICS_TOKEN=METRICS_TOKEN)
    client, twilio = app.test_client(), twilio_for(app.test_client())
    before = {
        "calls": value("ivr_calls_total"),
        "answer": value("ivr_answers_played_total", answer="a2_3"),
        "key": value("ivr_keys_total", menu="2"),
        "busy": value("ivr_transfers_total", outcome="busy"),
        "forged": value("ivr_signature_rejections_total"),
        "agent": value("ivr_agent_requests_total", hours="in"),
    }
    parse(twilio.post("/voice"))
    parse(twilio.post("/voice/key?p=&n=0&x=0", Digits="2"))
    parse(twilio.post("/voice/key?p=2&n=0&x=0", Digits="8"))  # no such option: the menu again
    parse(twilio.post("/voice/key?p=2&n=0&x=0", Digits="3"))
    parse(twilio.post("/voice/key?p=23&n=0&x=0", Digits="0"))
    parse(twilio.post("/voice/agent/done?p=23", DialCallStatus="busy"))
    assert client.post("/voice", data={"CallSid": "CA1"}).status_code == 403
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert b"ivr_journal_buffered" in response.data
    assert value("ivr_calls_total") == before["calls"] + 1
    assert value("ivr_answers_played_total", answer="a2_3") == before["answer"] + 1
    assert value("ivr_keys_total", menu="2") == before["key"] + 2  # each key once, whatever its row
    assert value("ivr_transfers_total", outcome="busy") == before["busy"] + 1
    assert value("ivr_signature_rejections_total") == before["forged"] + 1
    assert value("ivr_agent_requests_total", hours="in") == before["agent"] + 1


def test_a_number_key_is_required_outside_development(files: Path, clock: FixedClock) -> None:
    with pytest.raises(StartRefused, match="IVR_NUMBER_KEY is not set"):
        make_app(files, clock, IVR_NUMBER_KEY=None)
    assert make_app(files, clock, IVR_NUMBER_KEY=None, IVR_DEV=True).config["IVR_NUMBER_KEY"]


def metrics_text(url: str) -> str:
    request = urllib.request.Request(url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.read().decode())


def test_the_workers_add_up_and_a_graceful_stop_writes_the_journal(files: Path, tmp_path: Path) -> None:
    port = free_port()
    env = environment(files, port)
    env.update(IVR_METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_99999.db").write_bytes(b"left over from a previous run")
    proc, url = launch(env, port, tmp_path / "serve.log")
    try:
        for n in range(6):  # over keep-alive-free connections: both workers take some
            form = {"CallSid": f"CA{n}", "From": "+819012345678"}
            assert post(url, "/voice", form, sign("https://ivr.example.jp/voice", form))[0] == 200
        text = metrics_text(url)
        assert "ivr_calls_total 6.0" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    engine = engines.create(env["DATABASE_URL"])
    assert counts(engine) == (6, 6)  # the start menu's row, the incoming call's, each call
    engine.dispose()
    assert not (tmp_path / "metrics" / "counter_99999.db").exists()


def test_serve_refuses_a_database_behind_its_migrations(files: Path, tmp_path: Path) -> None:
    env = {**environment(files, free_port()), "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = subprocess.run(SERVE, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "run `flask --app app ivr db upgrade` first" in result.stdout + result.stderr
