"""The store's faults: database down at start and mid-call, a full disk, a killed worker, migrations twice,
two replicas on one database. A caller never notices any of them."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from helpers import ROOT, FixedClock, closed_port_url, make_app, parse, twilio_for
from ivr.config import StartRefused
from ivr.store import engine as engines
from ivr.store import extension as store
from ivr.store import migrate
from ivr.store.journal import Journal
from ivr.store.number_key import NumberKey
from ivr.store.report import counts
from ivr.store.rows import Event, finisher
from ivr.store.tables import calls, events
from ivr.store.write import write_batch
from ivr.testing import Twilio

STEPS = [("", "1"), ("1", "1")]  # start menu (the incoming call), menu, answer, status: 4 rows a call


def journal_of(app: Flask) -> Journal:
    found = store.of(app).journal
    assert found is not None
    return found


def call(twilio: Twilio, sid: str) -> None:
    """One whole call; every answer must be 200 TwiML whatever the database does."""
    form = {"CallSid": sid, "From": "+819012345678"}
    parse(twilio.post("/voice", **form))
    for position, digits in STEPS:
        parse(twilio.post(f"/voice/key?p={position}&n=0&x=0", Digits=digits, **form))
    parse(twilio.post("/voice/status", CallStatus="completed", CallDuration="20", **form))


@pytest.mark.parametrize(
    "url",
    [closed_port_url(), "sqlite:////proc/no-such-folder/ivr.db"],
    ids=["postgresql-nobody-listening", "sqlite-unwritable-folder"],
)
def test_database_down_at_start_calls_go_on(files: Path, clock: FixedClock, url: str) -> None:
    app = make_app(files, clock, DATABASE_URL=url)  # starts: only a schema that is known to be old stops it
    client = app.test_client()
    call(twilio_for(client), "CA1")
    journal = journal_of(app)
    assert not journal.flush(timeout_s=0.5)
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["journal"]["ok"] is False
    assert health.get_json()["journal"]["buffered"] == 4
    assert health.get_json()["journal"]["last_error"]


def test_a_full_buffer_drops_and_counts(files: Path, clock: FixedClock) -> None:
    app = make_app(files, clock, DATABASE_URL=closed_port_url())
    journal = journal_of(app)
    journal.capacity = 10
    client = app.test_client()
    for n in range(3):
        call(twilio_for(client), f"CA{n}")
    body = client.get("/healthz").get_json()["journal"]
    assert (body["buffered"], body["dropped"], body["ok"]) == (10, 2, False)  # 3 calls of 4 rows


def sqlite_full(engine: Engine) -> Callable[[], None]:
    """Let the SQLite file grow no more (as on a full disk); returns the undo."""

    def limit(connection: object, _record: object) -> None:
        cursor = connection.cursor()  # type: ignore[attr-defined]
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    event.listen(engine, "connect", limit)
    engine.dispose()

    def undo() -> None:
        event.remove(engine, "connect", limit)
        engine.dispose()

    return undo


def postgres_closed(engine: Engine) -> Callable[[], None]:
    """Refuse every connection to the database (superusers too) and end those open; returns the undo."""
    name = engine.url.database
    admin = engines.create(engine.url.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )

    def undo() -> None:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()

    return undo


def test_database_fails_mid_call_then_comes_back(files: Path, clock: FixedClock, migrated_url: str) -> None:
    """SQLite: the disk fills up; PostgreSQL: the server stops taking connections. Nothing is lost."""
    app = make_app(files, clock, DATABASE_URL=migrated_url)
    twilio, journal = twilio_for(app.test_client()), journal_of(app)
    call(twilio, "CA-before")
    assert journal.flush()
    engine: Engine = store.of(app).engine
    undo = sqlite_full(engine) if engine.dialect.name == "sqlite" else postgres_closed(engine)
    try:
        for n in range(60):  # enough rows that SQLite needs new pages
            call(twilio, f"CA-during-{n}")
        assert not journal.flush(timeout_s=0.5)
        health = app.test_client().get("/healthz")
        assert health.status_code == 200 and health.get_json()["journal"]["ok"] is False
    finally:
        undo()
    assert journal.flush()
    assert journal.dropped == 0
    assert counts(engines.create(migrated_url)) == (61, 61 * 4)


def noted(sid: str, number: str | None = None, fields: object = None) -> tuple[object, ...]:
    """What a webhook notes for the writer (ivr.web.calllog.note): the start menu heard."""
    menu = {"p": "", "menu": "main"} if fields is None else fields
    return ("menu", menu, sid, number, None, "", time.time_ns())


def test_while_the_database_is_down_no_number_waits_in_clear() -> None:
    """The caller's number is noted for the writer; the batch it could not write waits masked and hashed."""
    key = NumberKey(b"test-number-key")
    journal = Journal(engines.create(closed_port_url()), interval_s=60, prepare=finisher(key))
    journal.note(noted("CA-down", "+819012345678"))
    assert journal.write_once() == 0 and journal.last_error is not None
    (kept,) = list(journal._buffer)
    assert isinstance(kept, Event) and "9012345678" not in repr(kept)
    assert (kept.call_sid, kept.number_masked, kept.number_hash) == (
        "CA-down",
        "+81********78",
        key.hash("+819012345678"),
    )


def test_a_note_the_writer_cannot_make_a_row_of_costs_that_row_only(
    migrated_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken note is dropped and counted (its number never logged); the rest of its batch is written."""
    engine = engines.create(migrated_url)
    journal = Journal(engine, interval_s=60, prepare=finisher(NumberKey(b"test-number-key")))
    broken = noted("CA-2", "+819012345678", fields=["not", "a", "mapping"])
    for entry in (noted("CA-1"), broken, noted("CA-3")):
        journal.note(entry)
    assert journal.write_once() == 2
    assert journal.dropped == 1 and journal.status()["ok"] is False
    assert counts(engine) == (2, 2)
    assert "journal: could not record menu" in caplog.text and "9012345678" not in caplog.text


KILLED_WRITER = """
import datetime as dt, sys
from ivr.store import engine as engines
from ivr.store.rows import Event
from ivr.store.write import write_batch
engine = engines.create(sys.argv[1])
start = dt.datetime(2026, 1, 1)
for batch in range(100000):
    write_batch(engine, [
        Event(f"CA{batch}-{i % 10}", start, "key", detail=str(i)) for i in range(50)
    ])
    print(batch, flush=True)
"""


def test_a_worker_killed_mid_write_leaves_whole_batches(migrated_url: str) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, migrated_url], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    for _ in range(5):  # a few batches committed, then SIGKILL wherever it is
        writer.stdout.readline()
    time.sleep(0.05)
    writer.kill()
    writer.wait()
    engine = engines.create(migrated_url)
    n_calls, n_events = counts(engine)
    assert n_events >= 5 * 50 and n_events % 50 == 0
    assert n_calls == n_events // 50 * 10
    with engine.connect() as connection:
        per_call = connection.execute(
            select(func.count()).select_from(events).group_by(events.c.call_sid)
        ).all()
    assert {row[0] for row in per_call} == {5}
    engine.dispose()


def test_start_is_refused_until_migrated_and_migrating_twice_changes_nothing(
    files: Path, clock: FixedClock, database_url: str
) -> None:
    with pytest.raises(StartRefused, match=r"run `flask --app app ivr db upgrade` first"):
        make_app(files, clock, DATABASE_URL=database_url)
    runner = make_app(files, clock).test_cli_runner()
    runner.app.config["DATABASE_URL"] = database_url
    store.of(runner.app).engine = engines.create(database_url)
    first = runner.invoke(args=["ivr", "db", "upgrade"])
    assert first.exit_code == 0 and f"migrated from empty to {migrate.head()}" in first.output
    second = runner.invoke(args=["ivr", "db", "upgrade"])
    assert second.exit_code == 0 and f"already at revision {migrate.head()}" in second.output
    assert "password" not in first.output
    call(twilio_for(make_app(files, clock, DATABASE_URL=database_url).test_client()), "CA1")


def test_every_migration_goes_down_and_up_again_keeping_the_journal(migrated_url: str) -> None:
    """A deploy rolled back: each revision's downgrade runs (to 0004 with rows in the tables, then to
    the empty database) and the upgrade after it brings the same schema back, indexes included."""
    from alembic import command
    from sqlalchemy import inspect

    engine = engines.create(migrated_url)
    t0 = dt.datetime(2026, 11, 25, 1, 0, 0)
    write_batch(engine, [Event("CA1", t0, "menu", "", "main", "+81********78", "a" * 64, pressed=None)])

    def schema() -> dict[str, list[str]]:
        with engine.connect() as connection:
            found = inspect(connection)
            return {
                **{name: sorted(c["name"] for c in found.get_columns(name)) for name in ("calls", "events")},
                **{
                    f"{name} indexes": sorted(i["name"] or "" for i in found.get_indexes(name))
                    for name in ("calls", "events")
                },
            }

    shape = schema()
    for target in ("0004", "base"):
        with engine.begin() as connection:
            command.downgrade(migrate._config(connection), target)
        if target == "0004":
            with engine.connect() as connection:
                columns = [c["name"] for c in inspect(connection).get_columns("events")]
            assert "pressed" not in columns and counts(engine) == (1, 1)
    assert migrate.current(engine) is None
    assert migrate.upgrade(engine) == (None, migrate.head())
    again = schema()
    engine.dispose()
    assert again == shape and "pressed" in again["events"]
    assert again["calls indexes"] == ["ix_calls_started_at"]  # number_hash's went in 0006


def test_replicas_migrating_at_once_take_turns(database_url: str) -> None:
    engines_ = [engines.create(database_url) for _ in range(3)]
    errors: list[BaseException] = []

    def upgrade(engine: Engine) -> None:
        try:
            migrate.upgrade(engine)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=upgrade, args=(e,)) for e in engines_]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert migrate.behind(engines_[0]) is None
    if engines_[0].dialect.name == "sqlite":  # the long wait was for the upgrade only
        with engines_[0].connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() < migrate.SQLITE_TURN_MS


@pytest.fixture
def two_replicas(files: Path, clock: FixedClock, migrated_url: str) -> Iterator[tuple[Flask, Flask]]:
    yield make_app(files, clock, DATABASE_URL=migrated_url), make_app(files, clock, DATABASE_URL=migrated_url)


def test_two_replicas_share_one_database(two_replicas: tuple[Flask, Flask], clock: FixedClock) -> None:
    a, b = two_replicas
    ta, tb = twilio_for(a.test_client()), twilio_for(b.test_client())
    form = {"CallSid": "CA-split", "From": "+819012345678"}
    parse(ta.post("/voice", **form))
    clock.instant += dt.timedelta(seconds=5)
    parse(tb.post("/voice/key?p=&n=0&x=0", Digits="2", **form))
    parse(ta.post("/voice/key?p=2&n=0&x=0", Digits="1", **form))
    parse(tb.post("/voice/status", CallStatus="completed", CallDuration="9", **form))
    assert journal_of(b).flush() and journal_of(a).flush()  # the end arrives before the start
    # then both write many overlapping calls at the same moment
    for n in range(40):
        call(ta if n % 2 else tb, f"CA-{n % 20}")
    threads = [threading.Thread(target=journal_of(app).flush) for app in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine: Engine = store.of(a).engine
    with engine.connect() as connection:
        split = connection.execute(select(calls).where(calls.c.call_sid == "CA-split")).one()
    assert split.number_masked == "+81********78" and split.duration_s == 9 and split.status == "completed"
    assert split.started_at < split.ended_at
    assert counts(engine) == (21, 4 + 40 * 4)


def test_a_url_password_never_shows(files: Path, clock: FixedClock) -> None:
    url = closed_port_url().replace("postgres@", "postgres:s3cret@")
    assert "s3cret" not in engines.display(url)
    assert make_url(engines.normalize("postgres://u:p@h/d")).drivername == "postgresql+psycopg"
    app = make_app(files, clock, DATABASE_URL=url)
    result = app.test_cli_runner().invoke(args=["ivr", "report"])
    assert result.exit_code == 1 and "s3cret" not in result.output and "***" in result.output


def test_write_batch_is_all_or_nothing(migrated_url: str) -> None:
    engine = engines.create(migrated_url)
    good = Event("CA1", dt.datetime(2026, 1, 1), "key")
    bad = Event("CA2", dt.datetime(2026, 1, 1), "x" * 500)  # longer than the column: PostgreSQL refuses
    if engine.dialect.name == "postgresql":
        with pytest.raises(Exception, match="too long"):
            write_batch(engine, [good, bad])
        assert counts(engine) == (0, 0)
    write_batch(engine, [good])
    assert counts(engine) == (1, 1)
    engine.dispose()


def test_a_postgresql_connection_that_died_is_replaced_and_the_batch_retried(migrated_url: str) -> None:
    """The COPY runs on psycopg directly: its errors must still get a dead connection out of the pool."""
    if not migrated_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    engine = create_engine(migrated_url, pool_size=1, max_overflow=0)  # no pre-ping: the COPY meets it
    admin = engines.create(migrated_url)
    journal = Journal(engine, interval_s=60)  # its thread stays out of the way: write_once writes
    start = dt.datetime(2026, 12, 1)
    journal.note(Event("CA1", start, "incoming"))
    assert journal.write_once() == 1
    with engine.connect() as connection:
        backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    journal.note(Event("CA1", start, "key"))
    assert journal.write_once() == 0  # the dead connection: the batch goes back
    assert journal.last_error is not None and journal.last_error.startswith("OperationalError")
    assert journal.write_once() == 1  # on a new connection
    assert counts(engine) == (1, 2)
    journal.stop()
    engine.dispose()
    admin.dispose()


def test_stop_waits_for_the_batch_the_thread_is_writing(migrated_url: str) -> None:
    engine = engines.create(migrated_url)
    writing = threading.Event()

    @event.listens_for(engine, "before_cursor_execute")
    def slow(*args: object) -> None:
        writing.set()
        time.sleep(0.3)  # a slow database: the thread holds a taken batch for a while

    journal = Journal(engine, interval_s=0.01)
    start = dt.datetime(2026, 12, 1)
    for i in range(20):
        journal.note(Event(f"CA{i}", start, "incoming"))
    assert writing.wait(5)  # the thread has taken the batch out of the buffer and is writing it
    journal.stop()
    assert counts(engine) == (20, 20)  # what a process exiting right after stop() has written
    engine.dispose()


def test_a_forked_child_writes_with_a_thread_of_its_own(migrated_url: str) -> None:
    """A worker forked after its parent's journal started a thread (a server's preloaded app, granian's
    workers) writes its events with a thread of its own, without waiting for its stop."""
    journal = Journal(engines.create(migrated_url), interval_s=0.05)
    start = dt.datetime(2026, 11, 25, 1, 0, 0)
    journal.note(Event("CA-parent", start, "menu"))
    assert journal.flush()
    wrote = forked_child_writes_one(journal, start)
    journal.stop()
    assert wrote
    assert counts(journal.engine) == (2, 2)


def forked_child_writes_one(journal: Journal, start: dt.datetime) -> bool:
    """Fork: the child records one event, which its own writer thread must write within 10 s."""
    pid = os.fork()
    if pid == 0:
        journal.engine.dispose(close=False)  # the parent's pooled connections are not the child's
        before = journal.written  # the parent's count, copied by the fork (not a batch it is writing)
        journal.note(Event("CA-child", start, "menu"))
        deadline = time.monotonic() + 10
        while journal.written == before and time.monotonic() < deadline:
            time.sleep(0.05)
        os._exit(0 if journal.written == before + 1 else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_a_child_forked_while_the_writer_was_writing_still_writes(migrated_url: str) -> None:
    """The fork comes while the parent's writer holds its lock, in the middle of a batch: the child, where
    that thread does not exist, must not wait for the lock for ever."""
    engine = engines.create(migrated_url)
    parent, writing = os.getpid(), threading.Event()

    @event.listens_for(engine, "begin")
    def slow(_connection: object) -> None:
        if os.getpid() == parent:
            writing.set()
            time.sleep(1.0)  # the parent's batch is being written when the fork comes

    journal = Journal(engine, interval_s=0.05)
    start = dt.datetime(2026, 11, 25, 1, 0, 0)
    journal.note(Event("CA-parent", start, "menu"))
    assert writing.wait(5)
    wrote = forked_child_writes_one(journal, start)
    journal.stop()
    assert wrote
    assert counts(engine) == (2, 2)
    engine.dispose()
