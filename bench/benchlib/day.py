"""bench/day: a day of callers through the real webhooks (granian), then `ivr report` must say what they did.

Each caller walks the menu at random the way Twilio posts it (signed, following each answer's Gather
action), presses wrong keys, stays silent, asks for a person, and hangs up at a random point; the
script keeps its own tally of what the report must show. Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from benchlib.common import (
    BASE,
    LOCAL_POSTGRES,
    conclude,
    copy_ops_files,
    database,
    each_database,
    flask,
    results_folder,
    serve,
    service_env,
)
from benchlib.traffic import call_form, send, signed
from ivr.flow.bundle import Sources, load
from ivr.flow.model import Flow

OUTCOMES = ["completed", "busy", "no-answer", "failed", "canceled"]


@dataclass
class Tally:
    """What the callers did, counted the way the report counts."""

    calls: int = 0
    requests: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    deflected: int = 0
    in_hours: int = 0
    out_of_hours: int = 0
    transfers: Counter[str] = field(default_factory=Counter)
    hangups: Counter[str] = field(default_factory=Counter)
    no_input_final: int = 0
    invalid_final: int = 0
    numbers: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Fold one caller's tally in."""
        for name, value in vars(other).items():
            mine = getattr(self, name)
            if isinstance(value, Counter | list):
                mine.update(value) if isinstance(value, Counter) else mine.extend(value)
            else:
                setattr(self, name, mine + value)

    def expected(self) -> dict[str, object]:
        """The report's figures this tally predicts."""
        return {
            "calls": self.calls,
            "answers": dict(self.answers),
            "deflected": self.deflected,
            "agent_requests": {"in_hours": self.in_hours, "out_of_hours": self.out_of_hours},
            "transfers": dict(self.transfers),
            "hangups": dict(self.hangups),
            "no_input_final": self.no_input_final,
            "invalid_final": self.invalid_final,
            "callers": len(self.numbers),
            "repeat_callers": sum(1 for n in self.numbers.values() if n > 1),
        }


def node_id(flow: Flow, path: str) -> tuple[str, bool]:
    """The menu or answer id at a key path, and whether it is an answer."""
    menus, option = flow.walk(path)
    return (str(option.answer), True) if option is not None else (menus[-1].id, False)


def one_call(origin: str, flow: Flow, n: int, number: str, rng: random.Random) -> Tally:
    """One caller from the first ring to the hang-up."""
    tally = Tally(calls=1)
    tally.numbers[number] += 1
    form = {**call_form(n), "From": number, "Caller": number}

    def post(path: str, **extra: str) -> ElementTree.Element:
        tally.requests += 1
        answer = send(origin, signed(path, {**form, **extra}))
        if answer.status != 200:
            tally.errors.append(f"{path}: {answer.status}")
            raise StopIteration
        return ElementTree.fromstring(answer.body)

    def action(root: ElementTree.Element) -> str | None:
        gather = root.find("Gather")
        return None if gather is None else str(gather.get("action")).removeprefix(BASE)

    path, last, heard, asked = "", flow.start, False, False
    try:
        root = post("/voice")
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.12:
                break  # hangs up here
            url = action(root)
            if url is None:
                break
            _, at_answer = node_id(flow, path)
            menu_keys = [] if at_answer else [o.key for o in flow.walk(path)[0][-1].options]
            choice = rng.choices(
                ["option", "*", "#", "9", "0", "silence", "wrong"], [60 if menu_keys else 0, 6, 8, 8, 6, 6, 6]
            )[0]
            if choice == "silence":
                root = post(url)
            else:
                digits = {"option": rng.choice(menu_keys or ["8"]), "wrong": "8"}.get(choice, choice)
                root = post(url, Digits=digits, FinishedOnKey="")
                if choice == "option":
                    path += digits
                elif choice == "#" and path:
                    path = path[:-1]
                elif choice == "9" and at_answer:
                    path = ""
                elif choice in ("#", "9"):
                    choice = "wrong"  # '#' at the start and '9' in a menu are wrong keys
            dial, hangup = root.find("Dial"), root.find("Hangup")
            if choice == "0":
                asked = True
                if dial is not None:
                    tally.in_hours += 1
                else:
                    tally.out_of_hours += 1
            elif choice in ("option", "*", "#", "9"):
                name, is_answer = node_id(flow, path)
                last, heard = name, heard or is_answer
                tally.answers[name] += is_answer
            elif choice == "silence" and at_answer and hangup is not None:
                pass  # silence after an answer's closing line: the caller is done, hangs up where it was
            elif dial is not None or hangup is not None:
                last = "final"
                if choice == "silence":
                    tally.no_input_final += 1
                else:
                    tally.invalid_final += 1
            if dial is not None:
                last = "agent"
                outcome = rng.choice(OUTCOMES)
                tally.transfers[outcome] += 1
                root = post(str(dial.get("action")).removeprefix(BASE), DialCallStatus=outcome)
            if root.find("Hangup") is not None:
                break
        post("/voice/status", CallStatus="completed", CallDuration=str(rng.randint(5, 300)))
    except StopIteration:
        return tally
    tally.answers = +tally.answers
    tally.hangups[last] += 1
    tally.deflected += heard and not asked
    return tally


def without_queue(flows: Path) -> None:
    """Remove the `queue:` section from a flows.yaml: the flow then dials the agent directly."""
    lines = flows.read_text("utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("queue:"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i].startswith(" "))
    flows.write_text("".join(lines[:start] + lines[end:]), "utf-8")


def run(kind: str, args: argparse.Namespace, out: Path) -> tuple[dict[str, object], list[str]]:
    """One day on one database: (summary, failures)."""
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-day-") as tmp:
        files = copy_ops_files(Path(tmp) / "ops", open_today=not args.real_hours)
        without_queue(files / "flows.yaml")  # a day of the menu and direct transfers (bench/busy: the queue)
        flow = load(Sources(files / "flows.yaml", files / "prompts", files / "audio")).flow
        with database(kind, Path(tmp), args.postgres) as url:
            env = service_env(files, DATABASE_URL=url)
            rng = random.Random(args.seed)
            pool = [f"+8190{rng.randrange(10**8):08d}" for _ in range(int(args.calls * 0.8))]
            plans = [(n, rng.choice(pool), random.Random(rng.random())) for n in range(args.calls)]
            tally = Tally()
            started = time.monotonic()
            with serve(f"day-{kind}", env, out) as server:
                with ThreadPoolExecutor(args.concurrency) as workers:
                    for one in workers.map(lambda p: one_call(server.url, flow, *p), plans):
                        tally.add(one)
                elapsed = time.monotonic() - started
            # the graceful stop wrote every worker's buffer
            report = json.loads(flask(env, "ivr", "report", "--format", "json"))
    expected = tally.expected()
    for name, value in expected.items():
        if report.get(name) != value:
            failures.append(f"{kind}: {name}: report {report.get(name)!r} != callers {value!r}")
    failures += [f"{kind}: {error}" for error in tally.errors[:5]]
    print(
        f"{kind}: {tally.calls} calls, {tally.requests} requests in {elapsed:.1f} s "
        f"({tally.requests / elapsed:.0f} req/s, {args.concurrency} callers at once); "
        f"report: {report['calls']} calls, deflected {report['deflected']}, "
        f"agent {report['agent_requests']}, {sum(report['answers'].values())} answers, "
        f"hang-ups at {len(report['hangups'])} places: " + ("MATCH" if not failures else "MISMATCH")
    )
    return {"requests": tally.requests, "seconds": elapsed, "expected": expected, "report": report}, failures


def main(argv: list[str] | None = None) -> int:
    """Run the day on each database asked for; 0 when every report matches."""
    parser = argparse.ArgumentParser(prog="bench/day", description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--real-hours", action="store_true", help="keep the calendar (default: open today)")
    parser.add_argument("--postgres", default=LOCAL_POSTGRES)
    args = parser.parse_args(argv)
    out = results_folder("day")
    summary, failures = each_database(args.database, lambda kind: run(kind, args, out))
    return conclude(out, summary, failures)


if __name__ == "__main__":
    raise SystemExit(main())
