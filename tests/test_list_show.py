from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.documents import yamlio
from gitreg.documents.names import Quoted
from tests.conftest import Cli, Setup, git


def _fraud_and_churn(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    api.register("fraud", artifact, registry=registry, metrics={"auc": 0.81, "f1": 0.7})
    api.register("fraud", artifact, registry=registry, metrics={"auc": 0.85, "f1": 0.72}, bump="minor")
    api.register("churn", artifact, registry=registry, metrics={"rmse": 1.5})


@pytest.fixture
def populated(build_registry: Callable[[Setup], Path]) -> Path:
    """fraud 1.0.0 and 1.1.0 (auc, f1), churn 1.0.0 (rmse)."""
    return build_registry(_fraud_and_churn)


def test_list_models_text(populated: Path, cli: Cli) -> None:
    lines = cli("list", "-R", populated).stdout.splitlines()
    assert lines[0].split() == ["MODEL", "LATEST", "DEVELOPMENT", "STAGING", "PRODUCTION", "VERSIONS"]
    assert lines[1].split() == ["churn", "1.0.0", "-", "-", "-", "1"]
    assert lines[2].split() == ["fraud", "1.1.0", "-", "-", "-", "2"]


def test_list_models_json(populated: Path, cli: Cli) -> None:
    data = json.loads(cli("list", "--json", "-R", populated).stdout)
    assert data == [
        {"model": "churn", "type": "model", "latest": "1.0.0", "stages": {}, "versions": 1},
        {"model": "fraud", "type": "model", "latest": "1.1.0", "stages": {}, "versions": 2},
    ]
    assert [m.name for m in api.list_models(registry=populated)] == ["churn", "fraud"]


def test_list_shows_stage_holders_from_pointer_files(populated: Path, cli: Cli) -> None:
    """Pointer files written by hand (promotion arrives with the lifecycle) are read."""
    stages = populated / "models" / "fraud" / "stages"
    stages.mkdir()
    (stages / "production.yaml").write_text(
        yamlio.dump(
            {
                "apiVersion": "gitreg/v1",
                "kind": "StagePointer",
                "model": "fraud",
                "stage": "production",
                "version": Quoted("1.0.0"),
                "promoted_at": "2026-01-01T00:00:00Z",
                "promoted_by": "Ada <a@b.c>",
            }
        )
    )
    git(populated, "add", "-A")
    git(populated, "commit", "-q", "-m", "promote by hand")
    data = json.loads(cli("list", "--json", "-R", populated).stdout)
    assert data[1]["stages"] == {"production": "1.0.0"}
    versions = json.loads(cli("list", "fraud", "--json", "-R", populated).stdout)
    assert [(v["version"], v["stage"]) for v in versions] == [("1.1.0", "development"), ("1.0.0", "production")]
    assert api.show("fraud@production", registry=populated).version == "1.0.0"


def test_list_versions_text(populated: Path, cli: Cli) -> None:
    lines = cli("list", "fraud", "-R", populated).stdout.splitlines()
    assert lines[0].split() == ["VERSION", "STAGE", "REGISTERED", "BY", "auc", "f1"]
    assert lines[1].split()[:2] == ["1.1.0", "development"] and lines[1].split()[-2:] == ["0.85", "0.72"]
    assert lines[2].split()[:2] == ["1.0.0", "development"]
    assert "Ada Tester" in lines[1]
    assert cli("show", "fraud", "-R", populated).stdout == cli("list", "fraud", "-R", populated).stdout


def test_list_versions_json(populated: Path, cli: Cli) -> None:
    data = json.loads(cli("list", "fraud", "--json", "-R", populated).stdout)
    assert [d["version"] for d in data] == ["1.1.0", "1.0.0"]
    assert data[0]["metrics"] == {"auc": 0.85, "f1": 0.72}
    assert set(data[0]) == {"model", "version", "stage", "stages", "status", "created_at", "created_by", "metrics"}


def test_show_version(populated: Path, cli: Cli) -> None:
    text = cli("show", "fraud@1.0.0", "-R", populated).stdout
    assert text == (populated / "models" / "fraud" / "versions" / "1.0.0.yaml").read_text()
    data = json.loads(cli("show", "fraud@latest", "--json", "-R", populated).stdout)
    assert data["version"] == "1.1.0" and data["kind"] == "ModelVersion"
    assert data["artifact"]["md5"] == api.show("fraud@1.1.0", registry=populated).artifact.md5


def test_empty_registry(registry: Path, cli: Cli) -> None:
    assert cli("list", "-R", registry).stdout == "No models registered yet.\n"
    assert json.loads(cli("list", "--json", "-R", registry).stdout) == []


def test_reads_see_the_committed_branch_not_the_worktree(populated: Path, cli: Cli) -> None:
    (populated / "models" / "fraud" / "versions" / "1.0.0.yaml").write_text("garbage: [\n")
    assert "fraud" in cli("list", "-R", populated).stdout
    assert api.show("fraud@1.0.0", registry=populated).metrics["auc"] == 0.81


def test_registry_from_environment(populated: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITREG_REGISTRY", str(populated))
    assert "fraud" in cli("list").stdout


def test_list_does_not_import_dvc(populated: Path) -> None:
    code = (
        "import sys; from click.testing import CliRunner; from gitreg.cli import main; "
        f"r = CliRunner().invoke(main, ['list', '-R', {str(populated)!r}]); assert r.exit_code == 0, r.output; "
        "r = CliRunner().invoke(main, ['list', 'fraud', '-R', " + repr(str(populated)) + "]); assert r.exit_code == 0; "
        "r = CliRunner().invoke(main, ['show', 'fraud@latest', '-R', "
        + repr(str(populated))
        + "]); assert r.exit_code == 0; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dvc', 'dvc_data', 'dvc_objects')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_does_not_import_git_or_yaml() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from gitreg.cli import main; "
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('git', 'yaml', 'jsonschema', 'dvc')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


REFERENCES = {
    "gitreg version": ("fraud@1.0.1", "1.0.1"),
    "GTO tag spelling": ("fraud@v1.0.1", "1.0.1"),
    "gitreg stage": ("fraud@staging", "1.0.0"),
    "GTO stage": ("fraud#staging", "1.0.0"),
    "MLflow alias URI": ("models:/fraud@staging", "1.0.0"),
    "MLflow version URI": ("models:/fraud/1.0.1", "1.0.1"),
    "MLflow stage URI": ("models:/fraud/staging", "1.0.0"),
    "MLflow latest URI": ("models:/fraud/latest", "1.0.1"),
    "latest skips deprecated and archived": ("fraud@latest", "1.0.1"),
}


def _four_versions(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    for _ in range(4):
        api.register("fraud", artifact, registry=registry)
    api.promote("fraud", "1.0.0", to="staging", registry=registry)
    api.deprecate("fraud", "1.0.3", registry=registry)
    api.archive("fraud", "1.0.2", registry=registry)


@pytest.mark.parametrize(("ref", "version"), REFERENCES.values(), ids=REFERENCES.keys())
def test_references_in_every_spelling(
    build_registry: Callable[[Setup], Path], artifact: Path, cli: Cli, ref: str, version: str
) -> None:
    registry = build_registry(_four_versions)
    assert json.loads(cli("resolve", ref, "--json", "-R", registry).stdout)["version"] == version
    assert json.loads(cli("show", ref, "--json", "-R", registry).stdout)["version"] == version
    assert api.resolve(ref, registry=registry).version == version
    assert api.load_artifact(ref, registry=registry).read_bytes() == artifact.read_bytes()


@pytest.mark.parametrize("ref", ["models:/fraud", "models:/fraud/", "fraud#", "fraud@", "models:/fraud/a/b"])
def test_malformed_references_are_one_line_errors(registry: Path, artifact: Path, cli: Cli, ref: str) -> None:
    api.register("fraud", artifact, registry=registry)
    result = cli("resolve", ref, "-R", registry, code=2)
    assert result.stderr.startswith("gitreg: error: ") and len(result.stderr.splitlines()) == 1
