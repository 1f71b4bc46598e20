"""Production server: granian (Rust HTTP, WSGI) serving app:app — `python serve.py`.

Settings come from the environment (README.md lists them). The access log is off unless
IVR_ACCESS_LOG=1: every webhook already logs one masked call line and writes a journal row.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.server import MPServer  # the process-per-worker server (Server on a GIL build)

if TYPE_CHECKING:
    from ivr.web.deadline import Deadline

ROOT = Path(__file__).resolve().parent
# No query string values carry caller data (positions and counters only); the body is never logged.
ACCESS_LOG_FORMAT = '%(addr)s "%(method)s %(path)s?%(query_string)s" %(status)d %(dt_ms).1fms'
ACCESS_LOGGER = "granian.access"  # where granian logs each request (granian.log.access_logger)
# Twilio gives a webhook 15 s: ivr.web.deadline ends a worker whose request runs longer than
# IVR_REQUEST_TIMEOUT_S (10 s), and a worker that does not stop within this many seconds is killed.
KILL_TIMEOUT_S = 10
BACKLOG = 1024  # granian's default listen backlog


def usable_cpus() -> int:
    """ivr/cpus.py's count, loaded from its file: the master never imports the app's modules."""
    spec = importlib.util.spec_from_file_location("ivr_cpus", ROOT / "ivr" / "cpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    count: int = module.usable_cpus()
    return count


def settings(env: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, object]:
    """Workers, threads, the address and the access log under this environment (bench/ and tests too)."""
    workers = int(env.get("WEB_CONCURRENCY", max(2, usable_cpus())))
    return {
        # One process per core; each runs its WSGI calls on one Python thread (webhooks are short and
        # CPU-bound: more threads only contend for the GIL); the Rust side holds the connections.
        "workers": workers,
        "blocking_threads": int(env.get("WEB_THREADS", "1")),
        # Connections a worker accepts at once (granian counts connections, not requests). On Linux each
        # worker has its own SO_REUSEPORT socket: a connection the kernel hands to a worker at this cap
        # waits until one of that worker's connections closes, and idle keep-alive connections (a proxy's,
        # wrk's) never close. 16 starved new connections for over 10 s under bench/soak's 64 connections;
        # granian's own default (its backlog 1024 / workers) leaves room for any proxy's keep-alive pool.
        "backpressure": int(env.get("WEB_BACKPRESSURE", max(1, BACKLOG // workers))),
        "address": env.get("HOST", "0.0.0.0"),
        "port": int(env.get("PORT", "8080")),
        "access_log": access_log(env),
    }


def access_log(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """granian's line per request, only with IVR_ACCESS_LOG=1: the call log and the journal say the same."""
    return env.get("IVR_ACCESS_LOG", "").strip() == "1"


def clean_metrics_folder() -> None:
    """All workers' metrics in one folder (prometheus_client multiprocess mode), emptied at each start."""
    default = Path(tempfile.gettempdir()) / f"ivr-metrics-{os.getpid()}"
    folder = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(default)))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()


def application() -> Deadline:
    """What each worker serves (granian calls it after the fork): app:app under the request deadline."""
    from app import app  # in the worker only: the master never imports the app's modules
    from ivr.web.deadline import Deadline

    settle()
    if access_log():
        batch_access_log()
    return Deadline(app, float(app.config["IVR_REQUEST_TIMEOUT_S"]), before_timeout_exit)


def batch_access_log() -> None:
    """In a worker with the access log on: granian's lines written by a thread in batches (ivr.logs).

    granian's handler writes and flushes every line from the request's thread: a system call per
    request, and a request held up whenever the log's reader (a container's log pipe) is slow. Batched,
    lines reach stdout at most ivr.logs.FLUSH_S later, and a worker's exit writes what it holds.

    The lines go through the masking filter too, like every other log line: the hotline's own URLs
    carry no number, but anyone can send a forged request with one in its query string.
    """
    import logging

    from ivr import logs
    from ivr.privacy import MaskingFilter

    logs.write_in_batches(logging.getLogger(ACCESS_LOGGER), sys.stdout).addFilter(MaskingFilter())


def before_timeout_exit() -> None:
    """A worker past the request deadline exits without its exit hooks: write its journal and its logs."""
    from ivr import logs
    from ivr.store.journal import stop_all

    stop_all()
    logs.flush_all()


def settle() -> None:
    """Once the worker's app is built: keep the garbage collector and the worker's threads off requests.

    A full collection walks every object the worker holds (the flow, the year's holiday table, the
    modules): ~40 ms on this machine, every ~16 000 requests, with the request waiting. Frozen, the
    objects built at start are left out of collections. The journal's and the log's writer threads
    hold the GIL between their I/O: a request waits at most the switch interval for it (default 5 ms).
    """
    gc.freeze()
    sys.setswitchinterval(0.0005)


def server(target: str = "serve:application") -> MPServer:
    """The configured server, not started; target = the factory each worker calls (bench/ passes its own)."""
    found = settings()
    granian = MPServer(
        target,
        factory=True,
        address=str(found["address"]),
        port=int(str(found["port"])),
        interface=Interfaces.WSGI,
        workers=int(str(found["workers"])),
        blocking_threads=int(str(found["blocking_threads"])),
        backpressure=int(str(found["backpressure"])),
        backlog=BACKLOG,
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels.info,
        log_access=bool(found["access_log"]),
        log_access_format=ACCESS_LOG_FORMAT,
        respawn_failed_workers=True,
        workers_kill_timeout=KILL_TIMEOUT_S,
        working_dir=ROOT,
    )
    return granian


def preflight() -> int:
    """Build the app once in a child process: 0, or the exit status of a refused start (its reason printed).

    A worker that cannot build the app exits 4, and granian respawns failed workers: with two workers
    its crash-loop check (per worker, reset on every respawn) can miss the loop and respawn them for
    ever. So a missing secret, a broken flow or a database behind its migrations stops the server here,
    before any worker starts, once. The master still never imports the app's modules itself.
    """
    return subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, check=False).returncode


def port_taken(address: str, port: int) -> str | None:
    """Why the address cannot be served on, when another process already listens there; else None.

    granian's workers bind with SO_REUSEPORT, which would let a second server share the port with the first
    and take half its calls: a plain bind, made and closed before granian starts, says so instead.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError as error:
            return f"cannot listen on {address}:{port} ({error.strerror}): is another server running there?"
    return None


if __name__ == "__main__":
    found = settings()
    taken = port_taken(str(found["address"]), int(str(found["port"])))
    if taken:
        sys.exit(f"serve.py: {taken} Stop it, or set PORT to a free port.")
    status = preflight()
    if status:
        sys.exit(status)
    clean_metrics_folder()  # before the workers start: they read the folder's name from the environment
    server().serve()
