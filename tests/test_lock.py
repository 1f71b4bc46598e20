"""The lock files: every dependency pinned with hashes, web and dev at the same versions, no speech engine
in the web lock, and the image installing from it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")
ENGINES = {"google-cloud-texttospeech", "pyopenjtalk-plus", "numpy", "soxr", "grpcio"}


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


def test_the_dev_lock_adds_synthesis_and_tools_at_the_web_versions() -> None:
    web, dev = pins("web.txt"), pins("dev.txt")
    wanted = {name(r) for extra in project().values() for r in extra} - {"ivr"}
    assert wanted <= {n for n, _ in dev}
    assert ENGINES - {"grpcio"} <= {n for n, _ in dev}
    for (package, _), version in web.items():  # markers may differ: dev needs more on some Pythons
        assert version in {v for (n, _), v in dev.items() if n == package}, f"{package}: web {version}"


def test_the_image_installs_the_web_lock_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert "pip install --require-hashes --no-deps -r requirements/web.txt" in dockerfile
    assert "pip install --no-deps --no-build-isolation -e . && pip check" in dockerfile
    assert "requirements/dev.txt" not in dockerfile
