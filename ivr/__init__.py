"""The bank's leak-notice hotline: Twilio voice webhooks answering with a Japanese keypad menu."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ivr import clock, config, console, logs, ops, privacy, state, web
from ivr.store import extension as store


def create_app(test_config: dict[str, Any] | None = None, *, serving: bool = True) -> Flask:
    """Build the hotline app: configuration, logging, the flow, the store, the web layer, the console, ops.

    serving=True (`app.py`, under serve.py) refuses to start on a missing secret or a broken flow;
    serving=False (the ops commands) reports them, so `ivr check` can say what is wrong.
    """
    app = Flask(__name__)
    logs.configure(serving=serving)
    privacy.init_app(app)
    with config.refusals(serving):
        config.init_app(app, test_config, strict=serving)
        clock.init_app(app)
        state.init_app(app, strict=serving)
        store.init_app(app, serving=serving, estimate_settings=state.estimate_settings(app))
        web.init_app(app, serving=serving)
        console.init_app(app)
        ops.init_app(app)
    return app
