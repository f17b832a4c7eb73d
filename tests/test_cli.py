from __future__ import annotations

from pathlib import Path

import click
import pytest

from gitreg import api
from gitreg.cli import main
from gitreg.core.snapshot import Snapshot
from tests.conftest import Cli


def all_commands() -> list[tuple[str, click.Command]]:
    return [("gitreg", main), *((name, cmd) for name, cmd in main.commands.items())]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "command"), all_commands(), ids=[n for n, _ in all_commands()])
def test_every_command_and_option_has_help(name: str, command: click.Command, cli: Cli) -> None:
    assert command.help and command.help.strip(), name
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help and param.help.strip(), f"{name} {param.opts}"
    args = ["--help"] if name == "gitreg" else [name, "--help"]
    assert "Usage: gitreg" in cli(*args).stdout


def leaf_commands() -> list[tuple[str, click.Command]]:
    """Every command a user runs, by its path (``tags sync``)."""
    found: list[tuple[str, click.Command]] = []

    def walk(prefix: str, group: click.Group) -> None:
        for name, command in group.commands.items():
            path = f"{prefix} {name}".strip()
            walk(path, command) if isinstance(command, click.Group) else found.append((path, command))

    walk("", main)
    return found


# The API function(s) behind each command whose name is not the function's.
API_FOR = {
    "list": ("list_models", "list_versions"),
    "show": ("show", "list_versions"),  # a bare MODEL lists its versions
    "history": ("history", "metric_history"),
    "export": ("export_registry",),
    "import": ("import_registry", "import_mlflow", "import_gto"),
    "model set": ("set_model",),
    "site": ("build_site", "serve_site"),
    "env": ("environment_file",),
    "lineage": ("lineage", "used_by"),
    "dataset register": ("register_dataset",),
    "dataset list": ("list_models",),
    "dataset show": ("show", "used_by"),
    "run start": ("start_run",),
    "run log": ("log_run",),
    "run end": ("end_run",),
    "runs list": ("list_runs",),
    "runs show": ("show_run", "run_points"),
    "runs compare": ("compare_runs",),
    "runs gc": ("gc_runs",),
}
# Destinations that are not API keywords, each for a reason.
NOT_API = {
    "as_json": "output form",
    "format": "output form (check)",
    "pr_body": "where the CLI writes the pull-request body it prints otherwise",
    "offline": "taken by api.open_registry, which opens the registry the command is given",
}
CHOOSES = {
    ("history", "metrics"): "chooses api.metric_history over api.history",
    ("model set", "no_auto_deploy"): "is api.set_model's auto_deploy=False",
    ("import", "source_kind"): "chooses api.import_mlflow over api.import_registry",
    ("site", "serve"): "chooses api.serve_site over api.build_site",
    ("lineage", "used_by"): "chooses api.used_by (its ref) over api.lineage",
}


@pytest.mark.parametrize(("path", "command"), leaf_commands(), ids=[p for p, _ in leaf_commands()])
def test_options_carry_the_api_keyword_names(path: str, command: click.Command) -> None:
    """sqlite-utils' rule: a command's option and argument names are the
    keywords of the API function it calls, so the CLI reads as the API."""
    import inspect

    import gitreg

    functions = API_FOR.get(path, (path.replace(" ", "_"),))
    accepted = set()
    for name in functions:
        function = getattr(api, name)
        assert getattr(gitreg, name) is function, f"gitreg.{name} is not api.{name}"
        accepted |= set(inspect.signature(function).parameters)
    for param in command.params:
        assert param.name in accepted or param.name in NOT_API or (path, param.name) in CHOOSES, (
            f"gitreg {path}: {'/'.join(param.opts)} reaches the command as {param.name!r}, "
            f"which is no keyword of api.{' or api.'.join(functions)}"
        )


@pytest.mark.parametrize(("path", "command"), leaf_commands(), ids=[p for p, _ in leaf_commands()])
def test_every_command_shows_examples_that_parse(path: str, command: click.Command, cli: Cli) -> None:
    import shlex

    from gitreg.cli import EXAMPLES

    examples = EXAMPLES[path]
    assert examples and all(line in cli(*path.split(), "--help").stdout for line in examples)
    for line in examples:
        for part in line.split("|"):
            words = shlex.split(part)
            assert words[0] == "gitreg"
            group: click.Command = main
            words = words[1:]
            while isinstance(group, click.Group):
                group = group.commands[words.pop(0)]
            assert group is command or part != line  # a pipe's other end is another command
            # under the group's own context, as a run has it (click keeps the
            # first context's help option names on the command: a bare
            # make_context would leave `--help` without `-h` for later tests)
            parent = click.Context(main, info_name="gitreg", **main.context_settings)
            group.make_context(path, words, parent=parent)  # raises click's UsageError on a wrong option or argument


def test_commands_reach_the_registry_only_through_the_api() -> None:
    """cli.py calls no method of the Registry it is handed: every command is a
    call into gitreg.api and a rendering of what it returns."""
    import ast
    import inspect

    from gitreg import cli

    tree = ast.parse(inspect.getsource(cli))
    calls = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "registry"
    ]
    assert calls == [], f"cli.py uses the registry object directly at lines {calls}"
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "gitreg"
        for alias in node.names
    }
    assert imported <= {"api", "render", "inputs", "events", "names", "reference", "errors", "files"}, imported


def test_unexpected_errors_exit_3_with_a_log(registry: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: Snapshot) -> None:
        raise RuntimeError("something broke")

    monkeypatch.setattr(Snapshot, "summaries", boom)
    result = cli("list", "-R", registry, code=3)
    assert result.stderr.startswith("gitreg: unexpected error: RuntimeError: something broke (traceback in ")
    log = Path(result.stderr.split("traceback in ")[1].split(";")[0])
    assert "RuntimeError: something broke" in log.read_text()
    with pytest.raises(RuntimeError):
        cli.runner.invoke(main, ["--debug", "list", "-R", str(registry)], catch_exceptions=False)


def test_interrupt_exits_130(registry: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: Snapshot) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Snapshot, "summaries", interrupted)
    assert cli("list", "-R", registry, code=130).stderr == "gitreg: interrupted\n"


def test_version_option(cli: Cli) -> None:
    assert cli("--version").stdout.startswith("gitreg ")


def test_register_json(registry: Path, artifact: Path, cli: Cli) -> None:
    import json

    data = json.loads(cli("register", "fraud", "-a", artifact, "-R", registry, "--json").stdout)
    assert data["version"] == "1.0.0" and data["tag"] == "fraud@v1.0.0" and len(data["commit"]) == 40
    assert api.show("fraud@1.0.0", registry=registry).artifact.md5 == data["artifact"]["md5"]


def test_no_identity_is_a_clear_error(
    registry: Path, artifact: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("EMAIL", "")
    result = cli("register", "fraud", "-a", artifact, "-R", registry, code=2)
    assert "git does not know who you are" in result.stderr


def test_every_api_function_is_reachable_from_the_package() -> None:
    import ast
    import importlib
    import inspect

    import gitreg
    from gitreg import api

    modules: set[str] = set()  # no module of the package shadows an API function
    public = [
        n.name
        for n in ast.parse(inspect.getsource(api)).body
        if isinstance(n, ast.FunctionDef) and not n.name.startswith("_") and n.name not in modules
    ]
    assert public and all(getattr(gitreg, name) is getattr(api, name) for name in public)
    assert set(public) <= set(gitreg.__all__)
    assert importlib.import_module("gitreg").ModelVersion.__name__ == "ModelVersion"


def test_shell_completion_offers_models_versions_stages_and_refs(registry: Path, artifact: Path) -> None:
    """click's completion protocol, as bash drives it (README: Shell completion)."""
    import os
    import subprocess
    import sys

    from gitreg import api

    api.register("fraud", artifact, registry=registry)
    api.register("fraud", artifact, registry=registry)
    scripts = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}"}

    def offered(line: str) -> list[str]:
        words = line.split(" ")
        run = {**env, "_GITREG_COMPLETE": "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
        out = subprocess.run(["gitreg"], cwd=registry, env=run, capture_output=True, text=True, check=True).stdout
        return [row.split(",", 1)[1] for row in out.splitlines()]

    assert offered("gitreg promote fr") == ["fraud"]
    assert offered("gitreg promote fraud ") == ["1.0.1", "1.0.0"]
    assert offered("gitreg promote fraud 1.0.0 --to pro") == ["production"]
    assert offered("gitreg resolve fraud@s") == ["fraud@staging"]
    assert offered("gitreg rollback fraud --stage ") == ["development", "staging", "production"]
    # outside any registry: nothing offered, no error
    outside = {**env, "_GITREG_COMPLETE": "bash_complete", "COMP_WORDS": "gitreg promote f", "COMP_CWORD": "2"}
    done = subprocess.run(["gitreg"], cwd=registry.parent, env=outside, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "", "")
    # the README's line installs it in bash
    hooked = subprocess.run(
        ["bash", "-c", 'eval "$(_GITREG_COMPLETE=bash_source gitreg)" && complete -p gitreg'],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "gitreg" in hooked.stdout and "-F" in hooked.stdout
