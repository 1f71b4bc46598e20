"""`flask ivr check` on the real flow and on broken prompts, readings and audio: lines, messages, exits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from helpers import ROOT, bundle_of, edit
from ivr.flow.bundle import Sources, load

PROBLEM = re.compile(r"^(.+?):(\d+):(\d+): (error|warning): (.*?) — (.*)$")
PROMPTS = len(load(Sources(ROOT / "flows.yaml", ROOT / "prompts", ROOT / "audio")).prompts)
SYNTH_STALE = "run `flask --app app ivr synth` (文言が変わりました。synth で音声を作り直してください)"
Found = tuple[str, int, int, str, str, str]


def check(runner: FlaskCliRunner, *args: str) -> tuple[int, list[Found], str]:
    """Exit code, the problems as (file, line, column, severity, message, fix), and the summary line."""
    result = runner.invoke(args=["ivr", "check", *args])
    *lines, summary = result.output.splitlines()
    found = []
    for line in lines:
        match = PROBLEM.match(line)
        assert match, line
        file, row, col, severity, message, fix = match.groups()
        found.append((file, int(row), int(col), severity, message, fix))
    return result.exit_code, found, summary


def line_of(path: Path, start: str) -> int:
    """The 1-based number of the first line of a file that starts with `start`."""
    return next(i for i, text in enumerate(path.read_text("utf-8").splitlines(), 1) if text.startswith(start))


def test_the_real_flow_is_clean(app: Flask, runner: FlaskCliRunner) -> None:
    code, found, summary = check(runner)
    digest = bundle_of(app).digest
    assert (code, found) == (0, [])
    counts = f"0 errors, 0 warnings — 5 menus, 15 answers, audio for {PROMPTS} of {PROMPTS} prompts"
    assert summary == f"flows.yaml: {counts} (flow {digest})"


def test_a_changed_answer_text_makes_its_audio_stale(files: Path, runner: FlaskCliRunner) -> None:
    faq = files / "prompts" / "faq.yaml"
    edit(faq, "外部からの不正アクセス", "外部からの悪意ある不正アクセス")
    code, found, summary = check(runner)
    message = (
        "the audio of prompt '{}' is stale: its text changed since it was made; "
        "callers hear it read by the Polly.Mizuki voice until it is made again"
    )
    assert found == [  # the answer and its slow replay, both at the answer's line
        ("prompts/faq.yaml", line_of(faq, "a1_1:"), 1, "warning", message.format(pid), SYNTH_STALE)
        for pid in ("a1_1", "a1_1.slow")
    ]
    assert code == 0
    assert summary.startswith(
        "flows.yaml: 0 errors, 2 warnings — 5 menus, 15 answers, "
        f"audio for {PROMPTS - 2} of {PROMPTS} prompts"
    )
    assert runner.invoke(args=["ivr", "check", "--strict"]).exit_code == 1


def test_a_changed_label_makes_the_composed_menu_stale_at_its_menu(
    files: Path, runner: FlaskCliRunner
) -> None:
    edit(files / "prompts" / "menus.yaml", 'topic.q4_2: "弊社の', 'topic.q4_2: "当行の')
    code, found, _ = check(runner)
    line = line_of(files / "flows.yaml", "  s4:")
    assert [(f, row, col, msg.split(":")[0]) for f, row, col, _, msg, _ in found] == [
        ("flows.yaml", line, 3, "the audio of prompt 'menu.s4' is stale"),
        ("flows.yaml", line, 3, "the audio of prompt 'menu.s4.short' is stale"),
        # the label alone is what the agent line says the next caller last heard
        (
            "prompts/menus.yaml",
            line_of(files / "prompts" / "menus.yaml", "topic.q4_2:"),
            1,
            "the audio of prompt 'topic.q4_2' is stale",
        ),
    ]
    assert code == 0


def test_a_prompt_without_audio_is_reported_missing(files: Path, runner: FlaskCliRunner) -> None:
    manifest_path = files / "audio" / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["files"] = {k: v for k, v in manifest["files"].items() if v["prompt"] != "goodbye"}
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    code, found, _ = check(runner)
    system = files / "prompts" / "system.yaml"
    assert found == [
        (
            "prompts/system.yaml",
            line_of(system, "goodbye:"),
            1,
            "warning",
            "prompt 'goodbye' has no audio yet; callers hear it read by the Polly.Mizuki voice",
            "run `flask --app app ivr synth` (音声がありません。synth で作成してください)",
        )
    ]
    assert code == 0


def test_menus_longer_than_the_limit_are_reported_with_their_length(
    app: Flask, files: Path, runner: FlaskCliRunner
) -> None:
    edit(files / "flows.yaml", "max_menu_seconds: 20", "max_menu_seconds: 15")
    code, found, _ = check(runner)
    audio = bundle_of(app).audio
    flows = files / "flows.yaml"
    expected = [
        (
            "flows.yaml",
            line_of(flows, f"  {menu}:"),
            3,
            "warning",
            f"menu '{menu}' lasts {audio[f'menu.{menu}'].duration_s:.1f} s of audio, "
            "more than checks.max_menu_seconds (15 s)",
            "shorten its intro or labels, or split it into two menus "
            "(メニューが長すぎます。案内文を短くするか、メニューを分けてください)",
        )
        for menu in ("s1", "s2", "s3")  # main 14.1 s and s4 14.3 s fit
    ]
    assert found == expected
    assert code == 0


def test_menu_length_is_estimated_from_the_text_without_audio(
    app: Flask, files: Path, runner: FlaskCliRunner
) -> None:
    (files / "audio" / "manifest.json").unlink()
    edit(files / "flows.yaml", "max_menu_seconds: 20", "max_menu_seconds: 5")
    _, found, summary = check(runner)
    speech = bundle_of(app).prompts["menu.s4"].speech
    long = [msg for *_, msg, _ in found if msg.startswith("menu 's4'")]
    assert long == [
        f"menu 's4' lasts ~{len(speech) / 5.9:.1f} s of audio, more than checks.max_menu_seconds (5 s)"
    ]
    assert f"audio for 0 of {PROMPTS} prompts" in summary


TEMPLATE_FIX = "(テンプレートの {…} は元のとおりに)"
BROKEN_PROMPTS = [
    pytest.param(
        "system.yaml",
        (
            'compose.topic.item: "{label}は{key}を"',
            'compose.topic.item: "{lable}は{key}を"',
        ),
        ("compose.topic.item:", 21),
        "template 'compose.topic.item' must contain {key} {label}; it has {key} {lable}",
        f"write {{key}} {{label}} as in the original, no other {{…}} {TEMPLATE_FIX}",
        id="template-typo",
    ),
    pytest.param(
        "system.yaml",
        ('compose.agent: "担当者は{key}を"', 'compose.agent: "担当者は0を"'),
        ("compose.agent:", 16),
        "template 'compose.agent' must contain {key}; it has none",
        f"write {{key}} as in the original, no other {{…}} {TEMPLATE_FIX}",
        id="template-lost-key",
    ),
    pytest.param(
        "system.yaml",
        ('time.hour: "{hour}時"', 'time.hour: "{hour時"'),
        ("time.hour:", 12),
        "template 'time.hour' must contain {hour}; it has an unmatched { or }",
        f"write {{hour}} as in the original, no other {{…}} {TEMPLATE_FIX}",
        id="template-brace",
    ),
    pytest.param(
        "system.yaml",
        ('goodbye: "お電話ありがとうございました。失礼いたします。"', 'goodbye: ""'),
        ("goodbye:", 10),
        "prompt 'goodbye' has no text",
        "write the words in quotes after the colon (文言を引用符で囲んで書いてください)",
        id="empty-prompt",
    ),
    pytest.param(
        "readings.yaml",
        ('spoken: "\\\\1時"', 'spoken: "\\\\3時"'),
        ('    spoken: "\\\\3時"', 13),
        "'spoken' cannot be used with this pattern (invalid group reference 3 at position 1)",
        "refer only to the pattern's 1 group(s), as \\1, \\2 …",
        id="reading-group",
    ),
    pytest.param(
        "readings.yaml",
        ('pattern: "(\\\\d{1,2}):00"', 'pattern: "(\\\\d{0,2})"'),
        ('  - pattern: "(\\\\d{0,2})"', 14),
        "the pattern matches empty text, so it would insert its reading between every character",
        "make the pattern match at least one character",
        id="reading-empty-match",
    ),
    pytest.param(
        "readings.yaml",
        ("prompts: [a3_1, a3_2, a3_3, a3_4]", "prompts: [a3_1, a3_2, a3_3, a3_5]"),
        ("    prompts: [a3_1", 14),
        "unknown prompt id 'a3_5' in 'prompts'",
        "write ids as in prompts/*.yaml (e.g. a3_1); a misspelt id would leave the reading unused",
        id="reading-unknown-prompt",
    ),
]


@pytest.mark.parametrize(("file", "change", "at", "message", "fix"), BROKEN_PROMPTS)
def test_broken_prompts_are_errors_at_their_line(
    files: Path,
    runner: FlaskCliRunner,
    file: str,
    change: tuple[str, str],
    at: tuple[str, int],
    message: str,
    fix: str,
) -> None:
    path = files / "prompts" / file
    edit(path, *change)
    code, found, summary = check(runner)
    line_start, column = at  # column: where the value in question starts
    assert found == [(f"prompts/{file}", line_of(path, line_start), column, "error", message, fix)]
    assert code == 1
    assert summary.startswith("flows.yaml: 1 error, 0 warnings — the service refuses this flow")


def test_a_prompt_id_defined_twice(files: Path, runner: FlaskCliRunner) -> None:
    extra = files / "prompts" / "extra.yaml"
    extra.write_text('# more prompts\ngreeting: "もしもし"\n', "utf-8")
    code, found, _ = check(runner)
    second = line_of(files / "prompts" / "system.yaml", "greeting:")
    assert found == [  # prompts/*.yaml are read in name order
        (
            "prompts/system.yaml",
            second,
            1,
            "error",
            "prompt id 'greeting' is already defined in prompts/extra.yaml:2",
            "rename one of them",
        )
    ]
    assert code == 1


def test_an_unreadable_manifest_is_a_warning(app: Flask, files: Path, runner: FlaskCliRunner) -> None:
    (files / "audio" / "manifest.json").write_text('{"version": 1, "files": ', "utf-8")
    code, found, _ = check(runner)
    assert found[0][:5] == (
        "audio/manifest.json",
        1,
        1,
        "warning",
        "the audio manifest cannot be read (Expecting value: line 1 column 25 (char 24))",
    )
    assert len(found) == 1 + PROMPTS  # and every prompt is then without audio
    assert code == 0


def test_check_without_file_reads_the_apps_flow_file_as_it_is_now(
    files: Path, runner: FlaskCliRunner
) -> None:
    flows = files / "flows.yaml"
    edit(flows, '"2": {label: topic.s2, menu: s2}', '"2": {label: topic.s2, menu: s5}')
    code, found, _ = check(runner)
    option = '      "2": {label: topic.s2, menu: s5}'
    line, column = line_of(flows, option), option.index("s5}") + 1
    assert [f[:5] for f in found] == [
        ("flows.yaml", line, column, "error", "menu 's5' does not exist"),
        ("flows.yaml", line_of(flows, "  s2:"), 3, "error", "menu 's2' cannot be reached from 'main'"),
    ]
    assert code == 1


def test_a_file_that_does_not_exist_is_a_usage_error(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["ivr", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_an_unforeseen_failure_is_reported_not_raised(
    runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(sources: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("ivr.flow.schema.build", boom)
    code, found, _ = check(runner)
    assert found == [
        (
            "flows.yaml",
            1,
            1,
            "error",
            "the flow cannot be loaded (RuntimeError('boom'))",
            "undo the last edit, then run `flask --app app ivr check`",
        )
    ]
    assert code == 1


def test_one_stray_quote_is_one_cause_first_and_one_folded_line(files: Path, runner: FlaskCliRunner) -> None:
    faq = files / "prompts" / "faq.yaml"
    edit(faq, "電話番号や e-mail", '電話番号や "e-mail')
    code, found, summary = check(runner)
    line = line_of(faq, "q1_3:")
    assert code == 1
    assert [(f, n, severity) for f, n, _, severity, _, _ in found] == [
        ("prompts/faq.yaml", line, "error")
    ] * 2
    assert found[0][4].startswith("YAML syntax:")
    folded = found[1][4]
    assert folded.startswith("and ") and folded.endswith(
        "more errors because prompts/faq.yaml did not load (its prompt ids are missing elsewhere)"
    )
    assert int(folded.split()[1]) > 10
    assert summary.startswith("flows.yaml: 2 errors, 0 warnings")


def laughs(levels: int = 9) -> str:
    """ "Billion laughs": each level nine aliases of the one before (9**levels values once expanded)."""
    lines, before = ['l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]'], "l0"
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*{before}'] * 9)}]")
        before = f"l{n}"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (laughs(), "this part is repeated elsewhere by an alias"),
        (("# " + "x" * 77 + "\n") * 125_000 + "menus: {}\n", "the file is 10,000,010 bytes"),  # 10 MB
    ],
    ids=["billion-laughs", "ten-megabytes"],
)
def test_a_yaml_bomb_or_a_huge_file_is_refused_at_once_with_its_line(
    files: Path, runner: FlaskCliRunner, content: str, message: str
) -> None:
    """The probe: a 7.5 KB file of nested aliases took 27 s and 1.7 GB to expand; a 10 MB flows.yaml 160 s
    of CPU. Both are refused before anything is expanded or parsed: a few KB of memory, not gigabytes."""
    import tracemalloc

    (files / "flows.yaml").write_text(content, "utf-8")
    tracemalloc.start()
    try:
        code, found, _ = check(runner)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1
    assert any(f[0].endswith("flows.yaml") and f[1] == 1 and f[4].startswith(message) for f in found), found
    assert peak < 50_000_000 + 2 * len(content)  # the file itself is read once, nothing is expanded
