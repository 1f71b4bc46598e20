"""The Now page's panels that other parts of the hotline fill: the queue, the agents, the callbacks.

A provider is a function (engine, now) → Panel, registered with `register(app, "queue", provider)`; the
console's own (console/queue_panels.py, from the journal and the reservations) are registered at init.
The defaults here name each panel and stand in when no provider is registered or one fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy import Engine


@dataclass(frozen=True)
class Panel:
    """One box on the Now page: a headline figure, then rows under named columns."""

    title: str
    headline: str = ""  # e.g. "3人待ち・最長 2分10秒"
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    empty: str = "まだデータがありません"  # said when there are no rows
    available: bool = True  # False: the feature behind it is not installed yet
    role: str = "viewer"  # who may see the panel (callbacks: agent and above, who may reveal numbers)
    links: tuple[tuple[str, str], ...] = field(default=())  # (label, url), e.g. the full callback list


Provider = Callable[[Engine, dt.datetime], Panel]
KEYS = ("queue", "agents", "callbacks")  # the order on the page


def _waiting(title: str, role: str = "viewer") -> Provider:
    def provider(_engine: Engine, _now: dt.datetime) -> Panel:
        return Panel(title, empty="待ち行列のデータはまだありません（未接続）", available=False, role=role)

    return provider


DEFAULTS: dict[str, Provider] = {
    "queue": _waiting("待ち行列（待っている方・最長の待ち時間）"),
    "agents": _waiting("オペレーター回線の担当者"),
    "callbacks": _waiting("折り返し待ち", role="agent"),
}


def register(app: Flask, key: str, provider: Provider) -> None:
    """Let a provider fill one of the Now page's panels (queue, agents, callbacks)."""
    if key not in KEYS:
        raise KeyError(f"no panel {key!r} on the Now page: use one of {', '.join(KEYS)}")
    app.extensions.setdefault("ivr.console.panels", dict(DEFAULTS))[key] = provider


def panels(engine: Engine, now: dt.datetime) -> list[Panel]:
    """Every panel as its provider sees it now; a provider that fails shows that, not an error page."""
    providers: dict[str, Provider] = current_app.extensions.get("ivr.console.panels", DEFAULTS)
    shown = []
    for key in KEYS:
        try:
            shown.append(providers[key](engine, now))
        except Exception:  # one broken panel must not blank the page a supervisor keeps open
            current_app.logger.exception("console: the %s panel failed", key)
            shown.append(Panel(DEFAULTS[key](engine, now).title, empty="表示できませんでした（ログを参照）"))
    return shown
