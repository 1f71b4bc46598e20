"""Ops tools for flows.yaml: check, simulate, graph and paths (`flask --app app ivr …`)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the ops commands to the `ivr` command group."""
    from ivr.ops.check import check
    from ivr.ops.graph import graph
    from ivr.ops.paths import paths
    from ivr.ops.simulate import simulate
    from ivr.ops.twilio_setup import twilio

    for command in (check, simulate, graph, paths, twilio):
        group.add_command(command)
