"""Production gunicorn settings (`gunicorn -c gunicorn.conf.py app:app`)."""

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any


def usable_cpus() -> int:
    """ivr/cpus.py's count, loaded from its file: importing the ivr package here would put the app's
    modules in the master, and workers would inherit them (a HUP would not pick up new code)."""
    spec = importlib.util.spec_from_file_location(
        "ivr_cpus", Path(__file__).resolve().parent / "ivr" / "cpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    count: int = module.usable_cpus()
    return count


bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8080')}")
# Webhooks are short and CPU-bound (a signature and a lookup): one process per core, each with threads
# for keep-alive and the occasional slow client. bench/webhook on 2 cores: 2 × 4 gave a p99 of 54 ms
# against 95 ms for 4 × 4, with more requests per second (bench/README.md). Scale out with replicas.
# One core = the CPUs this container may use (affinity, cgroup quota), not the host's count.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, usable_cpus())))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Twilio gives a webhook 15 s; a stuck request is killed well before that so Twilio's fallback URL can act.
timeout = 10
graceful_timeout = 10
keepalive = 5
# Each worker loads and validates the flow itself; an invalid flow stops the boot with the messages.
preload_app = False
# A safety net against a slow leak (bench/soak finds none): at a spike's 1500 req/s per machine a worker
# is renewed every two minutes or so, each renewal costing a second of one core; at normal load, never.
max_requests = 100000
max_requests_jitter = 10000
accesslog = "-"
# No query string values carry caller data (positions and counters only); the body is never logged.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = "info"
# No `gunicornc` here; and two servers on one host (bench, a rolling restart) would share its socket path.
control_socket_disable = True
forwarded_allow_ips = ""  # never trust X-Forwarded-*: signatures are checked against PUBLIC_BASE_URL


def on_starting(server: Any) -> None:
    """All workers' metrics in one folder (prometheus_client multiprocess mode), emptied at each start."""
    default = Path(tempfile.gettempdir()) / f"ivr-metrics-{os.getpid()}"
    folder = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(default)))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live gauges (the journal's buffer depth) stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    """A worker stops gracefully: write its buffered journal events first."""
    from ivr.store.journal import stop_all

    stop_all()
