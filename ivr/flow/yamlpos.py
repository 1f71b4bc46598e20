"""YAML loading with `yaml.safe_load` semantics plus positions, duplicate keys and readable errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivr.flow.problems import Problem, blocking

YamlPath = tuple[str | int, ...]
# An ops file is a few kilobytes; a file this large is a mistake (or an attack), refused before parsing.
MAX_BYTES = 1_000_000


@dataclass
class Document:
    """A parsed YAML file: its data, where each value and key sits, and what went wrong."""

    file: str
    data: Any = None
    values: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    built: set[int] = field(default_factory=set, repr=False)  # the nodes built: a second time is an alias
    repeated: set[int] = field(default_factory=set, repr=False)  # the nodes an alias repeats (said once)

    def at(self, path: YamlPath, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of a value, or of its key; falls back to the nearest parent."""
        table = self.keys if key else self.values
        while path:
            # mapping keys are stored as text (YAML's 1 and "1", a date and its ISO text sit at the same
            # place); list indexes as ints
            for variant in (path, tuple(p if isinstance(p, str) else str(p) for p in path)):
                if variant in table:
                    return table[variant]
                if key and variant in self.values:
                    return self.values[variant]
            path = path[:-1]
        return self.values.get((), (1, 1))

    def problem(
        self, path: YamlPath, message: str, fix: str = "", *, key: bool = False, warn: bool = False
    ) -> None:
        """Record a problem at a path of this document."""
        line, col = self.at(path, key=key)
        self.problems.append(Problem(self.file, line, col, message, fix, "warning" if warn else "error"))

    def error(self, line: int, col: int, message: str, fix: str) -> None:
        """Record an error at a line and column (1-based) of the file."""
        self.problems.append(Problem(self.file, line, col, message, fix))


def load(path: Path, display: str | None = None) -> Document:
    """Read a YAML file; problems (syntax, encoding, tabs, duplicate keys) are collected, never raised."""
    doc = Document(display or str(path))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        doc.error(1, 1, f"cannot read the file ({exc.strerror})", "check the path")
        return doc
    return parse(raw, doc)


def parse(raw: bytes, doc: Document) -> Document:
    """Parse YAML bytes into `doc`."""
    if len(raw) > MAX_BYTES:
        doc.error(
            1,
            1,
            f"the file is {len(raw):,} bytes: an ops file is at most {MAX_BYTES:,}",
            "restore the file from the last version (it is a few kilobytes)",
        )
        return doc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        doc.error(
            line,
            col,
            f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x})",
            "save the file as UTF-8 (文字コードを UTF-8 にして保存してください)",
        )
        return doc
    if not text.strip():
        doc.error(1, 1, "the file is empty", "restore the file from the last version")
        return doc
    for number, line_text in enumerate(text.splitlines(), 1):
        indent = line_text[: len(line_text) - len(line_text.lstrip(" \t"))]
        if "\t" in indent:
            doc.error(
                number,
                indent.index("\t") + 1,
                "a tab is used for indentation",
                "indent with spaces, not tabs",
            )
        if line_text.lstrip().startswith("#:"):  # meant as the # key: YAML would silently drop the line
            doc.error(
                number,
                len(indent) + 1,
                "an unquoted # starts a comment, so YAML would drop this whole line (and what it sets)",
                'write the key in quotes: "#": (キーの # は引用符で囲んでください)',
            )
    if blocking(doc.problems):
        return doc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.data = _build(loader, node, (), doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        doc.error(
            line,
            col,
            f"YAML syntax: {exc.problem or exc.context}",
            'write "*" in quotes: unquoted, YAML reads * as an alias'
            if exc.context == "while scanning an alias"
            else "check indentation, colons and quotes on this line and the one above",
        )
    except yaml.YAMLError as exc:
        doc.error(1, 1, f"YAML syntax: {exc}", "check the file's structure")
    finally:
        loader.dispose()
    return doc


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: YamlPath, doc: Document) -> Any:
    doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if not isinstance(node, yaml.ScalarNode):
        # An alias (*name, or a << merge) reuses a node: expanded, a few of them nest into billions of values
        # ("billion laughs"). Ops files need none, so the first reuse is refused, before it is expanded.
        if id(node) in doc.built:
            if id(node) not in doc.repeated:  # said once per part, however often it is repeated
                doc.repeated.add(id(node))
                doc.error(
                    node.start_mark.line + 1,
                    node.start_mark.column + 1,
                    "this part is repeated elsewhere by an alias (*name or <<): ops files use none",
                    "write the values out in full (アンカー & とエイリアス * は使えません)",
                )
            return None
        doc.built.add(id(node))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                doc.error(
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                    "a key must be plain text",
                    "write the key as text before the colon",
                )
                continue
            key = _scalar(loader, key_node)
            child = (*path, str(key))
            position = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if child in doc.keys:
                first = doc.keys[child]
                doc.error(
                    *position,
                    f"duplicate key {key!r} (first at line {first[0]})",
                    "remove one of them; YAML would silently keep only the last",
                )
                continue
            doc.keys[child] = position
            result[key] = _build(loader, value_node, child, doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), doc) for i, item in enumerate(node.value)]
    return _scalar(loader, node)


def _scalar(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError):
        # e.g. 2026-02-30 looks like a date to YAML but is none: keep the text, the schema says what is wrong
        return node.value
