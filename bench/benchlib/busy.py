"""bench/busy: the morning the letters arrive. Many callers ask for a person, two agents take them.

Each caller presses 0 and waits in the queue, which this script plays the way Twilio does (first in,
first out; the wait URL posted with QueuePosition and QueueTime). Some press 1 for a callback, some give
up and hang up, some reach the max wait and are offered a callback; two agents call the agent line, key
their PIN, and take the next caller (1) or the next callback (2) with random outcomes. At the end every
caller must be talked to, hold a committed reservation, or be journaled as hung up; no reservation lost
or duplicated; no number in clear in the database.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from benchlib.common import (
    BASE,
    LOCAL_POSTGRES,
    conclude,
    copy_ops_files,
    database,
    each_database,
    edit,
    flask,
    results_folder,
    serve,
    service_env,
)
from benchlib.traffic import call_form, send, signed
from ivr.flow.bundle import Sources, load

AGENTS = {"agent1": "+819011110001", "agent2": "+819011110002"}
PIN = "2468"
SPEED = 30  # simulated seconds of queue time per real second


@dataclass
class Waiter:
    """One caller in the bench's stand-in for Twilio's queue."""

    n: int
    entered: float
    taken: threading.Event = field(default_factory=threading.Event)


class Line:
    """The bench's Twilio: the queue (FIFO), every request signed, prompts recognised by their audio."""

    def __init__(self, origin: str, prompts: dict[str, str]) -> None:
        self.origin, self.prompts = origin, prompts
        self.queue: list[Waiter] = []
        self.lock = threading.Lock()
        self.requests = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def post(self, url: str, form: dict[str, str]) -> ElementTree.Element:
        path = url.removeprefix(BASE)
        started = time.monotonic()
        answer = send(self.origin, signed(path, form))
        with self.lock:
            self.requests += 1
            self.latencies.append(time.monotonic() - started)
        if answer.status != 200:
            self.errors.append(f"{path.split('?')[0]}: {answer.status}")
            raise RuntimeError(path)
        return ElementTree.fromstring(answer.body)

    def heard(self, root: ElementTree.Element) -> list[str]:
        return [self.prompts.get((e.text or "").rsplit("/", 1)[-1], "?") for e in root.iter("Play")]

    def place(self, waiter: Waiter) -> int:
        with self.lock:
            return self.queue.index(waiter) + 1 if waiter in self.queue else 0

    def leave(self, waiter: Waiter) -> None:
        with self.lock:
            if waiter in self.queue:
                self.queue.remove(waiter)

    def dequeue(self) -> Waiter | None:
        with self.lock:
            return self.queue.pop(0) if self.queue else None


def gather_action(root: ElementTree.Element) -> str:
    gather = root.find("Gather")
    assert gather is not None, ElementTree.tostring(root)
    return str(gather.get("action"))


def reserve(line: Line, form: dict[str, str], root: ElementTree.Element) -> str:
    """From a read-back: press 1; what the caller was told (reserved, duplicate, failed)."""
    said = line.heard(line.post(gather_action(root), {**form, "Digits": "1"}))
    return {"callback.done": "reserved", "callback.duplicate": "duplicate"}.get(said[0], f"told {said[0]}")


def caller(line: Line, n: int, number: str, rng: random.Random, max_wait_s: int) -> str:
    """One caller from the first ring to the end: talked, reserved, duplicate or hung-up."""
    form = {**call_form(n), "From": number, "Caller": number}
    line.post("/voice", form)
    enqueue = line.post("/voice/key?p=&n=0&x=0", {**form, "Digits": "0"}).find("Enqueue")
    assert enqueue is not None
    waiter = Waiter(n, time.monotonic())
    with line.lock:
        line.queue.append(waiter)
    action, wait_url = str(enqueue.get("action")), str(enqueue.get("waitUrl"))
    patience = rng.choice([None, None, None, rng.uniform(60, 600)])  # a quarter give up at some point
    wants_callback = rng.random() < 0.2
    outcome = ""
    while not outcome:
        waited = int((time.monotonic() - waiter.entered) * SPEED)
        if waiter.taken.wait(0.05):
            line.post(
                "/voice/queue/connect", {**form, "QueueTime": str(waited), "DequeingCallSid": "CAagent"}
            )
            line.post(action, {**form, "QueueResult": "bridged", "QueueTime": str(waited)})
            outcome = "talked"
            break
        place = line.place(waiter)
        root = line.post(wait_url, {**form, "QueuePosition": str(place), "QueueTime": str(waited)})
        wait_url = wait_url if "r=1" in wait_url else wait_url + "&r=1"
        if root.find("Leave") is not None:  # waited too long: out of the queue, the callback offer
            line.leave(waiter)
            offer = line.post(action, {**form, "QueueResult": "leave", "QueueTime": str(waited)})
            readback = line.post(gather_action(offer), {**form, "Digits": "1"})
            outcome = reserve(line, form, readback)
        elif patience is not None and waited > patience:
            line.leave(waiter)
            line.post(action, {**form, "QueueResult": "hangup", "QueueTime": str(waited)})
            outcome = "hung-up"
        elif wants_callback and waited > 90:
            readback = line.post(gather_action(root), {**form, "Digits": "1"})  # still in the queue
            outcome = reserve(line, form, readback)
            line.leave(waiter)  # the reservation ended with <Hangup/>: Twilio reports it to the action
            line.post(action, {**form, "QueueResult": "hangup", "QueueTime": str(waited)})
    line.post("/voice/status", {**form, "CallStatus": "completed", "CallDuration": "120"})
    return outcome


def agent(
    line: Line, name: str, n: int, done: threading.Event, rng: random.Random, tally: Counter[str]
) -> None:
    """An agent on the agent line: the PIN, then callers and callbacks until the morning is over."""
    form = {**call_form(n), "From": AGENTS[name], "Caller": AGENTS[name], "To": "+815011112222"}
    pin = line.post("/voice/agent-line", form)
    menu = gather_action(line.post(gather_action(pin), {**form, "Digits": PIN}))
    turn = 0
    while not done.is_set() or line.queue:
        turn += 1
        choice = "2" if (name == "agent2" and turn % 3 == 0) or not line.queue else "1"
        root = line.post(menu, {**form, "Digits": choice})
        dial = root.find("Dial")
        if dial is None:  # no callback due: the menu again
            time.sleep(0.05)
            if done.is_set() and not line.queue:
                break
            continue
        if dial.find("Queue") is not None:
            taken = line.dequeue()
            if taken is None:
                line.post(str(dial.get("action")), {**form, "DialCallStatus": "no-answer"})
                continue
            taken.taken.set()
            tally["taken"] += 1
            time.sleep(rng.uniform(0.3, 0.9))  # the conversation (9–27 s at SPEED)
            line.post(
                str(dial.get("action")), {**form, "DialCallStatus": "completed", "DialCallDuration": "200"}
            )
        else:
            result = rng.choices(["completed", "busy", "no-answer"], [70, 15, 15])[0]
            after = line.post(str(dial.get("action")), {**form, "DialCallStatus": result})
            tally[f"callback-{result}"] += 1
            if after.find("Gather") is not None:
                line.post(gather_action(after), {**form, "Digits": "2" if rng.random() < 0.05 else "1"})
    line.post("/voice/status", {**form, "CallStatus": "completed", "CallDuration": "3600"})


def check_store(
    url: str, numbers: dict[int, str], outcomes: dict[int, str], db_file: Path | None
) -> tuple[dict[str, Any], list[str]]:
    """Reservations against what the callers were told; no number in clear anywhere in the database."""
    from sqlalchemy import create_engine, select

    from ivr.store.tables import OPEN_STATES, callbacks

    failures: list[str] = []
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(callbacks)).all()
    engine.dispose()
    told = sum(o == "reserved" for o in outcomes.values())
    if len(rows) != told:
        failures.append(f"{len(rows)} reservations in the database, {told} callers told 承りました")
    # a number may reserve again once its earlier reservation is done, never while one is open
    hashes = Counter(row.number_hash for row in rows if row.status in OPEN_STATES)
    if any(count > 1 for count in hashes.values()):
        failures.append("a number holds two open reservations")
    for n, outcome in outcomes.items():
        if outcome not in ("talked", "reserved", "duplicate", "hung-up"):
            failures.append(f"caller {n}: {outcome}")
    clear = [n for n in numbers.values() for row in rows if n[3:] in (row.number_sealed or "")]
    if db_file is not None:
        raw = b"".join(f.read_bytes() for f in db_file.parent.glob(db_file.name + "*"))  # and its -wal
        clear += [n for n in set(numbers.values()) if n.encode() in raw or ("0" + n[3:]).encode() in raw]
    if clear:
        failures.append(f"{len(clear)} numbers found in clear in the database")
    return {"reservations": len(rows), "by_status": dict(Counter(row.status for row in rows))}, failures


def run(kind: str, args: argparse.Namespace, out: Path) -> tuple[dict[str, Any], list[str]]:
    """One busy morning on one database."""
    with tempfile.TemporaryDirectory(prefix="bench-busy-") as tmp:
        files = copy_ops_files(Path(tmp) / "ops", open_today=True)
        flows = files / "flows.yaml"
        edit(flows, "max_wait_s: 900", f"max_wait_s: {args.max_wait}")
        bundle = load(Sources(flows, files / "prompts", files / "audio"))
        prompts = {entry.file: pid for pid, entry in bundle.audio.items()}
        with database(kind, Path(tmp), args.postgres) as url:
            env = service_env(files, DATABASE_URL=url)
            for name, number in AGENTS.items():
                flask(env, "ivr", "agent", "add", name, "--number", number, "--pin", PIN)
            rng = random.Random(args.seed)
            numbers = {n: f"+8190{rng.randrange(10**8):08d}" for n in range(args.callers)}
            for n in rng.sample(range(1, args.callers), args.callers // 20):  # some call twice
                numbers[n] = numbers[n - 1]
            outcomes: dict[int, str] = {}
            tally: Counter[str] = Counter()
            done = threading.Event()
            started = time.monotonic()
            with serve(f"busy-{kind}", env, out) as server:
                line = Line(server.url, prompts)
                agents = [
                    threading.Thread(
                        target=agent, args=(line, name, 900000 + i, done, random.Random(i), tally)
                    )
                    for i, name in enumerate(AGENTS)
                ]
                for thread in agents:
                    thread.start()

                def one(n: int) -> None:
                    time.sleep(n * args.spacing)  # callers keep arriving
                    try:
                        outcomes[n] = caller(
                            line, n, numbers[n], random.Random(args.seed * 1000 + n), args.max_wait
                        )
                    except Exception as error:  # noqa: BLE001 - counted as a failure below
                        outcomes[n] = f"error {error!r}"

                callers = [threading.Thread(target=one, args=(n,)) for n in range(args.callers)]
                for thread in callers:
                    thread.start()
                for thread in callers:
                    thread.join()
                done.set()
                for thread in agents:
                    thread.join(timeout=60)
                elapsed = time.monotonic() - started
            report = json.loads(flask(env, "ivr", "report", "--format", "json"))
            db_file = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite") else None
            store, failures = check_store(url, numbers, outcomes, db_file)
    counted = Counter(outcomes.values())
    if report["queue"]["results"].get("bridged", 0) != counted["talked"]:
        failures.append(f"report bridged {report['queue']['results']} != talked {counted['talked']}")
    if report["callbacks"]["reserved"] != counted["reserved"]:
        failures.append(f"report reserved {report['callbacks']['reserved']} != {counted['reserved']}")
    failures += line.errors[:5]
    latencies = sorted(line.latencies)
    figures = {
        **{"outcomes": dict(counted), "agents": dict(tally), "store": store, "requests": line.requests},
        "seconds": round(elapsed, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "report": {"queue": report["queue"], "reserved": report["callbacks"]["reserved"]},
    }
    print(f"{kind}: " + json.dumps(figures, ensure_ascii=False))
    print(f"{kind}: " + ("every caller accounted for" if not failures else "MISMATCH"))
    return figures, [f"{kind}: {f}" for f in failures]


def main(argv: list[str] | None = None) -> int:
    """Run the morning on each database asked for; 0 when every check holds."""
    parser = argparse.ArgumentParser(prog="bench/busy", description=__doc__)
    parser.add_argument("--callers", type=int, default=120)
    parser.add_argument("--spacing", type=float, default=0.05, help="seconds between two callers arriving")
    parser.add_argument("--max-wait", type=int, default=600, help="queue.max_wait_s for the run")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--postgres", default=LOCAL_POSTGRES)
    args = parser.parse_args(argv)
    out = results_folder("busy")
    summary, failures = each_database(args.database, lambda kind: run(kind, args, out))
    return conclude(out, summary, failures)


if __name__ == "__main__":
    raise SystemExit(main())
