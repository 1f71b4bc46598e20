"""The flow page: what this worker serves (digest, since when), the last reload error, audio coverage."""

from __future__ import annotations

import datetime as dt
import os

from flask import render_template

from ivr.console.pages import bp, tokyo
from ivr.state import get_state


@bp.get("/flow")
def flow() -> str:
    """This worker's flow version, the last refused edit (file:line messages), stale and missing audio."""
    state = get_state()
    loaded = state.loaded
    info: dict[str, object] = {"pid": os.getpid(), "errors": [str(p) for p in state.last_error]}
    if loaded is not None:
        bundle = loaded.bundle
        prompts = bundle.prompts
        info.update(
            digest=bundle.digest,
            loaded_at=tokyo(dt.datetime.fromtimestamp(loaded.loaded_at, dt.UTC)),
            fresh=len(bundle.audio),
            stale=[(pid, prompts[pid].text if pid in prompts else "") for pid in sorted(bundle.stale)],
            missing=[(pid, prompts[pid].text if pid in prompts else "") for pid in sorted(bundle.missing)],
            warnings=[str(p) for p in bundle.warnings],
            total=len(prompts),
        )
    return render_template("console/flow.html", loaded=loaded is not None, **info)
