"""Problems found in ops files, each naming the file, the line and the fix."""

from __future__ import annotations

from dataclasses import dataclass
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

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        return f"{text} — {self.fix}" if self.fix else text


class FlowInvalid(Exception):
    """The flow or prompts cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def blocking(problems: list[Problem]) -> list[Problem]:
    """Only the problems that block loading (severity error)."""
    return [p for p in problems if p.severity == "error"]


def warnings(problems: list[Problem]) -> list[Problem]:
    """Only the problems that are reported but do not block loading."""
    return [p for p in problems if p.severity == "warning"]
