"""The `numbers:` section of flows.yaml: E.164 numbers with file:line errors, both optional."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.flow import schema, yamlpos
from ivr.flow.numbers import Numbers
from ivr.state import get_state

VALID = (Path(__file__).resolve().parent / "broken_flows" / "valid.yaml").read_text("utf-8")
DESTINATION_LINE = next(i for i, line in enumerate(VALID.splitlines(), 1) if "destination:" in line)
DESK = "write the agents' desk: their own number or a SIP URI on the bank's PBX"
FIX = 'write it with + and the country code in quotes, like "+81120701675", or null'


def build(tmp_path: Path, numbers: str) -> tuple[Path, Numbers | None]:
    path = tmp_path / "edited" / "flows.yaml"  # tmp_path/flows.yaml is the app's own copy
    path.parent.mkdir(exist_ok=True)
    path.write_text(VALID + numbers, "utf-8")
    flow = schema.build(yamlpos.load(path))
    return path, flow.numbers if flow else None


def test_the_shipped_flow_names_the_hotline(app: Flask) -> None:
    with app.app_context():
        loaded = get_state().current()
        assert loaded is not None
        assert loaded.bundle.flow.numbers == Numbers(hotline="+81120701675", agent_line=None)


def test_numbers_are_optional(tmp_path: Path) -> None:
    assert build(tmp_path, "")[1] == Numbers(None, None)
    both = 'numbers:\n  hotline: "+81120701675"\n  agent_line: " +81120701676 "\n'
    assert build(tmp_path, both)[1] == Numbers("+81120701675", "+81120701676")


@pytest.mark.parametrize(
    ("numbers", "problem"),
    [
        (
            "numbers:\n  hotline: +81120701675\n",
            f"12:12: error: 81120701675 is not an E.164 phone number — {FIX}",
        ),
        (
            'numbers:\n  hotline: "0120-701-675"\n',
            f"12:12: error: '0120-701-675' is not an E.164 phone number — {FIX}",
        ),
        (
            'numbers:\n  hotline: "+81120701699"\n  agent_line: "+81120701699"\n',
            "13:15: error: the agent line is the hotline's own number — "
            "give the agents their own number, or write agent_line: null",
        ),
        (
            'numbers:\n  hotline: "+81120701675"\n',
            f"{DESTINATION_LINE}:22: error: the agent destination is this service's own hotline number "
            f"(numbers.hotline): a transfer would call the hotline itself — {DESK}",
        ),
        (
            'numbers:\n  agent_line: "+81120701675"\n',
            f"{DESTINATION_LINE}:22: error: the agent destination is this service's own agent_line number "
            f"(numbers.agent_line): a transfer would call the hotline itself — {DESK}",
        ),
        (
            'numbers:\n  hotlin: "+81120701675"\n',
            "12:3: error: unknown field 'hotlin' in 'numbers' — did you mean 'hotline'?",
        ),
    ],
    ids=["unquoted", "national-form", "agent-line-is-hotline", "dial-self", "dial-agent-line", "typo"],
)
def test_a_wrong_number_is_reported_at_its_line(
    tmp_path: Path, runner: FlaskCliRunner, numbers: str, problem: str
) -> None:
    path, _ = build(tmp_path, numbers)
    result = runner.invoke(args=["ivr", "check", str(path)])
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if "audio" not in line][:-1] == [f"{path}:{problem}"]
