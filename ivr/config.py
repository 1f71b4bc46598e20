"""Configuration: defaults, then the environment, then the test override; required secrets fail fast."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from ivr.flow.problems import FlowInvalid

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("ivr")


class ConfigError(RuntimeError):
    """The service cannot start with this configuration; the message says what to set."""


# The status of a refused start: serve.py's preflight exits with it before any worker starts, so a
# container stops on it (and says why) instead of granian respawning workers that can never load the app.
START_REFUSED = 4


class StartRefused(SystemExit):
    """A server that must not start: the reason was logged once, without a traceback; exits 4."""

    def __init__(self, reason: str) -> None:
        super().__init__(START_REFUSED)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@contextlib.contextmanager
def refusals(serving: bool) -> Iterator[None]:
    """When serving, a missing secret or a broken flow ends the process with its message, not a traceback."""
    try:
        yield
    except (ConfigError, FlowInvalid) as exc:
        if not serving:
            raise
        log.critical("the hotline refuses to start:\n%s", exc)
        raise StartRefused(str(exc)) from None


def defaults() -> dict[str, Any]:
    """Settings that apply when nothing else says otherwise."""
    return {
        "TWILIO_AUTH_TOKEN": None,
        "PUBLIC_BASE_URL": None,
        "AUDIO_BASE_URL": None,
        "IVR_FLOWS": str(ROOT / "flows.yaml"),
        "IVR_PROMPTS": str(ROOT / "prompts"),
        "IVR_AUDIO": str(ROOT / "audio"),
        "IVR_DEV": False,
        "IVR_RELOAD_INTERVAL_S": 2.0,  # how often a worker looks at the ops files' modification times
        "IVR_CLOCK": None,  # a callable returning an aware datetime; tests inject a fixed one
        # Twilio posts about 1 KB; a body far larger is not Twilio and is refused (413) before it is read
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "DATABASE_URL": None,  # None: SQLite in the instance folder
        "IVR_NUMBER_KEY": None,  # HMAC key of the callers' number hash in the journal
        "IVR_METRICS_TOKEN": None,  # bearer token of GET /metrics; None: no /metrics at all
        "IVR_RETENTION_DAYS": 90,  # what `ivr purge` deletes by default
        "SECRET_KEY": None,  # signs the console's session cookie
        "IVR_COOKIE_SECURE": True,  # the console's cookies only over HTTPS; off only for local http
        "IVR_CONSOLE_REFRESH_S": 3,  # how often the console's Now page refreshes itself
        "IVR_DATA_KEY": None,  # Fernet keys of the callback numbers, comma-separated, newest first
        "IVR_REQUEST_TIMEOUT_S": 10.0,  # a worker stuck on a request longer ends (Twilio waits 15 s)
    }


def from_environment() -> dict[str, Any]:
    """Settings taken from environment variables (only those that are set)."""
    found: dict[str, Any] = {}
    for name in (
        "TWILIO_AUTH_TOKEN",
        "PUBLIC_BASE_URL",
        "AUDIO_BASE_URL",
        "IVR_FLOWS",
        "IVR_PROMPTS",
        "IVR_AUDIO",
        "DATABASE_URL",
        "IVR_NUMBER_KEY",
        "IVR_METRICS_TOKEN",
        "SECRET_KEY",
        "IVR_DATA_KEY",
    ):
        if os.environ.get(name):
            found[name] = os.environ[name]
    if "IVR_DEV" in os.environ:
        found["IVR_DEV"] = os.environ["IVR_DEV"].strip().lower() in ("1", "true", "yes", "on")
    if os.environ.get("IVR_RELOAD_INTERVAL_S"):
        found["IVR_RELOAD_INTERVAL_S"] = float(os.environ["IVR_RELOAD_INTERVAL_S"])
    if "IVR_COOKIE_SECURE" in os.environ:
        found["IVR_COOKIE_SECURE"] = os.environ["IVR_COOKIE_SECURE"].strip().lower() not in (
            "0",
            "false",
            "no",
            "off",
        )
    if os.environ.get("IVR_REQUEST_TIMEOUT_S"):
        found["IVR_REQUEST_TIMEOUT_S"] = float(os.environ["IVR_REQUEST_TIMEOUT_S"])
    if os.environ.get("IVR_RETENTION_DAYS"):
        found["IVR_RETENTION_DAYS"] = int(os.environ["IVR_RETENTION_DAYS"])
    return found


def init_app(app: Flask, test_config: dict[str, Any] | None, *, strict: bool) -> None:
    """Fill app.config in order and check it; `strict` (serving) turns missing secrets into errors."""
    app.config.from_mapping(defaults())
    app.config.from_mapping(from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    dev = bool(app.config["IVR_DEV"])
    for secret in SECRETS:
        _require(app, secret, dev=dev, strict=strict)
    _check_data_key(str(app.config["IVR_DATA_KEY"] or ""))
    base = app.config["PUBLIC_BASE_URL"]
    if not base:
        if strict and not dev:
            raise ConfigError(
                "PUBLIC_BASE_URL is not set: set it to the origin Twilio calls, e.g. https://ivr.example.jp"
            )
        base = "http://127.0.0.1:8080"
    base = str(base).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"PUBLIC_BASE_URL={base!r} must start with https:// (or http:// for local use)")
    app.config["PUBLIC_BASE_URL"] = base
    app.config["AUDIO_BASE_URL"] = str(app.config["AUDIO_BASE_URL"] or f"{base}/audio").rstrip("/")


# Development only: a fixed, public key, so a dev database's reservations stay readable across restarts.
DEV_DATA_KEY = "aXZyLWRldi1kYXRhLWtleS1ub3Qtc2VjcmV0LTAwMDA="


@dataclass(frozen=True)
class Secret:
    """A setting the service must not run without outside development (IVR_DEV=1)."""

    name: str
    fix: str  # what the refusal says to do
    dev_value: str | None = None  # what development uses instead (None: stays unset)
    dev_warning: str = ""  # said loudly when development runs without it


SECRETS = (
    Secret(
        "TWILIO_AUTH_TOKEN",
        "set it to the Twilio account's auth token "
        "(or IVR_DEV=1 for local development without signature checks)",
        dev_warning="!!! IVR_DEV=1: Twilio signatures are NOT checked. Never run like this in production !!!",
    ),
    Secret(
        "IVR_NUMBER_KEY",
        "set it to a long random secret (e.g. `openssl rand -hex 32`); "
        "the call journal counts repeat callers by a keyed hash of their number",
        "ivr-dev-number-key",  # development only: hashes anyone can redo
    ),
    Secret(
        "SECRET_KEY",
        "set it to a long random secret (e.g. `openssl rand -hex 32`); it signs the console's login sessions",
        "ivr-dev-secret-key",  # development only: anyone can forge its sessions
    ),
    Secret(
        "IVR_DATA_KEY",
        "set it to a Fernet key (python -c 'from cryptography.fernet import "
        "Fernet; print(Fernet.generate_key().decode())'); to rotate, put the new key first: NEW,OLD",
        DEV_DATA_KEY,
        "!!! IVR_DATA_KEY is not set: callback numbers are encrypted with a PUBLIC development key. "
        "Never run like this in production. !!!",
    ),
)


def _require(app: Flask, secret: Secret, *, dev: bool, strict: bool) -> None:
    """A missing secret: development's stand-in (said loudly), or a refusal to serve that says the fix."""
    if app.config[secret.name]:
        return
    if dev:
        if secret.dev_warning:
            log.warning("%s", secret.dev_warning)
        if secret.dev_value is not None:
            app.config[secret.name] = secret.dev_value
    elif strict:
        raise ConfigError(f"{secret.name} is not set: {secret.fix}")


def _check_data_key(keys: str) -> None:
    """Each of IVR_DATA_KEY's comma-separated keys must be a Fernet key."""
    from ivr.store.sealed import parse_keys

    if not keys:
        return
    try:
        parse_keys(keys)
    except ValueError as error:
        raise ConfigError(f"IVR_DATA_KEY: {error}; keys are comma-separated, newest first") from None
