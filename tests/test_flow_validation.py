"""Broken flows (tests/broken_flows/) through `ivr check FILE`: each problem's exact line, message and fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

BROKEN = Path(__file__).resolve().parent / "broken_flows"
KEY_FIX = 'use one of 0–9, "*" or "#" (quote * and #, which YAML reads specially)'
BACK = "remove it: callers go back with the '#' key"
SPAN_FIX = 'write it like "9:00-17:00", or closed'
TARGET_FIX = "say where the key leads: menu: <menu name> or answer: <prompt id>"
PROMPT_FIX = "add it to a file in prompts/ or fix the spelling (prompts/ に文言を追加してください)"
DEAD_END_FIX = "give it an option with answer: <prompt id>, or lead its keys to menus that have answers"
TOO_DEEP = "keep every answer within 2 keys of the start menu"
NO_OPTIONS = "has no options, so callers have no way on — add at least one option, or remove the menu"
UNREACHABLE = "cannot be reached from 'main' — add an option that leads to it, or remove it"
UTF8 = "save the file as UTF-8 (文字コードを UTF-8 にして保存してください)"

# file name -> every problem `ivr check` reports about the flow ("line:column: severity: message — fix"),
# leaving out the audio warnings any flow but the real one gets (its menus are composed anew)
CASES: dict[str, list[str]] = {
    "empty": ["1:1: error: the file is empty — restore the file from the last version"],
    "not_utf8": [f"1:3: error: the file is not UTF-8 (byte 0x83) — {UTF8}"],
    "not_a_mapping": [
        "1:1: error: the flow file must be a list of fields (start:, menus:, …) — restore its layout"
    ],
    "tab_indent": ["5:1: error: a tab is used for indentation — indent with spaces, not tabs"],
    "yaml_syntax": [
        "7:5: error: YAML syntax: expected ',' or '}', but got ':' — "
        "check indentation, colons and quotes on this line and the one above"
    ],
    "unquoted_star": [
        "4:12: error: YAML syntax: expected alphabetic or numeric character, but found '\\n' — "
        'write "*" in quotes: unquoted, YAML reads * as an alias'
    ],
    "hash_key": [
        "9:7: error: an unquoted # starts a comment, so YAML would drop this whole line (and what it sets) — "
        'write the key in quotes: "#": (キーの # は引用符で囲んでください)'
    ],
    "missing_fields": [
        "2:1: error: the file needs the field 'agent' — add 'agent: …'",
        "2:1: error: the file needs the field 'start' — add 'start: …'",
    ],
    "unknown_field": [
        "4:3: error: 'main' needs the field 'options' — add 'options: …'",
        f"5:5: error: menu 'main' {NO_OPTIONS}",
        "5:5: error: unknown field 'optons' in 'main' — did you mean 'options'?",
    ],
    "wrong_type": [
        "4:14: error: 'timeout_s' must be a whole number, not 'six' — write a number between 2 and 30",
        "5:17: error: 'max_no_input' must be a whole number, not 2.5 — write a number between 1 and 5",
    ],
    "not_a_key": [
        f"7:7: error: '12' is not a single keypad key — {KEY_FIX}",
        f"8:7: error: 'A' is not a single keypad key — {KEY_FIX}",
    ],
    "duplicate_key": [
        "8:7: error: duplicate key 1 (first at line 6) — "
        "remove one of them; YAML would silently keep only the last"
    ],
    "global_keys": [
        "5:9: error: 'back' uses key *, already used by 'repeat' — give each global key its own key",
        f"6:10: error: '00' is not a single keypad key — {KEY_FIX}",
        f"7:13: error: no key is given (an unquoted # starts a comment) — {KEY_FIX}",
        "8:9: error: 'slow' uses key *, already used by 'repeat' — give each global key its own key",
    ],
    "key_clash": [
        "8:7: error: key 9 in menu 'main' clashes with the global 'agent' key — "
        "choose another key for this option"
    ],
    "missing_start": ["1:8: error: the start menu 'home' does not exist — write one of: main"],
    "missing_target": ["6:30: error: menu 's9' does not exist — write one of: main"],
    "unreachable": [f"7:3: error: menu 's2' {UNREACHABLE}"],
    "no_way_out": [
        f"9:3: error: menu 's1' has no way out: none of its keys leads to an answer — {DEAD_END_FIX}",
        f"12:3: error: menu 's2' has no way out: none of its keys leads to an answer — {DEAD_END_FIX}",
        "14:30: error: key 1 in menu 's2' leads back to 's1', which callers pass on the way here, "
        f"so they could go round in circles — {BACK}",
    ],
    "loop": [
        f"13:7: warning: answer 'a2_1' needs 3 key presses from the start menu — {TOO_DEEP}",
        "14:30: error: key 2 in menu 's2' leads back to 's1', which callers pass on the way here, "
        f"so they could go round in circles — {BACK}",
        f"15:30: error: an option cannot lead back to the start menu 'main' — {BACK}",
    ],
    "option_target": [
        "5:12: error: unknown style 'list' — write style: topic or style: question",
        f"7:7: error: option 1 needs exactly one of 'menu:' or 'answer:' — {TARGET_FIX}",
        f"7:46: error: an option cannot lead back to the start menu 'main' — {BACK}",
        f"8:7: error: option 2 needs exactly one of 'menu:' or 'answer:' — {TARGET_FIX}",
        "9:12: error: '3' must be a list of fields (name: value) — indent the fields under it by two spaces",
        f"10:3: error: menu 'empty' {UNREACHABLE}",
        f"11:14: error: menu 'empty' {NO_OPTIONS}",
    ],
    "bad_hours": [
        f"5:10: error: '9:00-25:00' is not an opening time span — {SPAN_FIX}",
        f"6:10: error: '17:00-9:00' is not an opening time span — {SPAN_FIX}",
        "7:5: error: unknown field 'funday' in 'weekly' — allowed here: mon, tue, wed, thu, fri, sat, sun",
    ],
    "bad_dates": [
        "4:28: error: '02-30' is not a month-day — write it like \"12-31\"",
        "5:18: error: '2026-02-30' is not a date — write it like 2026-12-28",
        "6:16: error: '2026-13-01' is not a date — write it like 2026-12-28",
        f"6:55: error: '15:00-10:00' is not an opening time span — {SPAN_FIX}",
    ],
    "bad_agent": [
        "3:16: error: '0120-701-675' is not a phone number or SIP address — "
        'write an E.164 number like "+81120701675" or a SIP URI like "sip:desk@pbx.example.jp"',
        "4:19: error: 'dial_timeout_s' is 300, outside 5–120 — choose a value between 5 and 120",
        "5:14: error: '03-1234-5678' is not an E.164 number — write it like \"+81312345678\"",
    ],
    "unknown_prompt": [
        f"2:11: error: unknown prompt id 'greting' — {PROMPT_FIX}",
        f"7:34: error: unknown prompt id 'a1_9' — {PROMPT_FIX}",
    ],
    "question": [
        "6:50: error: option 1 opens a menu, so it has no question to say — "
        "remove question: (it names the FAQ question said before an answer)",
        f"7:42: error: unknown prompt id 'q1_9' — {PROMPT_FIX}",
    ],
    "too_deep": [
        "22:15: error: answer 'a1_1' can be 9 key presses from the start menu, "
        f"more than the 8 the service can follow — {TOO_DEEP}"
    ],
    "deep_answer": [f"13:7: warning: answer 'a1_1' needs 3 key presses from the start menu — {TOO_DEEP}"],
    "valid": [],
}
LINE = re.compile(r"^(?P<file>.+?):(?P<where>\d+:\d+: (?:error|warning): .*)$")


def check(runner: FlaskCliRunner, path: Path) -> tuple[int, list[str], str]:
    """Exit code, the problems about `path` (file name stripped), and the summary line."""
    result = runner.invoke(args=["ivr", "check", str(path)])
    lines = result.output.splitlines()
    problems = []
    for line in lines[:-1]:
        match = LINE.match(line)
        assert match, line
        if "audio" not in line:
            assert match["file"] == str(path), line
        problems.append(match["where"])
    return result.exit_code, problems, lines[-1]


def test_every_broken_flow_file_has_a_case() -> None:
    assert sorted(p.stem for p in BROKEN.glob("*.yaml")) == sorted(CASES)
    assert sum(any(" error: " in p for p in found) for found in CASES.values()) >= 15


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_broken_flow_reports_exact_lines_messages_and_fixes(runner: FlaskCliRunner, name: str) -> None:
    path = BROKEN / f"{name}.yaml"
    code, problems, summary = check(runner, path)
    about_flow = [p for p in problems if "audio" not in p]
    assert about_flow == CASES[name]
    errors = sum(" error: " in p for p in problems)
    assert code == (1 if errors else 0)
    assert summary.startswith(f"{path}: {errors} error{'' if errors == 1 else 's'}, ")
    if errors:
        assert summary.endswith("the service refuses this flow (a running one keeps its last good flow)")


def test_the_service_refuses_what_check_refuses_with_the_same_messages(runner: FlaskCliRunner) -> None:
    from ivr.flow.bundle import Sources
    from ivr.flow.bundle import load as load_bundle
    from ivr.flow.problems import FlowInvalid

    path = BROKEN / "no_way_out.yaml"
    prompts = Path(__file__).resolve().parent.parent / "prompts"
    with pytest.raises(FlowInvalid) as caught:
        load_bundle(Sources(path, prompts, prompts.parent / "audio"))
    expected = [f"{path}:{line}" for line in CASES["no_way_out"]]
    assert [str(p) for p in caught.value.problems] == expected


def test_the_service_follows_a_key_path_only_as_far_as_check_allows() -> None:
    import dataclasses

    from helpers import ROOT
    from ivr.call.navigate import resolve
    from ivr.flow.bundle import Sources
    from ivr.flow.bundle import load as load_bundle
    from ivr.flow.model import MAX_PATH, Menu, Option

    shipped = load_bundle(Sources(ROOT / "flows.yaml", ROOT / "prompts", ROOT / "audio")).flow
    deep = {f"m{i}": Menu(f"m{i}", (Option("1", "x", menu=f"m{i + 1}"),)) for i in range(MAX_PATH + 3)}
    flow = dataclasses.replace(shipped, menus=deep, start="m0")
    assert resolve(flow, "1" * (MAX_PATH + 3)) == "1" * MAX_PATH
