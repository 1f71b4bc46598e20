"""Problems found in ops files, each naming the file, the line and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One finding in an ops-edited file: where it is, what is wrong, and how to fix it."""

    file: str
    line: int
    column: int
    message: str
    fix: str = ""
    severity: Severity = "error"
    cause: bool = field(default=False, compare=False)  # listed before the rest: what others follow from

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        return f"{text} — {self.fix}" if self.fix else text


class FlowInvalid(Exception):
    """The flow or prompts cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = ordered(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def ordered(problems: list[Problem]) -> list[Problem]:
    """Causes first, then by file, line and column."""
    return sorted(problems, key=lambda p: (not p.cause, p))


def _refers_to_a_prompt(problem: Problem) -> bool:
    return problem.message.startswith("unknown prompt id") or "is needed but not defined" in problem.message


def fold(problems: list[Problem], unloaded: list[str]) -> list[Problem]:
    """When a prompt file did not load, its errors come first and the missing prompt ids it caused
    elsewhere fold into one line: one stray quote is one problem to fix, not 35."""
    if not unloaded:
        return problems
    causes = [replace(p, cause=True) for p in problems if p.file in unloaded]
    caused = [p for p in problems if p.file not in unloaded and _refers_to_a_prompt(p)]
    rest = [p for p in problems if p.file not in unloaded and not _refers_to_a_prompt(p)]
    if causes and caused:
        first = min(causes)
        causes.append(
            Problem(
                first.file,
                first.line,
                first.column,
                f"and {len(caused)} more error{'s' if len(caused) > 1 else ''} because {', '.join(unloaded)} "
                "did not load (its prompt ids are missing elsewhere)",
                "fix the error above first: these go away with it",
                cause=True,
            )
        )
    return causes + rest if causes and caused else [*causes, *caused, *rest]


def blocking(problems: list[Problem]) -> list[Problem]:
    """Only the problems that block loading (severity error)."""
    return [p for p in problems if p.severity == "error"]


def warnings(problems: list[Problem]) -> list[Problem]:
    """Only the problems that are reported but do not block loading."""
    return [p for p in problems if p.severity == "warning"]
