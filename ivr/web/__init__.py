"""All Flask request code: the voice webhooks (calls, queue, callbacks, agent line), the signature guard,
request fields, responses, the call log, audio files, /healthz, /metrics, fallback answers."""

from __future__ import annotations

from flask import Flask

from ivr.web import (
    agent_line,
    audio_files,
    callback,
    fallback,
    form,
    health,
    metrics,
    queue,
    responses,
    signature,
    voice,
)


def init_app(app: Flask, *, serving: bool) -> None:
    """Register every route and handler of the web layer."""
    form.init_app(app)
    responses.init_app(app)
    signature.init_app(app)
    metrics.init_app(app)
    voice.init_app(app, serving=serving)
    for blueprint in (queue.bp, callback.bp, agent_line.bp):
        app.register_blueprint(blueprint)
    audio_files.init_app(app)
    health.init_app(app)
    fallback.init_app(app)
