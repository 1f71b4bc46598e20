"""The bank's leak-notice hotline: Twilio voice webhooks answering with a Japanese keypad menu."""

from __future__ import annotations

import logging
from typing import Any

import click
from flask import Flask

from ivr import audio, cli, clock, config, errors, health, journal, metrics, privacy, security, state, voice


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the hotline app: configuration, flow, then each concern registers itself."""
    app = Flask(__name__)
    # Under the `flask` command (ops tools) a broken flow or missing secret must not stop `ivr check`
    # from saying what is wrong; served by gunicorn (no click context), the app refuses to start.
    strict = click.get_current_context(silent=True) is None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config.init_app(app, test_config, strict=strict)
    privacy.init_app(app)
    clock.init_app(app)
    security.init_app(app)
    state.init_app(app, strict=strict)
    journal.init_app(app, serving=strict)
    metrics.init_app(app)
    voice.init_app(app, serving=strict)
    audio.init_app(app)
    health.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    return app
