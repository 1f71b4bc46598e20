"""Start and stop the server (granian or gunicorn), read worker memory, copy the ops files."""

from __future__ import annotations

import importlib.util
import json
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"  # git-ignored: logs and request files of the last runs
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"  # this machine's server (trust auth)
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
# What the service is told, and what every signature is computed against (never the loopback URL).
TOKEN = "bench-auth-token-0123456789abcdef"
NUMBER_KEY = "bench-number-key-0123456789abcdef"
DATA_KEY = "YmVuY2gtZGF0YS1rZXktMDEyMzQ1Njc4OWFiY2RlZjA="  # a Fernet key: 32 url-safe base64 bytes
BASE = "https://ivr.example.jp"
# Shared objects whose presence in a worker means a TTS engine (or its transport) was imported.
ENGINE_LIBRARIES = ("openjtalk", "pyopenjtalk", "grpc", "google", "numpy", "soxr")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_ops_files(dest: Path, *, audio: bool = True) -> Path:
    """A private copy of flows.yaml, prompts/ and audio/ (empty with audio=False) that a bench may edit."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "flows.yaml", dest / "flows.yaml")
    for folder in ("prompts", "audio"):
        shutil.rmtree(dest / folder, ignore_errors=True)
        if folder == "audio" and not audio:
            (dest / folder).mkdir()
        else:
            shutil.copytree(ROOT / folder, dest / folder)
    return dest


def gunicorn_settings(env: Mapping[str, str]) -> dict[str, object]:
    """The production settings as gunicorn.conf.py computes them under this environment."""
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        found = runpy.run_path(str(GUNICORN_CONF))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {k: v for k, v in found.items() if not k.startswith("_") and isinstance(v, int | str | bool)}


def service_env(files: Path, **extra: str) -> dict[str, str]:
    """The environment of the hotline service on a copy of the ops files, with the bench's token.

    The journal goes to a SQLite file beside the copy unless `DATABASE_URL` is given; it is migrated here.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "PUBLIC_", "AUDIO_"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        TWILIO_AUTH_TOKEN=TOKEN,
        PUBLIC_BASE_URL=BASE,
        IVR_FLOWS=str(files / "flows.yaml"),
        IVR_PROMPTS=str(files / "prompts"),
        IVR_AUDIO=str(files / "audio"),
        IVR_NUMBER_KEY=NUMBER_KEY,
        SECRET_KEY="bench-secret-key-0123456789abcdef",
        IVR_DATA_KEY=DATA_KEY,
        DATABASE_URL=f"sqlite:///{files / 'journal.db'}",
    )
    env.update(extra)
    flask(env, "ivr", "db", "upgrade")
    return env


def flask(env: Mapping[str, str], *args: str) -> str:
    """Run `flask --app app …` under the service's environment; its output (exits on failure)."""
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def mapped_engine_libraries(pid: int) -> list[str]:
    """Shared objects of TTS engines mapped into a process (should be none in a web worker)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return []
    paths = {line.split()[-1] for line in maps.splitlines() if "/" in line and ".so" in line}
    return sorted(p for p in paths if any(name in p.rsplit("/", 1)[-1].lower() for name in ENGINE_LIBRARIES))


def children(pid: int) -> list[int]:
    """Direct child processes of pid (the workers when pid is the granian or gunicorn master)."""
    return sorted(child for child, (parent, _) in process_table().items() if parent == pid)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET a URL: (status, body); (0, b"") when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())
    except OSError:
        return 0, b""


@dataclass
class Server:
    """One running server (granian or gunicorn master) with its worker processes."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    workers_expected: int
    started_workers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Loopback origin of the server."""
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """The worker pids alive now."""
        return children(self.proc.pid)

    def memory(self) -> dict[int, int]:
        """RSS in KiB of each worker now."""
        return {pid: rss_kib(pid) for pid in self.workers()}

    def wait_ready(self, deadline_s: float = 60.0) -> None:
        """Wait for /healthz, every worker booted, and the workers' memory to settle."""
        end = time.monotonic() + deadline_s
        while http_get(self.url + "/healthz", timeout=1.0)[0] != 200:
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"{self.name} did not start; see {self.log}")
            time.sleep(0.1)
        # Each worker imports the app after the fork; it is booted when its memory stops growing.
        previous: dict[int, int] = {}
        while True:
            now = self.memory()
            if len(now) >= self.workers_expected and now == previous:
                break
            if time.monotonic() > end:
                raise RuntimeError(f"{self.name}: workers did not settle; see {self.log}")
            previous = now
            time.sleep(0.5)
        self.started_workers = sorted(now)

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master only), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@dataclass(frozen=True)
class App:
    """One WSGI app as each server loads it: a granian factory target, a gunicorn app spec."""

    granian: str
    gunicorn: str


HOTLINE = App("serve:application", "app:app")  # serve.py wraps app:app in the request deadline
LIMIT = App("benchlib.baseline:application", "benchlib.baseline:app")
NOJOURNAL = App("benchlib.nojournal:application", "benchlib.nojournal:app")
SERVERS = ("granian", "gunicorn")  # production (serve.py), and today's gunicorn.conf.py for comparison


def serve_settings(env: Mapping[str, str]) -> dict[str, object]:
    """serve.py's settings (workers, threads, backpressure) under this environment."""
    spec = importlib.util.spec_from_file_location("serve", ROOT / "serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: dict[str, object] = module.settings(dict(env))
    return found


def describe(server: str, env: Mapping[str, str]) -> str:
    """One line: the server and its settings as production computes them."""
    if server == "granian":
        s = serve_settings(env)
        return (
            f"granian (serve.py): workers={s['workers']} WSGI threads={s['blocking_threads']}"
            f" backpressure={s['backpressure']} access log on"
        )
    g = gunicorn_settings(env)
    return (
        f"gunicorn (gunicorn.conf.py): workers={g['workers']} {g['worker_class']} threads={g['threads']}"
        f" max_requests={g['max_requests']} access log {g['accesslog']!r}"
    )


@contextmanager
def serve(
    name: str,
    app: App,
    env: Mapping[str, str],
    log_dir: Path,
    server: str = "granian",
    gunicorn_args: Sequence[str] = (),
    root: Path = ROOT,
) -> Iterator[Server]:
    """Run app under granian (serve.py's server) or gunicorn -c gunicorn.conf.py until the block ends.

    Both on a free loopback port; bench/ is on the workers' path (the limit and no-journal apps live there).
    `root`: another checkout of the project to serve (its app, its gunicorn.conf.py; gunicorn only).
    """
    port = free_port()
    own = (str(root),) if root != ROOT else ()  # its `ivr` package before the one installed in .venv
    path = os.pathsep.join(p for p in (*own, str(BENCH), env.get("PYTHONPATH", "")) if p)
    if server == "granian":
        full_env = {**env, "HOST": "127.0.0.1", "PORT": str(port), "PYTHONPATH": path}
        workers = int(str(serve_settings(full_env)["workers"]))
        args = [str(PYTHON), "-m", "benchlib.granian_main", app.granian]
    elif server == "gunicorn":
        full_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "PYTHONPATH": path}
        workers = int(str(gunicorn_settings(full_env)["workers"]))
        conf = str(root / GUNICORN_CONF.name)
        args = [str(PYTHON), "-m", "gunicorn", "-c", conf, *gunicorn_args, app.gunicorn]
    else:
        raise ValueError(f"unknown server {server!r}: one of {SERVERS}")
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=root, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    running = Server(name, proc, port, log, workers)
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
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"results: {out.relative_to(ROOT)}")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("PASS")
    return 0


def require_wrk() -> str:
    """The wrk binary, or a clear exit explaining how to install it."""
    found = shutil.which("wrk")
    if found is None:
        sys.exit("wrk is not installed: apt-get install -y wrk (Debian package)")
    return found


def kib(value: int) -> str:
    """KiB as MiB text."""
    return f"{value / 1024:.1f} MiB"


def engine_modules_after_import(env: Mapping[str, str]) -> list[str]:
    """TTS modules in sys.modules after `import app` under env: what a worker imports, checked in Python."""
    probe = (
        "import sys, app\n"
        f"names = {ENGINE_LIBRARIES!r}\n"
        "print('\\n'.join(m for m in sys.modules if any(n in m.split('.')[0].lower() for n in names)))\n"
    )
    done = subprocess.run(
        [str(PYTHON), "-c", probe], cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing app failed:\n{done.stderr}")
    return sorted(line for line in done.stdout.splitlines() if line)


def process_table() -> dict[int, tuple[int, int]]:
    """Every process now: pid → (parent pid, CPU ticks used so far)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def descendants(table: dict[int, tuple[int, int]], root: int) -> set[int]:
    """root and every process below it."""
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in table.items() if ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


class ForeignLoad:
    """How much CPU other people's processes took while a measurement ran (the machine may be shared).

    Counts the processes alive at the end that are not this bench or below it (servers, workers, wrk);
    a process that came and went in between is missed, so this is a lower bound.
    """

    def __init__(self) -> None:
        self.start, self.t0 = process_table(), time.monotonic()

    def share(self) -> float:
        """Foreign CPU since start, as a share of all CPUs (0.0–1.0)."""
        end, elapsed = process_table(), time.monotonic() - self.t0
        ours = descendants(end, os.getpid())
        ticks = sum(
            used - self.start.get(pid, (0, 0))[1] for pid, (_, used) in end.items() if pid not in ours
        )
        return ticks / os.sysconf("SC_CLK_TCK") / (elapsed * (os.cpu_count() or 1)) if elapsed else 0.0
