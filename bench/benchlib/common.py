"""What every bench shares: the service's environment, one server starter, scratch databases, the verdict."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"  # git-ignored: logs and request files of the last runs
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"  # this machine's server (trust auth)
PYTHON = ROOT / ".venv" / "bin" / "python"
# What the service is told, and what every signature is computed against (never the loopback URL).
TOKEN = "bench-auth-token-0123456789abcdef"
BASE = "https://ivr.example.jp"


def copy_ops_files(dest: Path, *, audio: bool = True, open_today: bool = False) -> Path:
    """A private copy of flows.yaml, prompts/ and audio/ (empty with audio=False) that a bench may edit.

    open_today: the copy's calendar opens all of today (Japan time), so agent transfers happen at any hour.
    """
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "flows.yaml", dest / "flows.yaml")
    for folder in ("prompts", "audio"):
        shutil.rmtree(dest / folder, ignore_errors=True)
        if folder == "audio" and not audio:
            (dest / folder).mkdir()
        else:
            shutil.copytree(ROOT / folder, dest / folder)
    if open_today:
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600))
        edit(dest / "flows.yaml", "open_dates: {}", f'open_dates: {{{today}: "0:00-23:59"}}')
    return dest


def edit(path: Path, old: str, new: str) -> None:
    """Replace one piece of a text file (which must be there)."""
    text = path.read_text("utf-8")
    if old not in text:
        raise SystemExit(f"{path.name} has no {old!r} to edit")
    path.write_text(text.replace(old, new, 1), "utf-8")


def service_env(files: Path, **extra: str) -> dict[str, str]:
    """The hotline's environment on a copy of the ops files, its journal database migrated.

    The journal goes to a SQLite file beside the copy unless `DATABASE_URL` is given.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "PUBLIC_", "AUDIO_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        TWILIO_AUTH_TOKEN=TOKEN,
        PUBLIC_BASE_URL=BASE,
        IVR_FLOWS=str(files / "flows.yaml"),
        IVR_PROMPTS=str(files / "prompts"),
        IVR_AUDIO=str(files / "audio"),
        IVR_NUMBER_KEY="bench-number-key-0123456789abcdef",
        SECRET_KEY="bench-secret-key-0123456789abcdef",
        IVR_DATA_KEY="YmVuY2gtZGF0YS1rZXktMDEyMzQ1Njc4OWFiY2RlZjA=",  # a Fernet key
        DATABASE_URL=f"sqlite:///{files / 'journal.db'}",
    )
    env.update(extra)
    flask(env, "ivr", "db", "upgrade")
    return env


def flask(env: Mapping[str, str], *args: str) -> str:
    """Run `flask --app app …` under the service's environment; its output (exits on failure)."""
    done = subprocess.run(
        [str(PYTHON), "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@contextmanager
def database(kind: str, folder: Path, postgres: str) -> Iterator[str]:
    """A fresh journal database: a SQLite file in folder, or a new database on the PostgreSQL server."""
    if kind != "postgresql":
        yield f"sqlite:///{folder / f'{kind}-{uuid.uuid4().hex[:8]}.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from ivr.store.engine import normalize

    url, name = make_url(normalize(postgres)), f"ivr_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET a URL: (status, body); (0, b"") when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())
    except OSError:
        return 0, b""


def rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB (0 when it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0


def serve_settings(env: Mapping[str, str]) -> dict[str, object]:
    """serve.py's settings (workers, threads, backpressure) under this environment, read from its file."""
    spec = importlib.util.spec_from_file_location("serve", ROOT / "serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: dict[str, object] = module.settings(dict(env))
    return found


@dataclass
class Server:
    """One running granian master and its worker processes."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    workers_expected: int

    @property
    def url(self) -> str:
        """Loopback origin of the server."""
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """The worker pids alive now (the master's children, whichever of its threads started them)."""
        try:
            tasks = list(Path(f"/proc/{self.proc.pid}/task").iterdir())
            return sorted(int(c) for task in tasks for c in (task / "children").read_text().split())
        except OSError:
            return []

    def memory(self) -> dict[int, int]:
        """RSS in KiB of each worker now."""
        return {pid: rss_kib(pid) for pid in self.workers()}

    def wait_ready(self, deadline_s: float = 90.0) -> None:
        """Wait for /healthz, every worker booted, and the workers' memory to settle."""
        end = time.monotonic() + deadline_s
        while http_get(self.url + "/healthz", timeout=1.0)[0] != 200:
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"{self.name} did not start; see {self.log}")
            time.sleep(0.1)
        # Each worker imports the app after the fork; it is booted when its memory stops growing.
        previous: dict[int, int] = {}
        while (now := self.memory()) != previous or len(now) < self.workers_expected:
            if time.monotonic() > end:
                raise RuntimeError(f"{self.name}: workers did not settle; see {self.log}")
            previous = now
            time.sleep(0.5)

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master: workers write their journal), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def limit_command(env: Mapping[str, str]) -> list[str]:
    """The limit app on plain granian: serve.py's workers, threads and backpressure; no access log."""
    s = serve_settings(env)
    return [
        *(str(PYTHON), "-m", "granian", "--interface", "wsgi", "--http", "1", "--no-ws", "--no-access-log"),
        *("--host", "127.0.0.1", "--port", str(env["PORT"]), "--workers", str(s["workers"])),
        *("--blocking-threads", str(s["blocking_threads"]), "--backpressure", str(s["backpressure"])),
        "benchlib.limit:app",
    ]


@contextmanager
def serve(name: str, env: Mapping[str, str], log_dir: Path, *, limit: bool = False) -> Iterator[Server]:
    """The hotline as production runs it (`python serve.py`), or the limit app, until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    path = os.pathsep.join(p for p in (str(BENCH), env.get("PYTHONPATH", "")) if p)
    full_env = {**env, "HOST": "127.0.0.1", "PORT": str(port), "PYTHONPATH": path}
    args = limit_command(full_env) if limit else [str(PYTHON), str(ROOT / "serve.py")]
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    running = Server(name, proc, port, log, int(str(serve_settings(full_env)["workers"])))
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def each_database(
    choice: str, run: Callable[[str], tuple[dict[str, object], list[str]]]
) -> tuple[dict[str, object], list[str]]:
    """Run a bench on "sqlite", "postgresql" or "both": the summary by database and every failure."""
    summary: dict[str, object] = {}
    failures: list[str] = []
    for kind in ["sqlite", "postgresql"] if choice == "both" else [choice]:
        summary[kind], failed = run(kind)
        failures += failed
    return summary, failures


def results_folder(bench: str) -> Path:
    """A new folder for this run's logs and summary: bench/results/<bench>-<date>."""
    out = RESULTS / f"{bench}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def conclude(out: Path, summary: dict[str, object], failures: list[str]) -> int:
    """Keep the summary beside the logs and print the verdict; exit status 1 when a target is missed."""
    summary = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "command": " ".join(sys.argv), **summary}
    (out / "summary.json").write_text(json.dumps({**summary, "failures": failures}, indent=2, default=str))
    print(f"results: {out.relative_to(ROOT)}")
    print("FAIL: " + "; ".join(failures) if failures else "PASS")
    return 1 if failures else 0


def require_wrk() -> None:
    """Exit with how to install wrk when it is missing."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk (Debian package)")


def kib(value: int) -> str:
    """KiB as MiB text."""
    return f"{value / 1024:.1f} MiB"
