"""The prompts of the queue, callbacks and the agent line: whole phrases for every number said."""

from __future__ import annotations

from collections.abc import Callable

from ivr.flow.model import Flow
from ivr.flow.queue import ESTIMATE_MINUTES

DIGITS = tuple(f"digit.{d}" for d in range(10))
# Played as they are written in prompts/system.yaml (no {…} in them).
FIXED = (
    "queue.estimate.more",
    "queue.estimate.none",
    "queue.comfort",
    "queue.keys",
    "queue.full",
    "queue.timeout",
    "queue.connect",
    "queue.back",
    "callback.offer.open",
    "callback.offer.closed",
    "callback.readback.intro",
    "callback.readback.end",
    "callback.withheld",
    "callback.enter",
    "callback.invalid",
    "callback.refused",
    "callback.done",
    "callback.duplicate",
    "callback.when.open",
    "callback.when.intro",
    "callback.when.end",
    "callback.failed",
    "callback.failed.closed",
    "agent_line.unknown",
    "agent_line.unavailable",
    "agent_line.pin",
    "agent_line.pin_wrong",
    "agent_line.locked",
    "agent_line.waiting",
    "agent_line.pending",
    "agent_line.menu",
    "agent_line.next.intro",
    "agent_line.next.answer",
    "agent_line.next.menu",
    "agent_line.next.start",
    "agent_line.next.none",
    "agent_line.no_callbacks",
    "agent_line.dialing",
    "agent_line.outcome",
    "agent_line.saved",
    "agent_line.not_saved",
)


def position_id(position: int, shown: int) -> str:
    """「ただいま、3番目に…」 for places 1..shown, 「(shown+1)番目以降に…」 beyond."""
    return f"queue.position.{max(position, 1)}" if position <= shown else "queue.position.more"


def estimate_id(seconds: float | None) -> str:
    """The whole phrase for an estimated wait: the next listed minutes up, 30分以上, or no estimate."""
    if seconds is None:
        return "queue.estimate.none"
    minutes = max(1, -(-int(seconds) // 60))
    return next((f"queue.estimate.{m}" for m in ESTIMATE_MINUTES if m >= minutes), "queue.estimate.more")


def count_id(count: int, shown: int) -> str:
    """「3件です。」 for 0..shown, 「(shown+1)件以上です。」 beyond."""
    return f"count.{max(count, 0)}" if count <= shown else "count.more"


def texts(flow: Flow, get: Callable[[str], str]) -> dict[str, str]:
    """prompt id → written text for every queue, callback and agent-line prompt this flow can play."""
    q = flow.queue
    if not q.enabled:
        return {}
    written: dict[str, str] = {}
    for place in range(1, q.positions + 1):
        written[f"queue.position.{place}"] = get("queue.position").format(n=place)
    written["queue.position.more"] = get("queue.position.more").format(n=q.positions + 1)
    for minutes in ESTIMATE_MINUTES:
        written[f"queue.estimate.{minutes}"] = get("queue.estimate").format(n=minutes)
    for n in range(q.agent_counts + 1):
        written[f"count.{n}"] = get("count").format(n=n)
    written["count.more"] = get("count.more").format(n=q.agent_counts + 1)
    for prompt_id in (*DIGITS, *FIXED):
        written[prompt_id] = get(prompt_id)
    for menu in flow.menus.values():  # what the agent line says the next caller last heard
        for option in menu.options:
            written[option.label] = get(option.label)
    return written
