"""The ops command line, `flask --app app ivr …`: check, synth, simulate, graph, paths."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, ScriptInfo


@click.group("ivr", cls=AppGroup)
@click.pass_context
def commands(ctx: click.Context) -> None:
    """Hotline tools for ops: check, synth, simulate, graph, paths; db, report, purge; user."""
    info = ctx.ensure_object(ScriptInfo)
    if info.create_app is None and info._loaded_app is None:
        # Found as a `flask.commands` plugin, before any app was loaded: build the ops app, which
        # reports a broken flow or a missing secret instead of refusing to start like a server.
        from ivr import create_app

        info.create_app = lambda: create_app(serving=False)


def _register() -> None:
    from ivr.ops.callbacks import agent, callbacks
    from ivr.ops.check import check
    from ivr.ops.db import db, purge, report
    from ivr.ops.graph import graph
    from ivr.ops.paths import paths
    from ivr.ops.simulate import simulate
    from ivr.ops.synth import synth
    from ivr.ops.twilio_setup import twilio
    from ivr.ops.users import user

    for command in (check, synth, simulate, graph, paths, db, report, purge, twilio, user, agent, callbacks):
        commands.add_command(command)


_register()


def init_app(app: Flask) -> None:
    """Put the `ivr` group on app.cli too (the test runner, and a checkout without the entry point)."""
    app.cli.add_command(commands)
