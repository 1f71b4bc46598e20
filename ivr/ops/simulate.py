"""`flask --app app ivr simulate`: a caller in the terminal, on the real webhooks and the real TwiML."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.clock import system_clock
from ivr.ops.caller import Line
from ivr.ops.common import loaded_flow
from ivr.ops.converse import Conversation, Keyboard, Script

OUTCOMES = ("completed", "busy", "no-answer", "failed", "canceled")
SHARED = (
    "IVR_FLOWS",
    "IVR_PROMPTS",
    "IVR_AUDIO",
    "PUBLIC_BASE_URL",
    "AUDIO_BASE_URL",
    "IVR_RELOAD_INTERVAL_S",
)


def _instant(text: str, zone: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f'{text!r} is not a date and time: write it like "2026-12-31 10:00" ({zone})', param_hint="--at"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))


@contextmanager
def _quiet_call_log() -> Iterator[None]:
    # the service's per-request log lines would interleave with the transcript
    logger = logging.getLogger("ivr.call")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@click.command("simulate", short_help="Call the hotline from the terminal, as a caller.")
@click.option(
    "--keys",
    metavar='"1 2 #"',
    help='Run a script of keys (0-9, *, #; "-" or "_" = no input, i.e. the caller stays silent) and '
    "print the transcript; it ends when the keys run out.",
)
@click.option(
    "--at",
    metavar='"YYYY-MM-DD HH:MM"',
    help="When the call happens, in the flow's time zone (Asia/Tokyo): business hours and holidays "
    "follow it. Default: now.",
)
@click.option(
    "--dial",
    type=click.Choice(OUTCOMES),
    default="completed",
    show_default=True,
    help="How each transfer to the agent ends (asked for when interactive).",
)
@click.option(
    "--queue",
    "place",
    type=click.IntRange(0, 999),
    default=0,
    show_default=True,
    help="The caller's place in the queue after 0 (one place closer at each announcement, then an agent "
    "takes the call); 0 = an agent is free at once.",
)
@click.option("--no-sound", is_flag=True, help="Show the prompts without playing their audio.")
@with_appcontext
def simulate(keys: str | None, at: str | None, dial: str, place: int, no_sound: bool) -> None:
    """Call the hotline from the terminal: hear its prompts and press keys, as a caller would.

    Each line you type is pressed as keys (0-9, * and #); Enter alone is no input, q hangs up.
    The requests go to the real webhooks, signed like Twilio's; audio plays when a player
    (aplay, paplay, afplay or ffplay) is installed, except with --keys or --no-sound.
    """
    loaded = loaded_flow()
    zone = loaded.bundle.flow.calendar.timezone
    instant = _instant(at, zone) if at else None
    script = Script.parse(keys) if keys is not None else None
    config = {name: current_app.config[name] for name in SHARED}
    # the line's own scratch store: reservations never reach the real one
    line = Line({**config, "IVR_CLOCK": (lambda: instant) if instant else system_clock})
    now = (instant or system_clock()).astimezone(ZoneInfo(zone))
    status = line.bundle().flow.calendar.status(now)
    click.echo(
        f"calling {line.app.config['IVR_FLOWS']} (flow {line.bundle().digest}) at "
        f"{now:%a %Y-%m-%d %H:%M} {zone}: " + ("open" if status.open else f"closed ({status.reason})")
    )
    transfer: Callable[[], str] = (
        (lambda: dial)
        if script
        else (lambda: str(click.prompt("  the agent's phone", type=click.Choice(OUTCOMES), default=dial)))
    )
    with _quiet_call_log():
        conversation = Conversation(
            line, script or Keyboard(), transfer, sound=not (script or no_sound), queue_position=place
        )
        conversation.run()
