"""The package's layers import one way: web → call → flow; ops and synth on top; no Flask below web but in
store's one app hook; no import circles; only store makes the database's engines and the number sealer."""

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
# The one module of a layer that may make an import the layer forbids, and which: store's app hook.
EXCEPT = {"ivr/store/extension.py": ("flask",)}
# What makes a database engine or the callback numbers' sealer: only store/ calls these.
MAKERS = {"create_engine", "Sealer", "MultiFernet", "Fernet"}


def module_name(path: Path, package: Path | None = None) -> str:
    """ivr/flow/model.py → ivr.flow.model (a package's __init__ is the package)."""
    parts = path.relative_to((package or PACKAGE).parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path | None = None) -> list[tuple[int, str]]:
    """Every module a file imports, with its line, relative imports made absolute."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    own = module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
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
        where = str(path.relative_to(PACKAGE.parent))
        allowed = EXCEPT.get(where, ())
        for line, name in imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer] if f not in allowed):
                bad.append(f"{where}:{line}: {name}")
    return bad


def makers(package: Path) -> list[str]:
    """Each call outside store/ that makes an engine or a sealer, as file:line: name."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).parts[0] == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "engines"
            ):
                name = f"engines.{name}"  # ivr.store.engine's create, as the store imports it
            if name in MAKERS or name == "engines.create":
                found.append(f"{path.relative_to(package.parent)}:{node.lineno}: {name}")
    return found


def circles(package: Path) -> list[list[str]]:
    """The import circles between the package's modules, imports inside functions included."""
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for _, imported in imports(path, package):
            # `from ivr.web import voice` names ivr.web.voice; `from ivr import create_app`, the package
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            # a package's __init__ importing its own children, and a child its package, are not circles
            if (
                imported
                and imported != name
                and not name.startswith(imported + ".")
                and not imported.startswith(name + ".")
            ):
                targets.add(imported)
        graph[name] = targets
    found, done = [], set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            found.append(stack[stack.index(node) :] + [node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*stack, node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN), ids=sorted(FORBIDDEN))
def test_imports_go_one_way(layer: str) -> None:
    assert violations(layer) == []


def test_store_alone_imports_flask_in_its_app_hook_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "ivr"
    (fake / "store").mkdir(parents=True)
    (fake / "store" / "extension.py").write_text("from flask import current_app\n")
    (fake / "store" / "tables.py").write_text("from flask import g\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert violations("store") == ["ivr/store/tables.py:1: flask.g"]


def test_only_store_makes_an_engine_or_a_sealer() -> None:
    assert makers(PACKAGE) == []


def test_the_maker_rule_catches_one(tmp_path: Path) -> None:
    fake = tmp_path / "ivr"
    (fake / "ops").mkdir(parents=True)
    (fake / "store").mkdir()
    (fake / "ops" / "x.py").write_text(
        "a = engines.create(url)\nb = Sealer(keys)\nc = sqlalchemy.create_engine(u)\n"
    )
    (fake / "store" / "y.py").write_text("a = engines.create(url)\n")
    assert makers(fake) == [
        "ivr/ops/x.py:1: engines.create",
        "ivr/ops/x.py:2: Sealer",
        "ivr/ops/x.py:3: create_engine",
    ]


def test_no_module_imports_in_a_circle() -> None:
    assert circles(PACKAGE) == []


def test_the_circle_rule_catches_one_hidden_in_a_function(tmp_path: Path) -> None:
    fake = tmp_path / "ivr"
    (fake / "web").mkdir(parents=True)
    (fake / "web" / "__init__.py").write_text("from ivr.web import queue\n")
    (fake / "web" / "queue.py").write_text("def f():\n    from ivr.web import callback\n")
    (fake / "web" / "callback.py").write_text("from ivr.web.queue import f\n")
    assert circles(fake) == [["ivr.web.callback", "ivr.web.queue", "ivr.web.callback"]]


def test_the_rule_catches_a_wrong_way_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "ivr"
    (fake / "flow").mkdir(parents=True)
    (fake / "flow" / "model.py").write_text(
        "from flask import g\nfrom ..web import voice\nfrom . import rules\n"
    )
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert violations("flow") == ["ivr/flow/model.py:1: flask.g", "ivr/flow/model.py:2: ivr.web.voice"]


def test_no_module_name_means_two_things_across_layers() -> None:
    """A name says its role: one file name in two layers (journal, queue, hours…) would mean two things."""
    seen: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py" and "migrations" not in path.parts:
            seen.setdefault(path.name, []).append(str(path.parent.relative_to(PACKAGE.parent)))
    assert {name: places for name, places in seen.items() if len(places) > 1} == {}


def test_the_tree_is_the_documented_one() -> None:
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__"))
    assert folders == ["call", "console", "flow", "ops", "store", "synth", "web"]
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == [
        *("__init__.py", "clock.py", "config.py", "cpus.py"),
        *("logs.py", "privacy.py", "state.py", "testing.py"),
    ]
