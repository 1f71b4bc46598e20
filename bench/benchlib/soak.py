"""bench/soak: every endpoint under load for a minute while flows.yaml gets good and broken edits.

wrk sends every signed webhook, audio GETs (conditional too) and /healthz (200 or 304 expected, every XML
body whole TwiML) and, on a few connections, forged requests (403 expected); a caller thread walks the menu
like Twilio and validates answers against Twilio's XSD; an editor thread rewrites flows.yaml. Then: worker
memory growth after the warm-up, and every worker's reload of a good edit followed by a broken one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import xmlschema

from benchlib import wrk
from benchlib.common import (
    BASE,
    ROOT,
    TOKEN,
    Server,
    conclude,
    copy_ops_files,
    http_get,
    kib,
    require_wrk,
    results_folder,
    serve,
    service_env,
)
from benchlib.traffic import Req, call_form, gather, send, signed, write_requests
from ivr.testing import sign

RELOAD_INTERVAL_S = 2.0  # IVR_RELOAD_INTERVAL_S's default, left as in production
XSD = ROOT / "tests" / "twiml-xsd" / "twiml_v20100401_twilioRealtimeCallSchema.xsd"


def sub(old: str, new: str) -> Callable[[str], str]:
    """An edit that swaps one piece of flows.yaml."""
    return lambda text: text.replace(old, new, 1)


# (name, good?, edit): good edits change what callers hear (so the caller sees reloads happen); broken ones
# must change nothing.
EDITS: list[tuple[str, bool, Callable[[str], str | bytes]]] = [
    ("timeout 7 s", True, sub("timeout_s: 6 ", "timeout_s: 7 ")),
    ("unknown menu s9", False, sub("menu: s2}", "menu: s9}")),
    ("dial 20 s", True, sub("_s: 25", "_s: 20")),
    ("YAML syntax error", False, sub("keys:", "keys: [")),
    ("original", True, lambda t: t),
    ("empty file", False, lambda t: ""),
    ("emergency closure on", True, sub("emergency_closure: false", "emergency_closure: true")),
    ("cut in half", False, lambda t: t[: len(t) // 2]),
    ("binary junk", False, lambda t: b"\x00\xff\xfe garbage \x80\x81" * 20),
    ("max_no_input -1", False, sub("max_no_input: 2", "max_no_input: -1")),
    ("original", True, lambda t: t),
]


def save(path: Path, content: str | bytes, atomic: bool) -> None:
    """Atomically (a temp file renamed over), or in place in two halves as many editors do."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if atomic:
        path.with_suffix(".tmp").write_bytes(data)
        os.replace(path.with_suffix(".tmp"), path)
        return
    with path.open("wb") as out:  # a reader may see the first half alone
        out.write(data[: len(data) // 2])
        out.flush()
        time.sleep(0.005)
        out.write(data[len(data) // 2 :])


def editor(path: Path, every: float, stop: threading.Event, done: list[str]) -> None:
    """Rewrites flows.yaml every `every` seconds until stop, then puts the original back."""
    original = path.read_text("utf-8")
    while not stop.wait(every):
        name, good, change = EDITS[len(done) % len(EDITS)]
        save(path, change(original), atomic=len(done) % 2 == 1)
        done.append(f"{name} ({'good' if good else 'broken'})")
    save(path, original, atomic=True)


class Caller:
    """Walks the menu one call after another as Twilio follows the TwiML, and checks every answer."""

    def __init__(self, origin: str) -> None:
        self.origin, self.rng, self.schema = origin, random.Random(5), xmlschema.XMLSchema(str(XSD))
        self.answers, self.validated, self.failures, self.seen = 0, 0, list[str](), Counter[str]()

    def post(self, url: str, n: int, **extra: str) -> ElementTree.Element | None:
        """One webhook; its TwiML when the answer is sound (one in five validated against the XSD)."""
        answer = send(self.origin, signed(url.removeprefix(BASE), call_form(n, **extra)))
        self.answers += 1
        errors: list[object]
        try:
            root = ElementTree.fromstring(answer.body) if answer.status == 200 else None
            errors = [] if self.answers % 5 else list(self.schema.iter_errors(answer.body.decode("utf-8")))
            self.validated += self.answers % 5 == 0
        except ElementTree.ParseError as error:
            root, errors = None, [error]
        if root is None or errors:
            self.failures.append(f"{url}: {answer.status} {errors[:1]}: {answer.body[:200]!r}")
            return None
        return root

    def run(self, stop: threading.Event) -> None:
        """Calls of at most a dozen steps (keys, silences, dial outcomes) until stop."""
        n = 0
        while not stop.is_set():
            n += 1
            root = self.post(BASE + "/voice", n)
            for _ in range(12):
                gather_, dial = (None, None) if root is None else (root.find("Gather"), root.find("Dial"))
                if stop.is_set() or root is None or (gather_ is None and dial is None):
                    break
                if gather_ is not None:
                    self.seen[f"Gather timeout={gather_.get('timeout')}"] += 1
                    key = self.rng.choice([*"0123456789*#", ""])  # "": silence, the Gather's Redirect
                    redirect = root.find("Redirect")
                    if not key and redirect is not None:
                        root = self.post(redirect.text or "", n)
                    else:
                        root = self.post(gather_.get("action", ""), n, Digits=key or "1")
                else:
                    self.seen["Dial"] += 1
                    outcome = self.rng.choice(["completed", "busy", "no-answer", "failed", "garbage"])
                    root = self.post(
                        dial.get("action", "") if dial is not None else "", n, DialCallStatus=outcome
                    )


def webhooks() -> list[Req]:
    """Every Twilio-facing webhook, signed, with the situations a call can be in."""
    reqs = [signed("/voice", call_form(1))]
    for position in ("", "1", "12", "3", "41"):
        reqs += [
            gather(f"/voice/key?p={position}&n=0&x=0", 2, d)
            for d in ("1", "2", "9", "*", "#", "0", "7", None)
        ]
    reqs += [gather("/voice/key?p=2&n=2&x=0", 3, None), gather("/voice/key?p=2&n=0&x=3", 3, "8")]
    reqs += [gather("/voice/key?p=zz%FF&n=x&x=99", 3, "1")]  # garbage in the query: back on track
    reqs += [signed(f"/voice/node?p={p}", call_form(4)) for p in ("", "2", "23")]
    reqs += [signed("/voice/agent?p=1", call_form(5))]
    for outcome in ("completed", "busy", "no-answer", "failed", "canceled", "weird"):
        reqs.append(signed("/voice/agent/done?p=1", call_form(6, DialCallStatus=outcome)))
    reqs += [signed("/voice/status", call_form(7, CallStatus="completed", CallDuration="93"))]
    reqs += [signed("/voice/fallback", call_form(8, ErrorCode="11200"))]
    return reqs + [signed("/voice/old/route/from/yesterday", call_form(9)), Req("GET", "/healthz")]


def audio_requests(server: Server, folder: Path) -> list[Req]:
    """GETs and conditional GETs (ETag, date: 304) of three audio files."""
    reqs = []
    for wav in sorted(folder.glob("*.wav"))[:3]:
        path = f"/audio/{wav.name}"
        first = send(server.url, Req("GET", path))
        reqs += [Req("GET", path), Req("GET", path, headers={"If-None-Match": first.headers["etag"]})]
        reqs += [Req("GET", path, headers={"If-Modified-Since": first.headers["last-modified"]})]
    return reqs


def forged() -> list[Req]:
    """Requests that must be refused with 403: no signature, a wrong one, another URL's, a tampered form."""
    form = call_form(10, Digits="1")
    good = {"X-Twilio-Signature": sign(BASE + "/voice/key?p=&n=0&x=0", form, TOKEN)}
    return [
        Req("POST", "/voice", call_form(10)),
        Req("POST", "/voice/key?p=&n=0&x=0", form, {"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}),
        Req("POST", "/voice/key?p=1&n=0&x=0", form, good),
        Req("POST", "/voice/key?p=&n=0&x=0", {**form, "Digits": "0"}, good),
        Req(
            "POST",
            "/voice/status",
            call_form(11),
            {"X-Twilio-Signature": sign(BASE + "/voice/status", {}, "x")},
        ),
    ]


def flows_by_worker(server: Server) -> dict[int, tuple[str, bool]]:
    """Each worker's (flow digest, reload error?) from /healthz (a new connection each: spread over them)."""
    seen = {}
    for _ in range(60):
        status, body = http_get(server.url + "/healthz")
        data = json.loads(body) if status == 200 else {}
        if "worker" in data:
            seen[int(data["worker"])] = (str(data.get("flow")), bool(data.get("last_reload_error")))
    return seen


def converge(server: Server, flows: Path) -> list[str]:
    """Idle: a good edit then a broken one, each worker on the good one; then the original, no error left."""
    failures, original = [], flows.read_text("utf-8")
    time.sleep(RELOAD_INTERVAL_S * 2 + 1)  # every worker back on the original the editor restored last
    before = {flow for flow, _ in flows_by_worker(server).values()}
    flows.write_text(original.replace("timeout_s: 6 ", "timeout_s: 9 ", 1), "utf-8")
    time.sleep(RELOAD_INTERVAL_S + 0.5)
    good = {flow for flow, _ in flows_by_worker(server).values()}
    flows.write_text(original.replace("menu: s2}", "menu: s9}", 1), "utf-8")
    time.sleep(RELOAD_INTERVAL_S + 1)  # the bound: the reload interval + 1 s
    seen = flows_by_worker(server)
    if (
        set(seen) != set(server.workers())
        or len(good) != 1
        or good & before
        or {f for f, _ in seen.values()} != good
    ):
        failures.append(f"convergence: workers {seen} not all on the good edit's flow {good}")
    flows.write_text(original, "utf-8")
    time.sleep(RELOAD_INTERVAL_S * 2 + 1)
    if {v for v in flows_by_worker(server).values()} != {(f, False) for f in before}:
        failures.append("after restoring flows.yaml: a worker on another flow or with a reload error")
    return failures


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Options (defaults: the figures in bench/README.md)."""
    parser = argparse.ArgumentParser(prog="bench/soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--connections", type=int, default=64, help="all wrk connections (default 64)")
    parser.add_argument("--forged-connections", type=int, default=4, help="of those, sending forged requests")
    parser.add_argument("--edit-every", type=float, default=3.0, help="seconds between flows.yaml edits")
    # A worker's warm-up (its connections' buffers, the first documents) is over within seconds; a leak
    # grows with the requests served, so the growth that counts is measured from after the warm-up.
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before the leak check")
    parser.add_argument("--max-growth", type=float, default=0.05, help="worker RSS growth after the warm-up")
    parser.add_argument(
        "--max-total-growth", type=float, default=0.20, help="worker RSS growth from the start"
    )
    return parser.parse_args(argv)


def soak(
    server: Server, files: Path, out: Path, args: argparse.Namespace
) -> tuple[dict[str, object], list[str]]:
    """Load, edit and call at once; then the checks: (summary, failures)."""
    start_memory = server.memory()
    good = write_requests(out / "good.txt", webhooks() + audio_requests(server, files / "audio"))
    bad = write_requests(out / "forged.txt", forged())
    signed_wrk, forged_wrk = (
        wrk.start(
            server.url, file, ok, connections=c, threads=th, duration_s=args.duration, script=wrk.CHECKED_LUA
        )
        for file, ok, c, th in [
            (good, "200,304", args.connections - args.forged_connections, 2),
            (bad, "403", args.forged_connections, 1),
        ]
    )
    stop, edits = threading.Event(), list[str]()
    caller = Caller(server.url)
    threads = [
        threading.Thread(target=caller.run, args=(stop,), daemon=True),
        threading.Thread(
            target=editor, args=(files / "flows.yaml", args.edit_every, stop, edits), daemon=True
        ),
    ]
    for thread in threads:
        thread.start()
    began, timeline = time.monotonic(), list[tuple[int, dict[int, int]]]()
    while signed_wrk.poll() is None and time.monotonic() - began < args.duration + 30:
        time.sleep(5)
        timeline.append((round(time.monotonic() - began), server.memory()))
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    runs = [wrk.finish("signed", signed_wrk), wrk.finish("forged", forged_wrk)]
    end_memory = server.memory()
    failures = converge(server, files / "flows.yaml")
    warm = next((memory for t, memory in timeline if t >= args.warmup), {})
    log = server.log.read_text("utf-8", errors="replace")
    print()
    for r in runs:
        print(
            f"{r.label:<7} {r.data['requests']:7d} requests {r.rps:6.0f} req/s  statuses {r.data['statuses']}"
            f"  unexpected {r.data['unexpected_status']}  p99 {r.ms('p99_us'):.1f} ms"
        )
    print(f"TwiML bodies checked by wrk: {runs[0].data['twiml_checked']}, bad {runs[0].data['bad_twiml']}")
    print(
        f"caller: {caller.answers} answers, {caller.validated} validated against Twilio's XSD,"
        f" {len(caller.failures)} failures; saw {dict(sorted(caller.seen.items()))}"
    )
    print(
        f"edits: {len(edits)}; service log: {log.count('flow reloaded')} reloads,"
        f" {log.count('flow edit rejected')} rejections, {log.count('Traceback')} tracebacks"
    )
    for pid, start in sorted(start_memory.items()):
        end, after = end_memory.get(pid, 0), warm.get(pid, 0)
        print(f"worker {pid} RSS: start {kib(start)}, after the warm-up {kib(after)}, end {kib(end)}")
        if (
            not after
            or not end
            or end / after - 1 >= args.max_growth
            or end / start - 1 >= args.max_total_growth
        ):
            failures.append(f"worker {pid} memory {kib(start)} → {kib(after)} → {kib(end)}")
    if runs[0].data["unexpected_status"] or runs[0].errors - runs[0].data["status_errors"]:
        failures.append(f"signed requests: unexpected status or socket error: {runs[0].data['bad_sample']}")
    if runs[0].data["bad_twiml"]:
        failures.append(
            f"{runs[0].data['bad_twiml']} XML bodies not whole TwiML: {runs[0].data['bad_sample']}"
        )
    if runs[1].data["unexpected_status"]:
        failures.append(f"{runs[1].data['unexpected_status']} forged requests not refused with 403")
    if caller.failures or not caller.answers:
        failures.append(f"caller: {caller.answers} answers, {caller.failures[:1]}")
    summary = {"signed": runs[0].data, "forged": runs[1].data, "caller_failures": caller.failures[:20]}
    return {**summary, "edits": edits, "rss_kib": {"start": start_memory, "timeline": timeline}}, failures


def main(argv: list[str]) -> int:
    """Run the soak; 0 when every target is met."""
    args = parse_args(argv)
    require_wrk()
    out = results_folder("soak")
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        files = copy_ops_files(Path(tmp) / "ops")
        with serve("hotline", service_env(files), out) as server:
            summary, failures = soak(server, files, out, args)
    return conclude(out, summary, failures)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
