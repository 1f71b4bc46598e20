"""All Flask request code: the voice webhooks (calls, queue, callbacks, agent line), the signature guard,
request fields, responses, the call log, audio files, /healthz, /metrics, fallback answers."""

from __future__ import annotations

from flask import Flask

from ivr.web import (
    audio_files,
    fallback,
    form,
    health,
    metrics,
    responses,
    signature,
    voice,
    voice_agent_line,
    voice_callback,
    voice_queue,
)


def init_app(app: Flask, *, serving: bool) -> None:
    """Register every route and handler of the web layer."""
    form.init_app(app)
    responses.init_app(app)
    signature.init_app(app)
    metrics.init_app(app)
    voice.init_app(app, serving=serving)
    for blueprint in (voice_queue.bp, voice_callback.bp, voice_agent_line.bp):
        app.register_blueprint(blueprint)
    audio_files.init_app(app)
    health.init_app(app)
    fallback.init_app(app)
