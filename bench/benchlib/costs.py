"""bench/costs: CPU microseconds per webhook in-process, whole and by part — where a request's time goes.

No server, no network: the WSGI app is called directly with the bench's signed request mix, and each
part (form parsing, signature, call-log line) is timed alone. CPU time (not wall time), minimum over
repeats, so other load on a shared machine matters less than it does for bench/webhook.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder

from benchlib.common import BASE, TOKEN, copy_ops_files, service_env
from benchlib.traffic import Req, call_form, gather, signed

MIX = [("", "1"), ("1", "2"), ("12", "*"), ("1", "#"), ("", "9"), ("", None), ("1", "0")]


def requests() -> list[Req]:
    """A new call and seven Gather actions: the shape of bench/webhook's mix."""
    return [signed("/voice", call_form(1))] + [gather(f"/voice/key?p={p}&n=0&x=0", 2, d) for p, d in MIX]


def per_request_us(app: Callable[..., Any], reqs: list[Req], rounds: int) -> float:
    """Least CPU time of one request through the WSGI app, averaged over the mix."""
    environs = []
    for req in reqs:
        path, _, query = req.path.partition("?")
        builder = EnvironBuilder(
            method="POST",
            path=path,
            query_string=query,
            data=req.body,
            headers=list(req.all_headers().items()),
        )
        environ = builder.get_environ()
        environs.append((environ, environ["wsgi.input"].read()))

    status: list[str] = []

    def once(times: int) -> float:
        start = time.process_time()
        for _ in range(times):
            for environ, body in environs:
                status.clear()
                b"".join(app({**environ, "wsgi.input": io.BytesIO(body)}, lambda s, h: status.append(s)))
                assert status[0].startswith("200"), status
        return time.process_time() - start

    once(20)
    return min(once(50) for _ in range(rounds)) / (50 * len(environs)) * 1e6


def part_us(stmt: Callable[[], object], number: int = 5000) -> float:
    """Least CPU time of one call."""
    return min(timeit.repeat(stmt, number=number, repeat=7, timer=time.process_time)) / number * 1e6


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(prog="bench/costs", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="repeats to take the minimum of")
    args = parser.parse_args()
    logging.basicConfig(stream=open(os.devnull, "w"), level=logging.INFO)  # noqa: SIM115  (lives as long as the run)
    with tempfile.TemporaryDirectory() as tmp:
        files = copy_ops_files(Path(tmp))
        os.environ.update(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=BASE, IVR_FLOWS=str(files / "flows.yaml"))
        os.environ.update(IVR_PROMPTS=str(files / "prompts"), IVR_AUDIO=str(files / "audio"))
        os.environ.update(service_env(files))  # the journal on, as served
        document = Path(tmp) / "baseline.xml"
        document.write_text("<Response>" + "x" * 420 + "</Response>")
        os.environ["BENCH_BASELINE_TWIML"] = str(document)
        from twilio.request_validator import RequestValidator

        from benchlib.baseline import app as baseline
        from ivr import create_app
        from ivr.web.signature import Validator

        reqs = requests()
        hotline = create_app()
        row("baseline app (constant TwiML)", per_request_us(baseline, reqs, args.rounds), "µs / request")
        row("hotline", per_request_us(hotline, reqs, args.rounds), "µs / request")
        body, url = reqs[1].body, BASE + reqs[1].path
        form = MultiDict(parse_qsl(body, keep_blank_values=True))
        signature = reqs[1].headers["X-Twilio-Signature"]
        twilio, ours = RequestValidator(TOKEN), Validator(TOKEN)
        call_log = logging.getLogger("ivr.call")
        line = ("%s call=%s from=%s %s", "key", "CA" + "0" * 32, "+81*******78", "p=1 digits=2")
        print("parts (one Gather action, 28 fields):")
        row("  form parsing (parse_qsl)", part_us(lambda: parse_qsl(body, keep_blank_values=True)))
        row("  RequestValidator.validate", part_us(lambda: twilio.validate(url, form, signature)))
        row("  ivr.web.signature.Validator", part_us(lambda: ours.validate(url, form, signature)))
        row("  call-log line (masked)", part_us(lambda: call_log.info(*line)))


def row(label: str, value: float, unit: str = "µs") -> None:
    """One aligned line of the report."""
    print(f"{label:32s}{value:7.1f} {unit}")


if __name__ == "__main__":
    main()
