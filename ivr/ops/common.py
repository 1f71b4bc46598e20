"""What the ops commands share: the flow as the files hold it now, or a clear refusal."""

from __future__ import annotations

import click

from ivr.state import Loaded, get_state

CHECK = "flask --app app ivr check"


def loaded_flow() -> Loaded:
    """The app's flow, reloaded if edited; a UsageError when the files are broken now."""
    state = get_state()
    loaded = state.current()
    if loaded is None or state.last_error:  # a last good flow is not what ops just wrote
        problems = "".join(f"\n{p}" for p in state.last_error)
        raise click.UsageError(f"the flow has errors; fix them first (`{CHECK}` lists them):{problems}")
    return loaded
