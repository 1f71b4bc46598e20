"""The call journal in the app: engine from DATABASE_URL, the migration check, one writer per worker."""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
from collections.abc import Callable, Mapping

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ivr import clock
from ivr.config import ConfigError
from ivr.privacy import mask_number
from ivr.state import Loaded
from ivr.store import engine as engines
from ivr.store import migrate
from ivr.store.journal import Event, Journal, new_event, stop_all
from ivr.store.numbers import NumberKey
from ivr.web import metrics
from ivr.web.fields import current_request

log = logging.getLogger("ivr.journal")
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_DETAIL = ("digits", "answer", "menu", "outcome", "reason", "status", "error")


def get_engine() -> Engine:
    """The current app's database engine."""
    found: Engine = current_app.extensions["ivr.engine"]
    return found


def record(
    event: str,
    fields: Mapping[str, object],
    form: Mapping[str, str] | None = None,
    *,
    pressed: str = "",
    caller: bool = False,
) -> None:
    """Count the event in the metrics and buffer its row for the database; never fails a webhook."""
    count(event, fields)
    buffer(event, fields, form, pressed=pressed, caller=caller)


def count(event: str, fields: Mapping[str, object]) -> None:
    """Count the event in the metrics only (its webhook's row is another event's); never fails a webhook."""
    try:
        metrics.observe(event, fields)
    except Exception:  # the caller's call matters more than a counter
        log.exception("metrics: could not count %s", event)


def buffer(
    event: str,
    fields: Mapping[str, object],
    form: Mapping[str, str] | None = None,
    *,
    pressed: str = "",
    caller: bool = False,
) -> None:
    """Note the event for its row in the database only (counted already); never fails a webhook.

    `fields`: the event's (not changed afterwards: the writer reads them). `form`: the request's form when
    the caller already holds it (each proxy lookup costs). `pressed`: the keys that led to the event (its
    position is where). `caller`: the row brings the caller's number to the call's row (the incoming call).
    Only what the request holds is noted here; the writer makes the row of it (finisher).
    """
    try:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        journal: Journal | None = app.extensions.get("ivr.journal")
        if journal is None:
            return
        if form is None:
            form = current_request().form
        sid = form.get("CallSid")
        if not sid:
            return
        number = form.get("From") if caller else None
        seconds = form.get("CallDuration") if event == "status" else None
        journal.record((event, fields, sid, number, seconds, pressed, clock.stamp(app)))
    except Exception:  # the caller's call matters more than its journal line
        log.exception("journal: could not record %s", event)


# what buffer() notes: event, fields, CallSid, caller's number, CallDuration, keys pressed, clock.stamp
Note = tuple[str, Mapping[str, object], str, str | None, str | None, str, int]


def finisher(key: NumberKey) -> Callable[[Note | Event], Event]:
    """What the writer makes of a note (an Event as it is): its row, the caller's number masked and hashed.

    The number waits in clear in the worker's memory only until the writer's next batch (a second; up
    to 5 s while the database is down): the batch makes the Event before it writes.
    """

    def finish(note: Note | Event) -> Event:
        if isinstance(note, Event):  # a batch given back to retry, or an event recorded whole (tests)
            return note
        event, fields, sid, number, seconds, pressed, stamp = note
        detail = ""
        for name in _DETAIL:  # the first of these the event carries
            if name in fields:
                detail = str(fields[name])[:40]
                break
        masked = hashed = duration = amount = None
        if number:
            masked, hashed = mask_number(number), key.hash(number)
        if seconds is not None:
            duration = int(seconds) if seconds.isdigit() else None
        if "wait_s" in fields and str(fields["wait_s"]).isdigit():
            amount = int(str(fields["wait_s"]))
        position, ended = str(fields.get("p", ""))[:16], event == "status" and detail in ENDED
        at, sid = clock.from_stamp(stamp), sid[:64]
        row = (sid, at, event, position, detail, masked, hashed, duration, ended, amount, pressed or None)
        found: Event = new_event(Event, row)
        return found

    return finish


def heard(
    current: Loaded,
    path: str,
    pressed: str = "",
    where: str = "",
    *,
    caller: bool = False,
    form: Mapping[str, str] | None = None,
) -> bool:
    """Journal the menu or the answer the caller hears from the start of `path` now; False: none there.

    `pressed`: the keys that led here, pressed at `where` (the row's position then, as a key row's).
    `form`: the request's, when the caller holds it.
    """
    try:
        menus, option = current.bundle.flow.walk(path)
    except KeyError:
        return False
    position = where if pressed else path
    if option is not None:
        record("answer", {"p": position, "answer": option.answer}, form, pressed=pressed, caller=caller)
    else:
        record("menu", {"p": position, "menu": menus[-1].id}, form, pressed=pressed, caller=caller)
    return True


def health() -> dict[str, object] | None:
    """The journal's state for /healthz (None when this process does not record calls)."""
    journal: Journal | None = current_app.extensions.get("ivr.journal")
    return journal.status() if journal else None


def worker_exit() -> None:
    """A multiprocessing worker (granian's) ends: atexit does not run there, its finalizers do."""
    stop_all()
    metrics.process_exit()


atexit.register(stop_all)
# Granian's workers are multiprocessing children: they end through os._exit after these finalizers.
multiprocessing.util.Finalize(None, worker_exit, exitpriority=10)


def check_schema(engine: Engine, url: str) -> None:
    """Refuse to serve on a database behind the migrations; a database that is down only gets a warning."""
    try:
        problem = migrate.behind(engine)
    except SQLAlchemyError as error:
        log.error(
            "journal database %s unreachable at start (%s): calls are answered, events wait in memory",
            engines.display(url),
            str(error).splitlines()[0],
        )
        return
    if problem:
        raise ConfigError(f"DATABASE_URL={engines.display(url)}: {problem}")


def init_app(app: Flask, *, serving: bool) -> None:
    """Create the engine; when serving calls, check the schema and start this worker's journal."""
    url = app.config["DATABASE_URL"] or engines.default_url(app.instance_path)
    app.config["DATABASE_URL"] = url
    engine = engines.create(url)
    app.extensions["ivr.engine"] = engine
    # the journal's calls, the callback reservations and the agents' caller IDs: one key state per worker
    app.extensions["ivr.number_key"] = NumberKey(str(app.config["IVR_NUMBER_KEY"]).encode("utf-8"))
    if not serving:  # ops commands (simulate, report) never write calls into the journal
        return
    check_schema(engine, url)
    prepare = finisher(app.extensions["ivr.number_key"])
    journal = Journal(engine, on_change=metrics.journal_changed, prepare=prepare)
    app.extensions["ivr.journal"] = journal
