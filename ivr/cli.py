"""The ops command line: `flask --app app ivr …`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

ivr = AppGroup("ivr", help="Hotline tools for ops: check, synth, simulate, graph, paths.")


def init_app(app: Flask) -> None:
    """Register the `ivr` command group."""
    from ivr.ops import db, register
    from ivr.synth_command import synth

    ivr.add_command(synth)
    register(ivr)
    db.register(ivr)
    app.cli.add_command(ivr)


__all__ = ["ivr", "init_app", "click"]
