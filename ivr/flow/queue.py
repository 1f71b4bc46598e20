"""The `queue:` section of flows.yaml: Twilio's queue for callers waiting for a person, and callbacks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.flow.fields import Section
from ivr.flow.yamlpos import Document

NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")  # Twilio queue names: up to 64 characters
# The estimates that have a whole phrase each (minutes); longer waits are said as "30分以上".
ESTIMATE_MINUTES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 30)
FIELDS = (
    "name",
    "max_size",
    "max_wait_s",
    "announce_every_s",
    "positions",
    "estimate_min_history",
    "estimate_window_min",
    "callback_attempts",
    "callback_retry_min",
    "callback_retention_days",
    "agent_counts",
)


@dataclass(frozen=True)
class QueueSettings:
    """How callers wait for a person and how callbacks are kept; `enabled` False = the old direct <Dial>."""

    enabled: bool = False
    name: str = "hotline"
    max_size: int = 100  # callers beyond this place are offered a callback instead of waiting
    max_wait_s: int = 900  # after this long in the queue the caller is offered a callback
    announce_every_s: int = 30  # silence between two announcements of the place in the queue
    positions: int = 20  # places said one by one; beyond: 「N番目以降」
    estimate_min_history: int = 5  # bridged waits needed before an estimate is said at all
    estimate_window_min: int = 60  # how far back the journal's waits count for the estimate
    callback_attempts: int = 3  # calls to a customer before the reservation is given up
    callback_retry_min: int = 30  # wait before the next attempt after busy / no answer
    callback_retention_days: int = 30  # a finished reservation's number is erased after this (ivr purge)
    agent_counts: int = 30  # counts the agent line says one by one; beyond: 「N件以上」


def read(doc: Document) -> QueueSettings:
    """The settings from `queue:` (absent: disabled); problems with their line go to doc.problems."""
    if not isinstance(doc.data, dict) or "queue" not in doc.data:
        return QueueSettings()
    sec = Section(doc, ("queue",), FIELDS, required=("name",))
    name = sec.text("name", "hotline") or "hotline"
    if not NAME.match(name):
        doc.problem(
            ("queue", "name"),
            f"{name!r} is not a usable queue name",
            "use up to 64 letters, digits, - or _, e.g. name: hotline",
        )
        name = "hotline"

    def whole(field: str, default: int, low: int, high: int) -> int:
        return int(sec.number(field, default, low, high, integer=True))

    return QueueSettings(
        enabled=True,
        name=name,
        max_size=whole("max_size", 100, 1, 1000),
        max_wait_s=whole("max_wait_s", 900, 60, 3600),
        announce_every_s=whole("announce_every_s", 30, 10, 120),
        positions=whole("positions", 20, 1, 50),
        estimate_min_history=whole("estimate_min_history", 5, 1, 100),
        estimate_window_min=whole("estimate_window_min", 60, 5, 24 * 60),
        callback_attempts=whole("callback_attempts", 3, 1, 10),
        callback_retry_min=whole("callback_retry_min", 30, 1, 24 * 60),
        callback_retention_days=whole("callback_retention_days", 30, 1, 3650),
        agent_counts=whole("agent_counts", 30, 1, 99),
    )
