"""House rules that reading the code would otherwise have to keep: the core
returns values and never prints; only ``storage.git`` starts git; one exit
code mapping."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gitreg"
INTERFACE = {"cli.py", "render.py"}  # where output is made


def _core_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).as_posix() not in INTERFACE)


def _names(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_names(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


@pytest.mark.parametrize("path", _core_modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_the_core_never_prints(path: Path) -> None:
    """Progress arrives through a callback, warnings through ``logging``;
    the one exception is the event log's standard-error sink, which the user
    names (GITREG_LOG=- or --log-json)."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _names(node.func) == "print":
            found.append(f"print() at line {node.lineno}")
        if isinstance(node, ast.Attribute) and _names(node) in ("sys.stdout", "sys.stderr"):
            found.append(f"{_names(node)} at line {node.lineno}")
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"imports {m} at line {node.lineno}" for m in modules if m.split(".")[0] in ("click", "tqdm")]
    if path.name == "events.py":
        found = [f for f in found if f.startswith("sys.stderr")]
        assert len(found) == 1, found  # the event log's sink, _log
        return
    assert found == []


def test_every_exit_code_comes_from_one_mapping() -> None:
    from gitreg import errors

    assert errors.exit_code_for(errors.UsageError("x")) == 2
    assert errors.exit_code_for(errors.ConflictError("x")) == 1
    assert errors.exit_code_for(errors.GitError("x")) == 3
    assert errors.exit_code_for(KeyboardInterrupt()) == 130
    assert errors.exit_code_for(BrokenPipeError()) == 141
    assert errors.exit_code_for(RuntimeError()) == 3
    for path in _core_modules():
        assert "def _exit_code" not in path.read_text(), path


def test_only_the_git_module_starts_processes() -> None:
    """``storage.git`` starts git; ``core.events`` runs the hook commands a
    registry subscribes; nothing else starts a process."""
    allowed = {"storage/git.py", "core/events.py"}
    for path in _core_modules():
        tree = ast.parse(path.read_text())
        spawns = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            and any(
                (a.name if isinstance(node, ast.Import) else node.module or "") in ("subprocess", "os.system")
                for a in node.names
            )
        ]
        if path.relative_to(PACKAGE).as_posix() not in allowed:
            assert spawns == [], f"{path} imports subprocess"


def test_the_client_imports_without_posix_only_modules() -> None:
    """What Windows lacks (fcntl, a SIGKILL) is never needed to import the
    API, the CLI or any read path; locking goes through portalocker."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['fcntl'] = None; sys.modules['termios'] = None\n"
        "import importlib, pkgutil, gitreg\n"
        "for m in pkgutil.walk_packages(gitreg.__path__, 'gitreg.'): importlib.import_module(m.name)\n"
        "import gitreg.api, gitreg.cli; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
    for path in _core_modules():
        assert "import fcntl" not in path.read_text(), path


def test_test_modules_share_only_through_conftest_and_helpers() -> None:
    """A fixture comes from conftest.py, a shared helper from tests/helpers.py:
    no test module imports another."""
    tests = Path(__file__).resolve().parent
    for path in tests.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        imported = [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests.test_")
        ]
        assert imported == [], f"{path.name} imports {imported}"
