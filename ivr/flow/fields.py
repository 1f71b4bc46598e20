"""Small typed readers over a YAML document that record problems instead of raising."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from ivr.flow.yamlpos import Document, YamlPath

_MISSING = object()


class Section:
    """A mapping in the document whose fields are read one by one, with unknown ones reported."""

    def __init__(self, doc: Document, path: YamlPath, allowed: Iterable[str], required: Iterable[str] = ()):
        self.doc, self.path = doc, path
        value: Any = doc.data
        for part in path:
            if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
            else:
                value = value.get(part) if isinstance(value, dict) else None
        self.ok = isinstance(value, dict)
        self.data: dict[Any, Any] = value if isinstance(value, dict) else {}
        if value is not None and not self.ok:
            doc.problem(
                path,
                f"{_name(path)} must be a list of fields (name: value)",
                "indent the fields under it by two spaces",
            )
        allowed = list(allowed)
        for key in self.data:
            if str(key) not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                fix = f"did you mean '{near[0]}'?" if near else f"allowed here: {', '.join(allowed)}"
                doc.problem((*path, key), f"unknown field '{key}' in {_name(path)}", fix, key=True)
        for name in required:
            if self.ok and name not in self.data:
                doc.problem(path, f"{_name(path)} needs the field '{name}'", f"add '{name}: …'", key=True)

    def get(self, name: str, default: Any = None) -> Any:
        """The raw value of a field, or the default."""
        return self.data.get(name, default)

    def text(self, name: str, default: str | None = None, *, optional: bool = False) -> str | None:
        """A text field."""
        value = self.data.get(name, _MISSING)
        if value is _MISSING or (value is None and optional):
            return default
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.doc.problem(
            (*self.path, name), f"'{name}' must be text, not {_describe(value)}", f'write it as {name}: "…"'
        )
        return default

    def number(self, name: str, default: float, low: float, high: float, *, integer: bool = False) -> float:
        """A number field within bounds."""
        value = self.data.get(name, default)
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            what = "a whole number" if integer else "a number"
            self.doc.problem(
                (*self.path, name),
                f"'{name}' must be {what}, not {_describe(value)}",
                f"write a number between {low:g} and {high:g}",
            )
            return default
        if not low <= value <= high:
            self.doc.problem(
                (*self.path, name),
                f"'{name}' is {value:g}, outside {low:g}–{high:g}",
                f"choose a value between {low:g} and {high:g}",
            )
            return default
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        """A true/false field."""
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.doc.problem(
                (*self.path, name),
                f"'{name}' must be true or false, not {_describe(value)}",
                f"write {name}: true or {name}: false",
            )
            return default
        return value


def _name(path: YamlPath) -> str:
    return f"'{path[-1]}'" if path else "the file"


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, dict):
        return "a list of fields"
    if isinstance(value, list):
        return "a list"
    return repr(value)
