"""docs/cli.md is generated from the commands' --help and must not drift.

Regenerate with: GITREG_UPDATE_DOCS=1 .venv/bin/pytest tests/test_docs.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gitreg.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def reference() -> str:
    runner = CliRunner()
    parts = [
        "# gitreg command reference\n",
        "Generated from `--help` by `tests/test_docs.py`; regenerate with "
        "`GITREG_UPDATE_DOCS=1 .venv/bin/pytest tests/test_docs.py`.\n",
    ]
    commands: list[list[str]] = []
    for name, command in sorted(main.commands.items()):  # type: ignore[attr-defined]
        commands.append([name])
        commands += [[name, sub] for sub in sorted(getattr(command, "commands", {}))]  # a group's: `model set`
    for args in [[], *commands]:
        result = runner.invoke(main, [*args, "--help"], prog_name="gitreg", terminal_width=80)
        assert result.exit_code == 0
        parts.append(f"## gitreg {' '.join(args)}".rstrip() + "\n\n```text\n" + result.stdout.rstrip() + "\n```\n")
    return "\n".join(parts)


def test_cli_reference_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    expected = reference()
    if os.environ.get("GITREG_UPDATE_DOCS"):
        DOC.write_text(expected)
    assert DOC.read_text() == expected, "docs/cli.md is stale: regenerate it (see this file's docstring)"


def test_python_api_page_runs(tmp_path: Path) -> None:
    import re

    page = (DOC.parent / "python-api.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", page, re.S)
    exec(compile(code, "docs/python-api.md", "exec"), {})  # noqa: S102 - the page's own example
