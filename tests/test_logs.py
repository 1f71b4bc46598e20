"""The served app's log: lines formatted at once, written by a thread in batches, warnings at once."""

from __future__ import annotations

import io
import logging
import os
import signal
import time

from helpers import run_python
from ivr import logs


def writer(stream: io.StringIO) -> tuple[logging.Logger, logs.BackgroundWriter]:
    handler = logs.BackgroundWriter(stream)
    handler.setFormatter(logs.Formatter(logs.FORMAT))
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(handler)
    return logger, handler


def test_info_lines_arrive_together_within_the_flush_interval() -> None:
    stream = io.StringIO()
    logger, _ = writer(stream)
    for n in range(3):
        logger.info("line %d", n)
    assert stream.getvalue() == ""  # the request thread did not write
    deadline = time.monotonic() + 10 * logs.FLUSH_S
    while stream.getvalue().count("\n") < 3 and time.monotonic() < deadline:
        time.sleep(logs.FLUSH_S / 4)
    lines = stream.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["line 0", "line 1", "line 2"]


def test_a_warning_is_written_at_once_after_what_came_before_it() -> None:
    stream = io.StringIO()
    logger, _ = writer(stream)
    logger.info("before")
    logger.warning("refused")
    assert [line.split(" ", 3)[2:] for line in stream.getvalue().splitlines()] == [
        ["INFO", f"test.logs.{id(stream)}: before"],
        ["WARNING", f"test.logs.{id(stream)}: refused"],
    ]


def test_the_time_is_written_as_loggings_own_format_writes_it() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    ours, theirs = logs.Formatter(logs.FORMAT), logging.Formatter(logs.FORMAT)
    assert ours.format(record) == theirs.format(record)
    record.created += 1.5  # the next second: the cached date part is made again
    record.msecs = 500.0
    assert ours.format(record) == theirs.format(record)


def test_a_process_that_ends_writes_what_it_held() -> None:
    """The exit hooks write the pending lines (atexit here; granian's workers: multiprocessing's)."""
    code = (
        "import logging, sys\n"
        "from ivr import logs\n"
        "logs.configure(serving=True)\n"
        "logging.getLogger('ivr.call').info('incoming call=CA1 from=+81*******78')\n"
        "sys.exit(0)\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stderr.rstrip().endswith("INFO ivr.call: incoming call=CA1 from=+81*******78")


class SlowStream(io.StringIO):
    """A stderr that takes its time (a full pipe, a slow disk)."""

    def write(self, text: str) -> int:
        time.sleep(0.3)
        return super().write(text)


def test_a_slow_stream_holds_up_neither_info_lines_nor_a_warning_after_them() -> None:
    stream = SlowStream()
    logger, _ = writer(stream)
    logger.info("first")
    time.sleep(logs.FLUSH_S * 1.5)  # the writer thread is now inside the slow write
    began = time.monotonic()
    logger.info("second")  # a request's line: handed over, not written
    handed_over = time.monotonic() - began
    logger.warning("third")  # written at once: after the batch being written, in order
    assert handed_over < 0.1
    assert [line.rsplit(": ", 1)[1] for line in stream.getvalue().splitlines()] == [
        "first",
        "second",
        "third",
    ]


def test_a_child_forked_while_the_writer_was_writing_still_logs() -> None:
    """A worker forked while its parent's log thread was inside a write (holding the write lock)."""
    logger, handler = writer(SlowStream())
    logger.info("first")
    time.sleep(logs.FLUSH_S * 1.5)  # the parent's writer thread is now inside the slow write
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        handler.stream = os.fdopen(write_end, "w")
        logger.warning("from the child")  # written at once: must not wait for the parent's thread
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + 10
    while not os.waitpid(pid, os.WNOHANG)[0]:
        if time.monotonic() > deadline:  # stuck on the parent's lock: it wrote nothing
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.05)
    with os.fdopen(read_end) as pipe:
        written = pipe.read()
    assert written.endswith("from the child\n"), written


def test_a_servers_logger_is_moved_to_a_background_writer() -> None:
    logger = logging.getLogger("test.logs.access")
    logger.propagate, logger.level = False, logging.INFO
    own = io.StringIO()
    logger.addHandler(logging.StreamHandler(own))
    stream = io.StringIO()
    logs.write_in_batches(logger, stream)
    assert [type(h) for h in logger.handlers] == [logs.BackgroundWriter]
    logger.info('%(addr)s "%(path)s" %(status)d', {"addr": "127.0.0.1", "path": "/voice", "status": 200})
    assert stream.getvalue() == ""  # handed over, written by the thread
    logs.flush_all()
    assert stream.getvalue() == '127.0.0.1 "/voice" 200\n'  # the message alone, as the server formats it
    assert own.getvalue() == ""


def test_flush_all_writes_what_every_writer_holds() -> None:
    streams = [io.StringIO(), io.StringIO()]
    loggers = [writer(stream)[0] for stream in streams]
    for n, logger in enumerate(loggers):
        logger.info("held %d", n)
    logs.flush_all()
    assert [s.getvalue().rstrip().rsplit(": ", 1)[1] for s in streams] == ["held 0", "held 1"]
