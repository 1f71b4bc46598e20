"""The package's layers import one way: web → call → flow; ops and synth on top; no Flask below web."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ivr"
# For each layer: the imports its modules may not make (a prefix matches the module and its children).
FORBIDDEN = {
    "flow": (
        "flask",
        "werkzeug",
        "ivr.call",
        "ivr.web",
        "ivr.ops",
        "ivr.synth",
        "ivr.state",
        "ivr.testing",
        "ivr.store",
        "ivr.console",
    ),
    "web": ("ivr.ops", "ivr.synth", "ivr.testing", "ivr.console"),
    "call": (
        "flask",
        "werkzeug",
        "ivr.web",
        "ivr.ops",
        "ivr.synth",
        "ivr.state",
        "ivr.testing",
        "ivr.store",
        "ivr.console",
    ),
    "synth": ("flask", "ivr.web", "ivr.call", "ivr.ops", "ivr.state", "ivr.console"),
    "store": (
        "flask",
        "werkzeug",
        "ivr.web",
        "ivr.call",
        "ivr.ops",
        "ivr.synth",
        "ivr.state",
        "ivr.testing",
        "ivr.console",
    ),
    # the console sits on web, store and ops (the picture, the in-process line); a web worker serves it,
    # so it never imports a speech engine, and nothing below it imports the console
    "console": ("ivr.synth", "numpy"),
    "ops": ("ivr.console",),
}


def module_name(path: Path) -> str:
    """ivr/flow/model.py → ivr.flow.model (a package's __init__ is the package)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, with its line, relative imports made absolute."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def violations(layer: str) -> list[str]:
    """Each import in the layer's modules that goes the wrong way, as file:line: module."""
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for line, name in imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name}")
    return bad


@pytest.mark.parametrize("layer", sorted(FORBIDDEN), ids=sorted(FORBIDDEN))
def test_imports_go_one_way(layer: str) -> None:
    assert violations(layer) == []


def test_the_rule_catches_a_wrong_way_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "ivr"
    (fake / "flow").mkdir(parents=True)
    (fake / "flow" / "model.py").write_text(
        "from flask import g\nfrom ..web import voice\nfrom . import rules\n"
    )
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert violations("flow") == ["ivr/flow/model.py:1: flask.g", "ivr/flow/model.py:2: ivr.web.voice"]


def test_the_tree_is_the_documented_one() -> None:
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__"))
    assert folders == ["call", "console", "flow", "ops", "store", "synth", "web"]
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == [
        *("__init__.py", "clock.py", "config.py", "cpus.py"),
        *("logs.py", "privacy.py", "state.py", "testing.py"),
    ]


def test_the_queue_and_callback_views_import_one_way_at_module_level() -> None:
    views = [PACKAGE / "web" / f"{name}.py" for name in ("queue", "callback", "agent_line")]
    for path in views:  # an import inside a function would hide a circle
        tree = ast.parse(path.read_text("utf-8"))
        top = {id(node) for node in tree.body}
        nested = [
            n.lineno
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in top
        ]
        assert nested == [], f"{path.name}: imports inside functions at lines {nested}"
    assert not [name for _, name in imports(views[0]) if name.startswith("ivr.web.callback")]
