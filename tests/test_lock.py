"""The lock files: every dependency pinned with hashes, web ⊂ run ⊂ dev at the same versions, no speech
engine in the web lock, no dev tool in the run lock; the image installs the web lock, `make run` the run
lock and the tests add the dev lock."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")
ENGINES = {"google-cloud-texttospeech", "pyopenjtalk-plus", "numpy", "soxr", "grpcio"}
OFFLINE_VOICE = {"pyopenjtalk-plus", "numpy", "soxr", "sudachipy", "sudachidict-core"}
GOOGLE_VOICE = {"google-cloud-texttospeech", "grpcio", "google-api-core", "protobuf"}
TOOLS = {"pytest", "hypothesis", "mypy", "ruff", "uv", "playwright", "xmlschema", "types-pyyaml"}


def name(requirement: str) -> str:
    """The normalized project name of a requirement (PEP 503)."""
    match = re.match(r"^\s*([A-Za-z0-9._-]+)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match[1]).lower()


def pins(lock: str) -> dict[tuple[str, str], str]:
    """(name, marker) -> version of every pin in a lock file; each pin must carry hashes."""
    lines = (ROOT / "requirements" / lock).read_text("utf-8").splitlines()
    found: dict[tuple[str, str], str] = {}
    for i, line in enumerate(lines):
        match = PIN.match(line)
        if match:
            assert lines[i + 1].strip().startswith("--hash=sha256:"), f"{lock}: {line} has no hash"
            found[(name(match[1]), (match[3] or "").strip())] = match[2]
    return found


def project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    return {"": data["dependencies"], **data["optional-dependencies"]}


def test_the_web_lock_holds_the_service_and_no_speech_engine() -> None:
    web = {n for n, _ in pins("web.txt")}
    assert {name(r) for r in project()[""]} <= web
    assert "setuptools" in web  # builds the project in the image without fetching anything unpinned
    assert not web & ENGINES


def test_the_run_lock_adds_the_offline_voice_and_no_dev_tool() -> None:
    run = {n for n, _ in pins("run.txt")}
    assert {name(r) for r in project()[""] + project()["synth"]} <= run
    assert run >= OFFLINE_VOICE
    assert not run & (GOOGLE_VOICE | TOOLS | {"gunicorn"})


def test_the_dev_lock_adds_synthesis_and_tools_at_the_same_versions() -> None:
    web, run, dev = pins("web.txt"), pins("run.txt"), pins("dev.txt")
    wanted = {name(r) for extra in project().values() for r in extra} - {"ivr"}
    assert wanted <= {n for n, _ in dev}
    assert {n for n, _ in dev} >= ENGINES | TOOLS
    assert "gunicorn" not in {n for n, _ in dev}
    for smaller, bigger, names in ((web, run, "web/run"), (run, dev, "run/dev")):
        for (package, _), version in smaller.items():  # markers may differ: more is needed on some Pythons
            assert version in {v for (n, _), v in bigger.items() if n == package}, (
                f"{names} {package} {version}"
            )


def installs(target: str) -> list[str]:
    """The lock files `make <target>` installs on a fresh clone, in order (make's dry run: nothing runs)."""
    done = subprocess.run(
        ["make", "--dry-run", "--always-make", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return re.findall(r"--require-hashes -r (requirements/\S+)", done.stdout)


@pytest.mark.parametrize(
    ("target", "locks"),
    [
        ("run", ["requirements/run.txt"]),
        ("synth", ["requirements/run.txt"]),
        ("pytest", ["requirements/run.txt", "requirements/dev.txt"]),
        ("lint", ["requirements/run.txt", "requirements/dev.txt"]),
    ],
    ids=["run", "synth", "pytest", "lint"],
)
def test_make_installs_the_run_lock_and_the_tests_add_the_dev_lock(target: str, locks: list[str]) -> None:
    assert installs(target) == locks


def test_the_image_installs_the_web_lock_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert "pip install --require-hashes --no-deps -r requirements/web.txt" in dockerfile
    assert "pip install --no-deps --no-build-isolation -e . && pip check" in dockerfile
    assert "requirements/dev.txt" not in dockerfile
