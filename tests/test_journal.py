"""Calls through the real webhooks land in the journal (SQLite and PostgreSQL) and the report counts them."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import DateTime, Engine, event, select

from helpers import (
    CLOSED_INSTANT,
    OPEN_INSTANT,
    FixedClock,
    closed_port_url,
    make_app,
    parse,
    twilio_for,
    wait_for,
)
from ivr import clock
from ivr.store import engine as engines
from ivr.store import extension as store
from ivr.store import traffic
from ivr.store.journal import Journal
from ivr.store.report import build, counts
from ivr.store.rows import Event, KnownCalls
from ivr.store.tables import calls, events
from ivr.store.write import write_batch
from ivr.testing import Twilio

NUMBER = "+819012345678"


def journal_of(app: Flask) -> Journal:
    found = store.of(app).journal
    assert found is not None
    return found


def flushed(app: Flask) -> None:
    assert journal_of(app).flush(), journal_of(app).status()


class Caller:
    """One caller on the hotline: posts what Twilio posts for one CallSid, advancing the fixed clock."""

    def __init__(self, twilio: Twilio, clock: FixedClock, sid: str, number: str = NUMBER) -> None:
        self.twilio, self.clock, self.form = twilio, clock, {"CallSid": sid, "From": number}

    def post(self, url: str, after_s: float = 5.0, **form: str) -> None:
        self.clock.instant += dt.timedelta(seconds=after_s)
        parse(self.twilio.post(url, **self.form, **form))

    def call(self, *steps: tuple[str, str], status: str = "completed", duration: str = "60") -> None:
        """Incoming, then each (position, digits) Gather action, then the status callback."""
        self.post("/voice", after_s=0)
        for position, digits in steps:
            self.post(f"/voice/key?p={position}&n=0&x=0", Digits=digits)
        self.post("/voice/status", CallStatus=status, CallDuration=duration)


@pytest.fixture
def journal_app(files: Path, clock: FixedClock, migrated_url: str) -> Flask:
    return make_app(files, clock, DATABASE_URL=migrated_url)


def report(app: Flask, *args: str) -> dict[str, object]:
    result = app.test_cli_runner().invoke(args=["ivr", "report", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.output)
    return found


def test_a_call_is_one_row_and_its_events(journal_app: Flask, clock: FixedClock) -> None:
    twilio = twilio_for(journal_app.test_client())
    Caller(twilio, clock, "CA1").call(("", "7"), ("", "1"), ("1", "2"), ("12", "0"), duration="42")
    Caller(twilio, clock, "CA1").post("/voice/agent/done?p=12", DialCallStatus="busy")
    flushed(journal_app)
    engine = engines.create(journal_app.config["DATABASE_URL"])
    with engine.connect() as connection:
        row = connection.execute(select(calls)).one()
        kinds = connection.execute(
            select(events.c.kind, events.c.position, events.c.detail, events.c.pressed).order_by(events.c.id)
        ).all()
    engine.dispose()
    assert row.call_sid == "CA1" and row.duration_s == 42 and row.status == "completed"
    assert row.started_at == OPEN_INSTANT.astimezone(dt.UTC).replace(tzinfo=None)
    assert row.ended_at > row.started_at
    assert row.number_masked == "+81********78"
    assert len(row.number_hash) == 64 and "9012345678" not in row.number_hash
    # one row per webhook: the start menu's is the incoming call's; a key's is what it led to, at
    # the position where it was pressed; a key that leads to nothing journaled (7: no such option, the
    # menu again) has a key row of its own
    assert [tuple(k) for k in kinds] == [
        ("menu", "", "main", None),
        ("key", "", "7", None),
        ("menu", "", "s1", "1"),
        ("answer", "1", "a1_2", "2"),
        ("agent", "12", "", "0"),
        ("status", "", "completed", None),
        ("agent-done", "12", "busy", None),
    ]


def test_the_report_counts_what_callers_did(files: Path, migrated_url: str) -> None:
    clock = FixedClock(OPEN_INSTANT)
    app = make_app(files, clock, DATABASE_URL=migrated_url)
    twilio = twilio_for(app.test_client())
    # deflected: two answers, hangs up after the second (10 s to the first answer: 2 keys × 5 s)
    Caller(twilio, clock, "CA1").call(("", "1"), ("1", "1"), ("11", "#"), ("1", "3"))
    # asks for a person after an answer: not deflected; the transfer completes
    Caller(twilio, clock, "CA2", "+819011112222").call(("", "3"), ("3", "1"), ("31", "0"))
    Caller(twilio, clock, "CA2").post("/voice/agent/done?p=31", DialCallStatus="completed")
    # the same number calls back and hangs up in section 2's menu
    Caller(twilio, clock, "CA3", "+819011112222").call(("", "2"))
    # silence until the end: the final no-input (in hours: put through)
    silent = Caller(twilio, clock, "CA4", "+819033334444")
    silent.post("/voice")
    for n in range(2):  # the 2nd silence in a row is final (max_no_input: 2)
        silent.post(f"/voice/key?p=&n={n}&x=0")
    silent.post("/voice/status", CallStatus="completed", CallDuration="30")
    flushed(app)

    # the next day, out of hours: asks for a person, hears the hours, hangs up in the main menu
    clock.instant = CLOSED_INSTANT + dt.timedelta(days=1)
    Caller(twilio, clock, "CA5", "+819055556666").call(("", "0"))
    flushed(app)

    figures = report(app)
    assert figures["calls"] == 5
    assert figures["answers"] == {"a1_1": 1, "a1_3": 1, "a3_1": 1}
    assert figures["deflected"] == 1
    assert figures["agent_requests"] == {"in_hours": 1, "out_of_hours": 1}
    assert figures["transfers"] == {"completed": 1}
    assert figures["hangups"] == {"a1_3": 1, "agent": 1, "final": 1, "main": 1, "s2": 1}
    assert figures["calls_per_day"] == {"2026-11-25": 4, "2026-11-26": 1}
    assert figures["calls_per_hour"] == {"10": 4, "20": 1}
    assert figures["seconds_to_first_answer"] == {"calls": 2, "median": 10.0, "mean": 10.0}
    assert (figures["callers"], figures["repeat_callers"], figures["repeat_calls"]) == (4, 1, 1)
    assert figures["no_input_final"] == 1

    only_first_day = report(app, "--from", "2026-11-25", "--to", "2026-11-25")
    assert only_first_day["calls"] == 4
    assert only_first_day["agent_requests"] == {"in_hours": 1, "out_of_hours": 0}
    dump = json.dumps(figures)
    assert "9011112222" not in dump and "+8190" not in dump


@pytest.mark.parametrize("remember", [False, True], ids=["every-call-upserted", "known-calls-skipped"])
def test_a_batch_reads_back_as_written_and_merges_into_its_calls(migrated_url: str, remember: bool) -> None:
    """write_batch hands the driver plain tuples (executemany, COPY): SQLAlchemy reads back every value.

    A writer that remembers the calls it gave a row (as the Journal does) ends with the same rows.
    """
    known = KnownCalls() if remember else None
    t0 = dt.datetime(2026, 11, 25, 1, 0, 0)  # no microseconds: SQLite's text still has its six digits
    s = dt.timedelta(seconds=1)
    first = [
        Event("CA-a", t0 + s + dt.timedelta(microseconds=5), "incoming", "", "", "+81********78", "a" * 64),
        Event("CA-a", t0 + 3 * s, "key", "", "1"),
        # the end of CA-b is written before its start (another worker had the start)
        Event("CA-b", t0 + 9 * s, "status", "2", "completed", duration_s=30, ended=True),
        Event("CA-c", t0, "queue-left", "10", 'tab\t"quote"\\ 日本', amount=35),
        Event("CA-d", t0 + s, "menu", "", "main"),
    ]
    second = [
        Event("CA-b", t0 + 2 * s, "incoming", "", "", "+81********11", "b" * 64),
        Event("CA-a", t0 + 8 * s, "status", "1", "in-progress"),
        Event("CA-a", t0 + 20 * s, "status", "1", "completed", duration_s=19, ended=True),
        Event("CA-a", t0 + 21 * s, "incoming", "1", "", "+81********00", "0" * 64),  # the first number stays
        Event("CA-c", t0 + 5 * s, "key", "10", "#"),  # later than the call's start: changes nothing
        Event("CA-d", t0 + 4 * s, "incoming", "", "", "+81********22", "d" * 64),  # only the number is new
    ]
    engine = engines.create(migrated_url)
    write_batch(engine, first, known)
    write_batch(engine, second, known)
    columns = (events.c.call_sid, events.c.at, events.c.kind, events.c.position, events.c.detail)
    with engine.connect() as connection:
        stored = connection.execute(select(*columns, events.c.amount).order_by(events.c.id)).all()
        rows = {row.call_sid: tuple(row) for row in connection.execute(select(calls))}
        raw_times = connection.exec_driver_sql("SELECT at FROM events ORDER BY id").scalars().all()
    written = first + second
    assert [tuple(row) for row in stored] == [(*e[:5], e.amount) for e in written]
    assert rows == {
        "CA-a": ("CA-a", t0 + s + dt.timedelta(microseconds=5), t0 + 20 * s, 19, "completed")
        + ("+81********78", "a" * 64),
        "CA-b": ("CA-b", t0 + 2 * s, t0 + 9 * s, 30, "completed", "+81********11", "b" * 64),
        "CA-c": ("CA-c", t0, None, None, None, None, None),
        "CA-d": ("CA-d", t0 + s, None, None, None, "+81********22", "d" * 64),
    }
    if engine.dialect.name == "sqlite":  # the very text SQLAlchemy stores for a DateTime
        to_text = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
        assert to_text is not None
        assert raw_times == [to_text(e.at) for e in written]
    # the report compares its bounds with the stored times: CA-c starts exactly on the lower one
    figures = build(engine, t0.replace(tzinfo=dt.UTC), (t0 + 2 * s).replace(tzinfo=dt.UTC))
    assert figures["calls"] == 3
    engine.dispose()


def test_a_large_batch_goes_in_few_statements_and_reads_back_whole(migrated_url: str) -> None:
    """1000 events of 700 calls: every row back in order, and on SQLite no executemany (see ivr.store.write).

    sqlite3's executemany lets go of the GIL at each row and waits for it back behind the request threads;
    multi-row statements of at most 512 rows (512 + 256 + 128 + … for the rest) let go once each.
    """
    t0 = dt.datetime(2026, 11, 25, 1, 0, 0)
    kind = ["incoming"] * 700 + ["menu"] * 300
    ms = dt.timedelta(milliseconds=1)
    batch = [Event(f"CA-{i % 700:03d}", t0 + i * ms, kind[i], str(i)) for i in range(1000)]
    engine = engines.create(migrated_url)
    statements: list[tuple[bool, int]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def seen(_c: object, _cursor: object, _sql: str, params: object, _context: object, many: bool) -> None:
        statements.append((many, len(params) if isinstance(params, tuple | list) else 0))

    write_batch(engine, batch, KnownCalls())
    written = list(statements)
    with engine.connect() as connection:
        stored = connection.execute(
            select(events.c.call_sid, events.c.at, events.c.position).order_by(events.c.id)
        ).all()
        starts = dict(connection.execute(select(calls.c.call_sid, calls.c.started_at)).all())
    engine.dispose()
    assert [tuple(row) for row in stored] == [(e.call_sid, e.at, e.position) for e in batch]
    assert starts == {f"CA-{n:03d}": t0 + dt.timedelta(milliseconds=n) for n in range(700)}
    if engine.dialect.name == "sqlite":
        # events and calls: 512 + 256 + 128 + 64 + 32 + 8 and 512 + 128 + 32 + 16 + 8 + 4 rows of 7 values
        assert written == [(False, n * 7) for n in (512, 256, 128, 64, 32, 8)] + [
            (False, n * 7) for n in (512, 128, 32, 16, 8, 4)
        ]


def test_the_map_counts_keys_on_their_own_rows_and_on_the_rows_they_led_to(migrated_url: str) -> None:
    """Rows from before migration 0005 (a key row, then where it led) and after (one row) count alike."""
    t0 = dt.datetime(2026, 11, 25, 1, 0, 0)
    s = dt.timedelta(seconds=1)
    engine = engines.create(migrated_url)
    write_batch(
        engine,
        [
            Event("CA-old", t0, "incoming", "", "", "+81********78", "o" * 64),
            Event("CA-old", t0, "menu", "", "main"),
            Event("CA-old", t0 + s, "key", "", "1"),
            Event("CA-old", t0 + s, "menu", "1", "s1"),
            Event("CA-new", t0, "menu", "", "main", "+81********11", "n" * 64),
            Event("CA-new", t0 + s, "menu", "", "s1", pressed="1"),
            Event("CA-new", t0 + 2 * s, "key", "1", "7"),
            Event("CA-new", t0 + 3 * s, "answer", "1", "a1_2", pressed="2"),
        ],
    )
    seen = traffic.build(engine, None, None)
    engine.dispose()
    assert seen.keys == {("", "1"): 2, ("1", "7"): 1, ("1", "2"): 1}


def test_two_writers_that_skip_known_calls_keep_the_earliest_start(migrated_url: str) -> None:
    """Worker A saw a call's key first, B its incoming (earlier) later: the row starts at the incoming."""
    t0 = dt.datetime(2026, 11, 25, 1, 0, 0)
    a, b, engine = KnownCalls(), KnownCalls(), engines.create(migrated_url)
    write_batch(engine, [Event("CA-x", t0 + dt.timedelta(seconds=9), "key", "", "1")], a)
    write_batch(engine, [Event("CA-x", t0, "incoming", "", "", "+81********78", "x" * 64)], b)
    write_batch(engine, [Event("CA-x", t0 + dt.timedelta(seconds=20), "menu", "1", "s1")], a)  # skipped
    write_batch(
        engine, [Event("CA-x", t0 + dt.timedelta(seconds=30), "status", "1", "completed", ended=True)], a
    )
    with engine.connect() as connection:
        row = connection.execute(select(calls)).one()
        n_events = len(connection.execute(select(events.c.id)).all())
    engine.dispose()
    assert (row.started_at, row.ended_at, row.number_hash) == (t0, t0 + dt.timedelta(seconds=30), "x" * 64)
    assert n_events == 4 and "CA-x" in a and "CA-x" in b


def test_known_calls_forget_the_oldest_first() -> None:
    known = KnownCalls(size=3)
    known.add(["CA1", "CA2", "CA3"])
    known.add(["CA4"])
    assert [sid in known for sid in ("CA1", "CA2", "CA3", "CA4")] == [False, True, True, True]


def test_events_that_come_while_a_batch_is_written_wait_for_the_next_tick(migrated_url: str) -> None:
    """One batch a tick: a busy line must not turn the writer into a stream of small transactions.

    Writing at once what came during a write did: on PostgreSQL a batch's round trips took long enough for
    the next events to come, and served at full load the writer wrote batches of a few events back to back,
    each paying a transaction's round trips.
    """
    engine = engines.create(migrated_url)
    journal = Journal(engine, interval_s=1.0)
    t0 = dt.datetime(2026, 12, 1)
    during = [Event(f"CA-{i}", t0, "menu") for i in (1, 2, 3)]

    @event.listens_for(engine, "begin")
    def more_calls(_connection: object) -> None:  # in the writer's transaction: after it took its batch
        while during:
            journal.note(during.pop())

    journal.note(Event("CA-0", t0, "incoming"))
    wait_for(lambda: journal.written >= 1, 5.0)
    time.sleep(0.3)  # well within the tick (1 s): the three events wait for the next one
    assert (journal.written, journal.depth) == (1, 3)
    wait_for(lambda: journal.written == 4, 5.0)
    journal.stop()
    assert counts(engine) == (4, 4)
    engine.dispose()


def test_a_backlog_of_whole_batches_is_written_at_once(migrated_url: str) -> None:
    """More than a batch waiting (a database back up, a burst): whole batches go back to back, the rest
    waits for the next tick."""
    engine = engines.create(migrated_url)
    journal = Journal(engine, interval_s=1.0, batch_max=10)
    t0 = dt.datetime(2026, 12, 1)
    for i in range(35):  # before the thread's first tick
        journal.note(Event(f"CA-{i:02d}", t0, "incoming"))
    wait_for(lambda: journal.written >= 30, 5.0)
    assert (journal.written, journal.depth) == (30, 5)
    journal.stop()
    assert counts(engine) == (35, 35)
    engine.dispose()


class SlicedWriter:
    """A journal whose notes are plain numbers; it logs each note it makes and each pause between them."""

    def __init__(self, engine: Engine, slice_rows: int) -> None:
        self.log: list[tuple[str, object]] = []
        self.journal = Journal(engine, interval_s=60, prepare=self.make, slice_rows=slice_rows, pause_s=0.002)
        self.journal.sleep = lambda seconds: self.log.append(("pause", seconds))

    def make(self, n: int) -> Event:
        self.log.append(("note", n))
        return Event(f"CA-{n}", dt.datetime(2026, 12, 1), "menu")


@pytest.mark.parametrize(
    ("notes", "slice_rows", "pauses_after"),
    [(33, 16, [16, 32]), (16, 16, []), (1, 16, []), (5, 2, [2, 4])],
    ids=["three-slices", "one-full-slice", "one-note", "small-slices"],
)
def test_the_writer_makes_its_notes_in_slices_with_a_pause_between(
    migrated_url: str, notes: int, slice_rows: int, pauses_after: list[int]
) -> None:
    """The request threads get the GIL between slices: a second's notes made in one go put a batch's
    worth of the writer's CPU on the requests that came meanwhile (the p99 at half load)."""
    engine = engines.create(migrated_url)
    writer = SlicedWriter(engine, slice_rows)
    for n in range(notes):
        writer.journal.note(n)
    assert writer.journal.write_once() == notes
    expected: list[tuple[str, object]] = []
    for n in range(notes):
        if n in pauses_after:
            expected.append(("pause", 0.002))
        expected.append(("note", n))
    assert writer.log == expected
    assert counts(engine) == (notes, notes)
    engine.dispose()


def test_a_stop_writes_what_is_left_without_pausing(migrated_url: str) -> None:
    """At a stop no request waits for the GIL, and the worker is about to exit: the flush goes straight."""
    engine = engines.create(migrated_url)
    writer = SlicedWriter(engine, slice_rows=4)
    for n in range(10):
        writer.journal.note(n)
    writer.journal.stop()
    assert writer.log == [("note", n) for n in range(10)]
    assert counts(engine) == (10, 10)
    engine.dispose()


def test_a_call_is_reported_with_its_events_after_its_day(migrated_url: str) -> None:
    """The report finds events by time: an answer heard after midnight counts for the day the call began."""
    start = dt.datetime(2026, 11, 26, 14, 50, 0)  # UTC: 23:50 on the 26th in Tokyo
    later = start + dt.timedelta(minutes=30)  # 00:20 on the 27th
    engine = engines.create(migrated_url)
    write_batch(
        engine,
        [
            Event("CA-late", start, "incoming", "", "", "+81********78", "l" * 64),
            Event("CA-late", later, "answer", "12", "a1_2"),
            Event("CA-late", later + dt.timedelta(minutes=2), "status", "", "completed", ended=True),
        ],
    )
    day = dt.datetime(2026, 11, 26, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    figures = build(engine, day, day + dt.timedelta(days=1))
    next_day = build(engine, day + dt.timedelta(days=1), day + dt.timedelta(days=2))
    engine.dispose()
    assert (figures["calls"], figures["answers"], figures["hangups"]) == (1, {"a1_2": 1}, {"a1_2": 1})
    assert (next_day["calls"], next_day["answers"]) == (0, {})


@pytest.mark.parametrize("form", ["table", "csv"], ids=["table", "csv"])
def test_the_report_reads_as_a_table_and_as_csv(journal_app: Flask, clock: FixedClock, form: str) -> None:
    Caller(twilio_for(journal_app.test_client()), clock, "CA1").call(("", "4"), ("4", "2"))
    flushed(journal_app)
    result = journal_app.test_cli_runner().invoke(args=["ivr", "report", "--format", form])
    assert result.exit_code == 0, result.output
    assert "a4_2" in result.output
    if form == "csv":
        assert result.output.splitlines()[0] == "section,key,value"
        assert "answers,a4_2,1" in result.output.splitlines()
    else:
        assert result.output.startswith("calls 1")


def test_no_number_in_clear_anywhere_in_the_database(journal_app: Flask, clock: FixedClock) -> None:
    numbers = ["+819012345678", "+81312345678", "09098765432"]
    twilio = twilio_for(journal_app.test_client())
    for n, number in enumerate(numbers):
        Caller(twilio, clock, f"CA{n}", number).call(("", "1"), ("1", "1"))
    flushed(journal_app)
    engine = engines.create(journal_app.config["DATABASE_URL"])
    with engine.connect() as connection:
        everything = repr([connection.execute(select(t)).all() for t in (calls, events)])
    engine.dispose()
    for number in numbers:
        digits = number.lstrip("+0")
        assert digits not in everything and digits[2:] not in everything


def test_purge_deletes_what_is_older_than_asked(journal_app: Flask, clock: FixedClock) -> None:
    twilio = twilio_for(journal_app.test_client())
    Caller(twilio, clock, "CA-old").call(("", "1"))
    clock.instant += dt.timedelta(days=100)
    Caller(twilio, clock, "CA-new").call(("", "2"))
    flushed(journal_app)
    runner = journal_app.test_cli_runner()
    result = runner.invoke(args=["ivr", "purge", "--older-than", "90d"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 calls and 3 events" in result.output  # start menu, menu, status
    assert report(journal_app)["calls"] == 1
    again = runner.invoke(args=["ivr", "purge"])  # IVR_RETENTION_DAYS: 90 by default
    assert "deleted 0 calls and 0 events" in again.output


@pytest.mark.parametrize("age", ["90", "0d", "3 months", "-1d"], ids=["no-unit", "zero", "words", "negative"])
def test_purge_refuses_an_unclear_age(runner: FlaskCliRunner, age: str) -> None:
    result = runner.invoke(args=["ivr", "purge", "--older-than", age])
    assert result.exit_code == 2
    assert "e.g. 90d" in result.output


def test_the_journal_shows_on_healthz(journal_app: Flask, clock: FixedClock) -> None:
    client = journal_app.test_client()
    Caller(twilio_for(client), clock, "CA1").call(("", "1"))
    flushed(journal_app)
    body = client.get("/healthz").get_json()
    assert body["journal"]["ok"] is True
    assert body["journal"]["written"] == 3 and body["journal"]["buffered"] == 0


@pytest.mark.parametrize("broken", ["metrics", "journal"], ids=["counter-raises", "buffer-raises"])
def test_a_failing_counter_or_buffer_never_fails_the_webhook(
    journal_app: Flask, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """Either half of journaling may fail; the caller still gets the menu, and the other half still works."""
    from ivr.web import metrics

    def fail(*_args: object) -> None:
        raise RuntimeError("broken on purpose")

    if broken == "metrics":
        monkeypatch.setattr(metrics, "observe", fail)
    else:
        monkeypatch.setattr(journal_of(journal_app), "note", fail)
    before = metrics.CALLS._value.get()
    Caller(twilio_for(journal_app.test_client()), clock, "CA1").call(("", "1"))  # parse() checks the TwiML
    flushed(journal_app)
    rows = report(journal_app)["calls"]
    assert (rows, metrics.CALLS._value.get() - before) == ((1, 0) if broken == "metrics" else (0, 1))


def test_the_system_clock_gives_the_store_naive_utc() -> None:
    """The journal's times on the real clock: the instant now, as the naive UTC the tables hold."""
    app = Flask("real-clock")
    clock.init_app(app)
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    found = clock.from_stamp(clock.stamp(app))
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert found.tzinfo is None and before <= found <= after


@pytest.mark.parametrize(
    "instant",
    [
        dt.datetime(2026, 11, 30, 3, 4, 5, 678901, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=9))),  # JST: the day before
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    ],
    ids=["utc-microseconds", "jst-midnight", "last-microsecond-of-1999"],
)
def test_an_injected_clock_stamps_the_instant_it_gives(instant: dt.datetime) -> None:
    """A test's clock goes through the same stamp as the real one: the store gets its instant as naive UTC."""
    app = Flask("fixed-clock")
    app.config["IVR_CLOCK"] = lambda: instant
    clock.init_app(app)
    assert clock.from_stamp(clock.stamp(app)) == instant.astimezone(dt.UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/voice", {}),
        ("/voice/key?p=&n=0&x=0", {"Digits": "1"}),  # a section: the key's line and the menu's row
        ("/voice/key?p=1&n=0&x=0", {"Digits": "2"}),  # an answer
        ("/voice/key?p=&n=0&x=0", {"Digits": "7"}),  # no such key: the key's own row
    ],
    ids=["incoming", "key-to-a-menu", "key-to-an-answer", "invalid-key"],
)
def test_a_webhook_reads_its_form_through_the_request_context_once(
    journal_app: Flask, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, path: str, form: dict[str, str]
) -> None:
    """Its log line and its row share the form (each lookup through the request context costs)."""
    from ivr.web import calllog, voice
    from ivr.web import form as request_form

    lookups: list[str] = []

    def counted() -> request_form.TwilioRequest:
        lookups.append(path)
        return request_form.current_request()

    for module in (calllog, voice):
        monkeypatch.setattr(module, "current_request", counted)
    parse(twilio_for(journal_app.test_client()).post(path, CallSid="CA1", From=NUMBER, **form))
    flushed(journal_app)
    assert len(lookups) == 1
    with engines.create(journal_app.config["DATABASE_URL"]).connect() as connection:
        assert connection.execute(select(events.c.call_sid)).scalars().all() == ["CA1"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CallDuration", "99999999999999999999"),  # beyond SQLite's integer and PostgreSQL's int4
        ("CallDuration", "１２"),  # full-width digits: no count of seconds
        ("From", "+81" + "9" * 40),  # longer than number_masked's 32 characters
        ("CallStatus", "in-progress-and-then-some-more"),  # longer than calls.status
    ],
    ids=["huge-duration", "full-width-duration", "40-digit-from", "long-status"],
)
def test_an_odd_field_is_made_to_fit_and_the_journal_goes_on(
    journal_app: Flask, clock: FixedClock, field: str, value: str
) -> None:
    """One odd value in a signed request made its batch retry for ever: every later call was lost."""
    twilio = twilio_for(journal_app.test_client())
    odd = Caller(twilio, clock, "CA-odd", value if field == "From" else NUMBER)
    odd.post("/voice", after_s=0)
    status = {"CallStatus": "completed", "CallDuration": "60", **({field: value} if field != "From" else {})}
    odd.post("/voice/status", 5.0, **status)
    for n in range(3):  # the calls after it on the same worker
        Caller(twilio, clock, f"CA-later-{n}").call(("", "1"))
    flushed(journal_app)
    assert journal_of(journal_app).status()["ok"] is True
    with engines.create(journal_app.config["DATABASE_URL"]).connect() as connection:
        rows = {r.call_sid: r for r in connection.execute(select(calls))}
    assert sorted(rows) == ["CA-later-0", "CA-later-1", "CA-later-2", "CA-odd"]
    row = rows["CA-odd"]
    assert row.duration_s == (None if field == "CallDuration" else 60)
    assert (
        len(row.number_masked) <= 32 and len(row.number_hash) == 64 and "9999999999" not in row.number_masked
    )
    assert len(row.status) <= 20


def test_rows_the_database_refuses_are_set_aside_and_the_rest_written(
    migrated_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch the database refuses is split until the refused rows stand alone; the others are written."""
    from ivr.web import metrics

    engine = engines.create(migrated_url)
    before = metrics.JOURNAL_REFUSED._value.get()
    journal = Journal(engine, interval_s=60, on_change=metrics.journal_changed)
    t0 = dt.datetime(2026, 12, 1)
    bad = {3: Event("CA-3", t0, "status", duration_s=10**20), 7: Event("CA-7", t0, "menu", amount=-(10**20))}
    for i in range(10):
        journal.note(
            bad.get(i) or Event(f"CA-{i}", t0 + dt.timedelta(seconds=i), "menu", number_masked="+81****78")
        )
    with caplog.at_level("ERROR", logger="ivr.journal.dead"):
        assert journal.write_once() == 8
    assert (journal.dead, journal.depth, journal.last_error) == (2, 0, None)
    assert metrics.JOURNAL_REFUSED._value.get() - before == 2  # ivr_journal_refused_total
    assert journal.status()["ok"] is False and journal.status()["refused"] == 2
    refused = [r for r in caplog.records if r.name == "ivr.journal.dead"]
    assert ["CA-3" in r.getMessage() and "CA-7" not in r.getMessage() for r in refused] == [True, False]
    with engine.connect() as connection:
        written = connection.execute(select(events.c.call_sid).order_by(events.c.id)).scalars().all()
    engine.dispose()
    assert written == [f"CA-{i}" for i in (0, 1, 2, 4, 5, 6, 8, 9)]  # in their order


def test_a_database_that_is_down_is_not_mistaken_for_refused_rows() -> None:
    """A failure of the connection keeps every row to retry: nothing is set aside."""
    down = engines.create(closed_port_url())
    journal = Journal(down, interval_s=60)
    t0 = dt.datetime(2026, 12, 1)
    for i in range(4):
        journal.note(Event(f"CA-{i}", t0, "menu"))
    assert journal.write_once() == 0
    assert (journal.dead, journal.depth) == (0, 4) and journal.last_error is not None
