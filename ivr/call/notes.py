"""What a call decision asks the call log to record: an event and its fields, in order."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Note:
    """One call-log event (journal row and metrics) with its fields, as webhook.note takes them."""

    event: str
    fields: dict[str, str | int] = field(default_factory=dict)
