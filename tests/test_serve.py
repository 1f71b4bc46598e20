"""The production server, granian through serve.py: signed webhooks, metrics, graceful stop, refusals."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import pytest
from test_metrics import METRICS_TOKEN, metrics_text
from test_server import SERVE, environment, free_port, launch, post

from helpers import ROOT, run_python, sign
from ivr.store import engine as engines
from ivr.store.report import counts
from ivr.web.deadline import Deadline


def stop(proc: subprocess.Popen[bytes], log: Path) -> str:
    """A graceful stop (SIGTERM, as a container's): what the server wrote, once it exited 0."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    out = log.read_text()
    assert proc.returncode == 0, out
    return out


def test_workers_add_up_a_graceful_stop_writes_the_journal_and_logs_no_number(
    files: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(files, port)
    metrics = tmp_path / "metrics"
    env.update(IVR_METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=str(metrics), IVR_ACCESS_LOG="1")
    metrics.mkdir()
    (metrics / "counter_99999.db").write_bytes(b"left over from a previous run")
    log = tmp_path / "serve.log"
    proc, url = launch(env, port, log)
    idle: list[socket.socket] = []
    try:
        # idle keep-alive connections (a proxy's pool, wrk's) must not starve a new one (backpressure)
        idle += [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(48)]
        for sock in idle:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        for n in range(6):
            form = {"CallSid": f"CA{n}", "From": "+819012345678"}
            assert post(url, "/voice", form, sign("https://ivr.example.jp/voice", form))[0] == 200
        assert post(url, "/voice", {"CallSid": "CA9"}, None)[0] == 403
        assert post(url, "/voice?to=09012345678", {"CallSid": "CA9"}, None)[0] == 403  # a forged request
        assert "ivr_calls_total 6.0" in metrics_text(url)
        assert any(metrics.glob("gauge_livesum_*.db"))  # the workers' journal depth gauges
    finally:
        for sock in idle:
            sock.close()
        out = stop(proc, log)
    engine = engines.create(env["DATABASE_URL"])
    assert counts(engine) == (6, 6)  # each call's start menu row: written by the workers' exit
    engine.dispose()
    assert not (metrics / "counter_99999.db").exists()
    assert not list(metrics.glob("gauge_livesum_*.db")), out  # each worker marked itself dead at exit
    assert out.count('"POST /voice?" 200') == 6  # IVR_ACCESS_LOG=1: the access log, path and query only
    assert out.count('"POST /voice?" 403') == 1
    assert out.count('"POST /voice?to=09*******78" 403') == 1  # masked like every other line
    assert "incoming call=CA0 from=+81********78" in out
    assert "9012345678" not in out


@pytest.mark.parametrize("setting", [None, "0", ""], ids=["unset", "0", "empty"])
def test_the_access_log_is_off_unless_asked(files: Path, tmp_path: Path, setting: str | None) -> None:
    port = free_port()
    env = environment(files, port)
    if setting is not None:
        env["IVR_ACCESS_LOG"] = setting
    log = tmp_path / "serve.log"
    proc, url = launch(env, port, log)
    try:
        form = {"CallSid": "CA1", "From": "+819012345678"}
        assert post(url, "/voice", form, sign("https://ivr.example.jp/voice", form))[0] == 200
        assert post(url, "/voice?to=09012345678", {"CallSid": "CA9"}, None)[0] == 403
    finally:
        out = stop(proc, log)
    assert "incoming call=CA1 from=+81********78" in out  # the call log is there: the output was read
    assert "[INFO] Started worker-" in out
    assert '"POST /voice' not in out and "/healthz" not in out
    assert "9012345678" not in out


def test_serve_refuses_to_start_with_a_broken_flow(files: Path) -> None:
    flows = files / "flows.yaml"
    flows.write_text(flows.read_text("utf-8").replace("menu: s2}", "menu: s9}"), "utf-8")
    result = subprocess.run(
        SERVE, cwd=ROOT, env=environment(files, free_port()), capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert result.returncode == 4  # refused before any worker started: no respawn loop
    assert output.count("menu 's9' does not exist") == 1 and "Traceback" not in output


def test_a_worker_writes_its_access_lines_in_batches_numbers_masked() -> None:
    """serve.application's access log: granian's handler replaced by the worker's batching writer."""
    code = (
        "import logging, serve, sys\n"
        "logging.getLogger(serve.ACCESS_LOGGER).addHandler(logging.StreamHandler(sys.stdout))\n"
        "serve.batch_access_log()\n"
        "access = logging.getLogger(serve.ACCESS_LOGGER)\n"
        "access.setLevel(logging.INFO)\n"
        "print([type(h).__name__ for h in access.handlers], flush=True)\n"
        "access.info('127.0.0.1 \"POST /voice/key?p=1\" 200 0.4ms')\n"
        "access.info('127.0.0.1 \"POST /voice?to=09012345678\" 403 0.2ms')  # a forged request\n"
        "serve.before_timeout_exit()  # the request deadline's exit skips the exit hooks\n"
        "import os; os._exit(1)\n"
    )
    done = run_python(code)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "['BackgroundWriter']",
        '127.0.0.1 "POST /voice/key?p=1" 200 0.4ms',
        '127.0.0.1 "POST /voice?to=09*******78" 403 0.2ms',
    ]


def test_a_request_past_the_deadline_is_overdue() -> None:
    deadline = Deadline(lambda environ, start: [b""], 10.0, lambda: None)
    deadline.running[1] = (100.0, "/voice/key")
    deadline.running[2] = (105.0, "/voice")
    assert deadline.overdue(111.0) == ["/voice/key"]
    assert deadline.overdue(109.0) == []


def test_serve_refuses_a_port_another_server_listens_on(files: Path) -> None:
    """granian binds with SO_REUSEPORT: a second server on a busy port shared it and took half its calls."""
    port = free_port()
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as a running granian worker's
        other.bind(("127.0.0.1", port))
        other.listen()
        result = subprocess.run(
            SERVE, cwd=ROOT, env=environment(files, port), capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "set PORT" in result.stderr
