"""The texts a caller hears (prompts/*.yaml) and the reading list that turns them into speech."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from ivr.flow import yamlpos
from ivr.flow.fields import Section
from ivr.flow.problems import Problem, blocking

READINGS_FILE = "readings.yaml"
# The {fields} catalog.Composer fills into each template; every one must be there, and no other.
_KEY = frozenset({"key"})
TEMPLATES: dict[str, frozenset[str]] = {
    "compose.topic.item": frozenset({"label", "key"}),
    "compose.question.item": frozenset({"label", "key"}),
    **{f"compose.{name}": _KEY for name in ("repeat", "back", "agent", "main_menu")},
    **{f"compose.{name}_answer": _KEY for name in ("repeat", "slow", "back")},
    "time.hour": frozenset({"hour"}),
    "time.hour_minute": frozenset({"hour", "minute"}),
    "hours.weekdays": frozenset({"open", "close"}),
    "hours.day": frozenset({"day", "open", "close"}),
    # whole phrases for each number the queue and the agent line say (flow/queue_prompts.py)
    **{name: frozenset({"n"}) for name in ("queue.position", "queue.position.more", "queue.estimate")},
    **{name: frozenset({"n"}) for name in ("count", "count.more")},
}


@dataclass(frozen=True)
class Reading:
    """One speech adaptation: a written form (or a regular expression) and what must be heard."""

    spoken: str
    written: str | None = None
    pattern: re.Pattern[str] | None = None
    prompts: frozenset[str] | None = None  # only these prompt ids (None: every prompt)

    def apply(self, text: str, prompt_id: str | None = None) -> str:
        """Replace every occurrence in a text (of a prompt this reading is for)."""
        if self.prompts is not None and prompt_id not in self.prompts:
            return text
        if self.pattern is not None:
            return self.pattern.sub(self.spoken, text)
        assert self.written is not None
        return text.replace(self.written, self.spoken)


@dataclass
class PromptTexts:
    """Every prompt text by id, where it was written, and the reading list."""

    texts: dict[str, str] = field(default_factory=dict)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)
    readings: list[Reading] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    unloaded: list[str] = field(default_factory=list)  # prompt files that could not be read at all

    def speech(self, text: str, prompt_id: str | None = None) -> str:
        """The text as the engine must hear it: every reading for this prompt applied, in list order."""
        for reading in self.readings:
            text = reading.apply(text, prompt_id)
        return text


def load(folder: Path, problems: list[Problem]) -> PromptTexts:
    """Read prompts/*.yaml (id: text) and prompts/readings.yaml; problems are appended."""
    result = PromptTexts()
    if not folder.is_dir():
        problems.append(Problem(str(folder), 1, 1, "the prompts folder is missing", "restore prompts/"))
        return result
    readings_doc = None
    for path in sorted(folder.glob("*.yaml")):
        display = f"{folder.name}/{path.name}"
        doc = yamlpos.load(path, display)
        result.files.append(path)
        if doc.data is None and blocking(doc.problems):
            result.unloaded.append(display)
        if path.name == READINGS_FILE:
            readings_doc = doc  # read last: its `prompts:` name ids from the other files
        else:
            _texts(doc, result)
            problems.extend(doc.problems)
    if readings_doc is not None:
        result.readings = _readings(readings_doc, set(result.texts))
        problems.extend(readings_doc.problems)
    return result


def _texts(doc: yamlpos.Document, result: PromptTexts) -> None:
    if doc.data is None and not doc.problems:
        doc.problem((), "the prompt file is empty", 'add lines like greeting: "…" or remove the file')
    if not isinstance(doc.data, dict):
        if doc.data is not None:
            doc.problem((), "a prompt file is a list of id: text lines", 'write each prompt as id: "text"')
        return
    for prompt_id, text in doc.data.items():
        line = doc.at((prompt_id,), key=True)[0]
        # templates may be empty (a separator of nothing); a prompt a caller hears may not
        if not isinstance(text, str) or not (text.strip() or str(prompt_id).startswith("compose.")):
            doc.problem(
                (prompt_id,),
                f"prompt '{prompt_id}' has no text",
                "write the words in quotes after the colon (文言を引用符で囲んで書いてください)",
            )
            continue
        if str(prompt_id) in result.texts:
            first_file, first_line = result.where[str(prompt_id)]
            doc.problem(
                (prompt_id,),
                f"prompt id '{prompt_id}' is already defined in {first_file}:{first_line}",
                "rename one of them",
                key=True,
            )
            continue
        _template(doc, str(prompt_id), text)
        result.texts[str(prompt_id)] = " ".join(text.split())
        result.where[str(prompt_id)] = (doc.file, line)


def _template(doc: yamlpos.Document, prompt_id: str, text: str) -> None:
    """A template keeps exactly its {fields}: an unknown one would fail every call, a lost {key} the menu."""
    wanted = TEMPLATES.get(
        prompt_id, frozenset() if prompt_id.startswith(("compose.", "hours.", "time.")) else None
    )
    if wanted is None:
        return
    try:
        names = {f"{{{name}}}" for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        names = {"an unmatched { or }"}
    if names != {f"{{{name}}}" for name in wanted}:
        listed = " ".join(f"{{{name}}}" for name in sorted(wanted)) or "no {…}"
        doc.problem(
            (prompt_id,),
            f"template '{prompt_id}' must contain {listed}; it has {' '.join(sorted(names)) or 'none'}",
            f"write {listed} as in the original, no other {{…}} (テンプレートの {{…}} は元のとおりに)",
        )


def _scope(doc: yamlpos.Document, i: int, value: object, known: set[str]) -> frozenset[str] | None:
    """The prompt ids a reading is limited to (None: every prompt); unknown ids are errors."""
    if value is None:
        return None
    ids = [value] if isinstance(value, str) else value
    if not isinstance(ids, list) or not ids or not all(isinstance(p, str) for p in ids):
        doc.problem(
            ("readings", i, "prompts"),
            "'prompts' must be a list of prompt ids",
            "write prompts: [a3_1, a3_2], or remove the line to apply the reading to every prompt",
        )
        return frozenset()
    for unknown in [p for p in ids if p not in known]:
        doc.problem(
            ("readings", i, "prompts"),
            f"unknown prompt id '{unknown}' in 'prompts'",
            "write ids as in prompts/*.yaml (e.g. a3_1); a misspelt id would leave the reading unused",
        )
    return frozenset(ids)


def _readings(doc: yamlpos.Document, known: set[str]) -> list[Reading]:
    top = Section(doc, (), ("readings",), required=("readings",))
    entries = top.get("readings") or []
    if not isinstance(entries, list):
        doc.problem(("readings",), "'readings' must be a list", "write each reading on a '- ' line")
        return []
    readings: list[Reading] = []
    for i, _entry in enumerate(entries):
        sec = Section(
            doc, ("readings", i), ("written", "pattern", "spoken", "prompts", "note"), required=("spoken",)
        )
        spoken, written, pattern = (
            sec.text("spoken", ""),
            sec.text("written", optional=True),
            sec.get("pattern"),
        )
        scope = _scope(doc, i, sec.get("prompts"), known)
        if (written is None) == (pattern is None):
            doc.problem(
                ("readings", i),
                "a reading needs either 'written:' or 'pattern:'",
                'write written: "(株)" (the text as written) or pattern: (a regular expression)',
            )
            continue
        if pattern is not None:
            try:
                compiled = re.compile(str(pattern))
            except re.error as exc:
                doc.problem(
                    ("readings", i, "pattern"),
                    f"the pattern is not a valid regular expression ({exc})",
                    "fix the pattern, or use written: for plain text",
                )
                continue
            try:
                compiled.sub(spoken or "", "")  # parses \1-style references now, not at the first call
            except re.error as exc:
                doc.problem(
                    ("readings", i, "spoken"),
                    f"'spoken' cannot be used with this pattern ({exc})",
                    f"refer only to the pattern's {compiled.groups} group(s), as \\1, \\2 …",
                )
                continue
            if compiled.search("") is not None:
                doc.problem(
                    ("readings", i, "pattern"),
                    "the pattern matches empty text, so it would insert its reading between every character",
                    "make the pattern match at least one character",
                )
                continue
            readings.append(Reading(spoken or "", pattern=compiled, prompts=scope))
        else:
            readings.append(Reading(spoken or "", written=written, prompts=scope))
    return readings
