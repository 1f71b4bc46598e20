"""`ivr twilio status|configure` with the real REST client against a local stand-in for Twilio's API."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from twilio_standin import ACCOUNT, API_KEY, API_SECRET, TOKEN, StandIn, number, serve

from helpers import BASE, FixedClock, make_app

HOTLINE, AGENTS = "+81120701675", "+81120701676"
PATH = f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers"
ENV = {
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "TWILIO_AUTH_TOKEN": TOKEN,
    "TWILIO_API_KEY": None,
    "TWILIO_API_SECRET": None,
}
DEMO = "https://demo.twilio.com/welcome/voice/"
W = len("status_callback_method")


def wanted(webhook: str) -> dict[str, list[str]]:
    """The form configure must POST for a number whose calls go to `webhook`."""
    return {
        "VoiceUrl": [BASE + webhook],
        "VoiceMethod": ["POST"],
        "VoiceFallbackUrl": [BASE + "/voice/fallback"],
        "VoiceFallbackMethod": ["POST"],
        "StatusCallback": [BASE + "/voice/status"],
        "StatusCallbackMethod": ["POST"],
    }


@pytest.fixture
def twilio() -> Iterator[StandIn]:
    """The stand-in with the hotline (Twilio's demo URL, as bought) and the agents' number in the account."""
    with serve() as standin:
        standin.add(number("PN" + "1" * 32, HOTLINE))
        standin.add(
            number("PN" + "2" * 32, AGENTS, voice_url="https://old.example.jp/agents", voice_method="GET")
        )
        standin.add(number("PN" + "3" * 32, "+81120701675999"))  # PhoneNumber filters match partially
        yield standin


@pytest.fixture
def both(files: Path) -> Path:
    """flows.yaml names the agent line too."""
    flows = files / "flows.yaml"
    text = flows.read_text("utf-8")
    assert "agent_line: null" in text
    flows.write_text(text.replace("agent_line: null", f'agent_line: "{AGENTS}"'), "utf-8")
    return files


def run(app: Flask, *args: str, **env: str | None) -> Result:
    """`flask --app app ivr twilio ARGS` with the stand-in's credentials (overridden by `env`)."""
    return app.test_cli_runner().invoke(args=["ivr", "twilio", *args], env={**ENV, **env})


def app_on(twilio: StandIn, files: Path, clock: FixedClock, **config: Any) -> Flask:
    return make_app(files, clock, TWILIO_API_BASE_URL=twilio.url, **config)


def plan(sid: str, role: str, phone: str, webhook: str, old_url: str, old_method: str) -> list[str]:
    changes = [("voice_url", old_url, BASE + webhook)] + [("voice_method", old_method, "POST")] * (
        old_method != "POST"
    )
    changes += [("voice_fallback_url", "(none)", BASE + "/voice/fallback")]
    changes += [("status_callback", "(none)", BASE + "/voice/status")]
    return [f"{role} {phone} ({sid}): {len(changes)} settings to change"] + [
        f"  {name:<{W}}  {old}  →  {new}" for name, old, new in changes
    ]


HOTLINE_PLAN = plan("PN" + "1" * 32, "hotline", HOTLINE, "/voice", DEMO, "POST")
AGENTS_PLAN = plan(
    "PN" + "2" * 32, "agent line", AGENTS, "/voice/agent-line", "https://old.example.jp/agents", "GET"
)


def test_dry_run_prints_the_plan_and_changes_nothing(twilio: StandIn, both: Path, clock: FixedClock) -> None:
    before = {sid: dict(n) for sid, n in twilio.numbers.items()}
    result = run(app_on(twilio, both, clock), "configure", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        *HOTLINE_PLAN,
        *AGENTS_PLAN,
        "dry run: nothing was changed; `flask --app app ivr twilio configure` makes these changes",
    ]
    assert twilio.posts() == []
    assert twilio.numbers == before
    gets = [(m, p, q) for m, p, q in twilio.requests if m == "GET"]
    assert [q["PhoneNumber"] for _, _, q in gets] == [[HOTLINE], [AGENTS]]


def test_configure_sets_exactly_the_three_urls_on_both_numbers(
    twilio: StandIn, both: Path, clock: FixedClock
) -> None:
    before = {sid: dict(n) for sid, n in twilio.numbers.items()}
    result = run(app_on(twilio, both, clock), "configure")
    assert result.exit_code == 0, result.output
    hotline_sid, agents_sid = "PN" + "1" * 32, "PN" + "2" * 32
    assert twilio.posts() == [
        (f"{PATH}/{hotline_sid}.json", wanted("/voice")),
        (f"{PATH}/{agents_sid}.json", wanted("/voice/agent-line")),
    ]
    for sid, webhook in ((hotline_sid, "/voice"), (agents_sid, "/voice/agent-line")):
        changed = {k: v for k, v in twilio.numbers[sid].items() if before[sid][k] != v}
        assert changed == {
            "voice_url": BASE + webhook,
            "voice_fallback_url": BASE + "/voice/fallback",
            "status_callback": BASE + "/voice/status",
            **({"voice_method": "POST"} if sid == agents_sid else {}),
        }
    assert twilio.numbers["PN" + "3" * 32] == before["PN" + "3" * 32]
    assert result.output.splitlines() == [
        *HOTLINE_PLAN,
        f"hotline {HOTLINE} ({hotline_sid}): changed voice_url, voice_fallback_url, status_callback",
        *AGENTS_PLAN,
        f"agent line {AGENTS} ({agents_sid}): changed voice_url, voice_method, voice_fallback_url, "
        "status_callback",
    ]


def test_a_second_run_has_nothing_to_change_and_status_agrees(
    twilio: StandIn, both: Path, clock: FixedClock
) -> None:
    app = app_on(twilio, both, clock)
    assert run(app, "status").exit_code == 1  # not configured yet
    assert run(app, "configure").exit_code == 0
    posts = len(twilio.posts())
    again = run(app, "configure")
    assert again.exit_code == 0
    assert again.output.splitlines() == [
        f"hotline {HOTLINE} (PN{'1' * 32}): as wanted, nothing to change",
        f"agent line {AGENTS} (PN{'2' * 32}): as wanted, nothing to change",
    ]
    status = run(app, "status")
    assert status.exit_code == 0
    assert status.output.splitlines()[:7] == [
        f"hotline {HOTLINE} (PN{'1' * 32}): as wanted, nothing to change",
        f"  {'voice_url':<{W}}  {BASE}/voice",
        f"  {'voice_method':<{W}}  POST",
        f"  {'voice_fallback_url':<{W}}  {BASE}/voice/fallback",
        f"  {'voice_fallback_method':<{W}}  POST",
        f"  {'status_callback':<{W}}  {BASE}/voice/status",
        f"  {'status_callback_method':<{W}}  POST",
    ]
    assert len(twilio.posts()) == posts


def test_a_null_agent_line_is_skipped_with_a_note(twilio: StandIn, files: Path, clock: FixedClock) -> None:
    result = run(app_on(twilio, files, clock), "configure", "--dry-run")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == (
        "agent line: none (numbers.agent_line is null in flows.yaml, no --agent-line): skipped"
    )
    assert [q["PhoneNumber"] for m, _, q in twilio.requests] == [[HOTLINE]]


def test_options_override_the_flow_and_an_api_key_works(
    twilio: StandIn, files: Path, clock: FixedClock
) -> None:
    env = {"TWILIO_AUTH_TOKEN": None, "TWILIO_API_KEY": API_KEY, "TWILIO_API_SECRET": API_SECRET}
    result = run(app_on(twilio, files, clock), "configure", "--agent-line", AGENTS, **env)
    assert result.exit_code == 0, result.output
    assert [form["VoiceUrl"] for _, form in twilio.posts()] == [
        [BASE + "/voice"],
        [BASE + "/voice/agent-line"],
    ]


@pytest.mark.parametrize(
    ("field", "sid", "what"),
    [("voice_application_sid", "AP" + "c" * 32, "TwiML App"), ("trunk_sid", "TK" + "d" * 32, "SIP trunk")],
)
def test_a_number_bound_to_an_app_or_trunk_is_warned_about(
    twilio: StandIn, files: Path, clock: FixedClock, field: str, sid: str, what: str
) -> None:
    twilio.numbers["PN" + "1" * 32][field] = sid
    result = run(app_on(twilio, files, clock), "configure")
    assert result.exit_code == 1
    warning = [line for line in result.stderr.splitlines() if line.startswith("  warning: ")]
    assert len(warning) == 1
    assert f"it is bound to the {what} {sid}: Twilio " in warning[0]
    assert '"Configure with: Webhook"' in warning[0]
    # set anyway, for when it is unbound
    assert twilio.numbers["PN" + "1" * 32]["voice_url"] == BASE + "/voice"


def test_refused_credentials_are_one_line(twilio: StandIn, files: Path, clock: FixedClock) -> None:
    result = run(app_on(twilio, files, clock), "status", TWILIO_AUTH_TOKEN="wrong")
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "Error: Twilio refused the credentials (20003, Authenticate): check TWILIO_ACCOUNT_SID and "
        "TWILIO_API_KEY/TWILIO_API_SECRET (or TWILIO_AUTH_TOKEN)"
    ]
    assert isinstance(result.exception, SystemExit)  # click's exit, not an exception from the client


def test_another_account_is_a_20404(twilio: StandIn, files: Path, clock: FixedClock) -> None:
    env = {"TWILIO_ACCOUNT_SID": "AC" + "f" * 32, "TWILIO_API_KEY": API_KEY, "TWILIO_API_SECRET": API_SECRET}
    result = run(app_on(twilio, files, clock), "status", **env)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: Twilio has no such resource (20404: The requested resource /2010-04-01/Accounts/AC{'f' * 32}"
        "/IncomingPhoneNumbers.json was not found): check that TWILIO_ACCOUNT_SID is the account that holds "
        "the numbers"
    )


def test_a_number_not_in_the_account(twilio: StandIn, files: Path, clock: FixedClock) -> None:
    result = run(app_on(twilio, files, clock), "configure", "--hotline", "+81312345678")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: the hotline +81312345678 is not a number of account {ACCOUNT}: buy or port it in the Twilio "
        "console (Phone Numbers), or give the right one with --hotline"
    )
    # every number is looked up before anything changes: a missing agent line leaves the hotline alone
    result = run(app_on(twilio, files, clock), "configure", "--agent-line", "+81399999999")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("Error: the agent line +81399999999 is not a number")
    assert twilio.posts() == []


def test_twilio_out_of_reach_is_one_line(files: Path, clock: FixedClock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = run(make_app(files, clock, TWILIO_API_BASE_URL=closed), "status")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: cannot reach Twilio's API at {closed} (ConnectionError): check the network, the firewall "
        "and HTTPS_PROXY"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TWILIO_ACCOUNT_SID": None}, "TWILIO_ACCOUNT_SID is not set: set it to the account's SID"),
        ({"TWILIO_AUTH_TOKEN": None}, "TWILIO_AUTH_TOKEN is not set: set it to the account's auth token"),
        ({"TWILIO_API_KEY": API_KEY}, "TWILIO_API_SECRET is not set: set it to the secret of the API key"),
        ({"TWILIO_API_SECRET": API_SECRET}, "TWILIO_API_KEY is not set: set it to the API key's SID"),
    ],
)
def test_a_missing_credential_is_named(
    twilio: StandIn, files: Path, clock: FixedClock, env: dict[str, str | None], message: str
) -> None:
    result = run(app_on(twilio, files, clock), "configure", **env)
    assert result.exit_code == 2
    assert f"Error: {message}" in result.output
    assert twilio.requests == []


@pytest.mark.parametrize("base", ["http://127.0.0.1:8080", "http://ivr.example.jp", "https://localhost:8443"])
def test_a_base_url_twilio_cannot_call_is_refused(
    twilio: StandIn, files: Path, clock: FixedClock, base: str
) -> None:
    result = run(app_on(twilio, files, clock, PUBLIC_BASE_URL=base), "configure", "--dry-run")
    assert result.exit_code == 2
    assert f"Error: PUBLIC_BASE_URL is {base}, which Twilio cannot call: set it to this service's public" in (
        result.output
    )
    assert twilio.requests == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hotline", "0120-701-675"], "'0120-701-675' is not an E.164 number: write it like +81120701675"),
        (["--agent-line", HOTLINE], "the agent line is the hotline's own number: give the agents their own"),
    ],
)
def test_bad_numbers_on_the_command_line(
    twilio: StandIn, files: Path, clock: FixedClock, args: list[str], message: str
) -> None:
    result = run(app_on(twilio, files, clock), "configure", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert twilio.requests == []
