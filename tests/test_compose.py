"""compose.yaml (no container engine here): its structure, and the files it names exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
WEB = sorted(name for name in SERVICES if re.fullmatch(r"web\d+", name))


def test_two_web_replicas_after_the_migration() -> None:
    assert len(WEB) >= 2
    migrate = SERVICES["migrate"]
    assert migrate["command"] == ["flask", "--app", "app", "ivr", "db", "upgrade"]
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert (ROOT / migrate["build"] / "Dockerfile").is_file()
    for name in WEB:
        web = SERVICES[name]
        assert web["image"] == migrate["image"]
        assert web["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert "command" not in web  # the image's `python serve.py`


def test_postgresql_with_a_volume() -> None:
    db = SERVICES["db"]
    assert db["image"].split("/")[-1].startswith("postgres:")
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert "pgdata" in COMPOSE["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    for name in ("migrate", *WEB):
        url = SERVICES[name]["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://ivr:") and url.endswith("@db:5432/ivr")


def test_the_ops_files_are_one_shared_directory() -> None:
    for name in ("migrate", *WEB):
        env, volumes = SERVICES[name]["environment"], SERVICES[name]["volumes"]
        (ops,) = volumes
        assert ops["type"] == "bind" and ops["read_only"] is True
        assert ops["source"] == "${IVR_OPS_DIR:-./ops}"  # a directory, never a single file
        assert env["IVR_FLOWS"] == f"{ops['target']}/flows.yaml"
        assert env["IVR_PROMPTS"] == f"{ops['target']}/prompts"
        assert env["IVR_AUDIO"] == f"{ops['target']}/audio"


def test_the_secrets_fail_fast_when_missing() -> None:
    env = SERVICES["web1"]["environment"]
    for name in ("PUBLIC_BASE_URL", "TWILIO_AUTH_TOKEN", "IVR_NUMBER_KEY", "IVR_DATA_KEY", "SECRET_KEY"):
        assert env[name].startswith(f"${{{name}:?set {name} in .env"), name
    assert "IVR_DEV" not in env


def test_the_proxy_spreads_calls_over_every_replica() -> None:
    proxy = SERVICES["proxy"]
    assert proxy["image"].split("/")[-1].startswith("caddy:")
    source, target, mode = proxy["volumes"][0].split(":")
    assert (target, mode) == ("/etc/caddy/Caddyfile", "ro")
    caddyfile = (ROOT / source).read_text("utf-8")
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams and upstreams[1].split() == [f"{name}:8080" for name in WEB]
    assert "health_uri /healthz" in caddyfile
    assert sorted(proxy["depends_on"]) == WEB


def test_every_variable_is_explained_in_the_deploy_guide() -> None:
    text = (ROOT / "compose.yaml").read_text("utf-8")
    guide = (ROOT / "docs" / "deploy.md").read_text("utf-8")
    for name in sorted(set(re.findall(r"\$\{(\w+)", text))):
        assert f"`{name}" in guide, name
