"""The `numbers:` section of flows.yaml: the hotline's own number and the agents' line, as E.164."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.flow.fields import Section
from ivr.flow.yamlpos import Document

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class Numbers:
    """The account's numbers this service answers: what callers dial and what agents dial."""

    hotline: str | None = None
    agent_line: str | None = None


def read(doc: Document) -> Numbers:
    """The numbers from the `numbers:` section (both optional); problems go to doc.problems."""
    sec = Section(doc, ("numbers",), ("hotline", "agent_line"))
    found: dict[str, str | None] = {}
    for name in ("hotline", "agent_line"):
        value = sec.get(name)
        if value is not None and not (isinstance(value, str) and E164.match(value.strip())):
            doc.problem(
                ("numbers", name),
                f"{value!r} is not an E.164 phone number",
                'write it with + and the country code in quotes, like "+81120701675", or null',
            )
            value = None
        found[name] = value.strip() if isinstance(value, str) else None
    if found["hotline"] and found["hotline"] == found["agent_line"]:
        doc.problem(
            ("numbers", "agent_line"),
            "the agent line is the hotline's own number",
            "give the agents their own number, or write agent_line: null",
        )
    return Numbers(found["hotline"], found["agent_line"])
