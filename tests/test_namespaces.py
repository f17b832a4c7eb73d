"""Namespaces: model names NAMESPACE/NAME (a use case, a team) live in
models/NAMESPACE/NAME/, are tagged as GTO tags them, listed and filtered by
namespace, owned per namespace in CODEOWNERS; a folder is a model's or a
namespace, never both."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import ConflictError, UsageError
from tests.conftest import Cli, Setup, git, state
from tests.helpers import gto_view, our_view


def _teams(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    api.register("risk/fraud", artifact, metrics={"auc": 0.90}, registry=registry)
    api.register("risk/fraud", artifact, metrics={"auc": 0.95}, registry=registry)
    api.register("risk/aml", artifact, metrics={"auc": 0.80}, registry=registry)
    api.register("growth/churn", artifact, metrics={"auc": 0.70}, registry=registry)
    api.register("fraud", artifact, metrics={"auc": 0.85}, registry=registry)
    api.promote("risk/fraud", "1.0.0", to="staging", registry=registry)
    api.promote("risk/fraud", "1.0.0", to="production", registry=registry)
    api.promote("risk/fraud", "1.0.1", to="staging", registry=registry)


@pytest.fixture
def reg(build_registry: Callable[[Setup], Path]) -> Path:
    """risk/fraud (1.0.0 production, 1.0.1 staging), risk/aml, growth/churn, and fraud."""
    return build_registry(_teams)


def test_namespaced_models_live_in_their_namespace_folder(reg: Path, cli: Cli) -> None:
    models = reg / "models"
    assert (models / "risk" / "fraud" / "stages" / "production.yaml").is_file()
    assert (models / "growth" / "churn" / "versions" / "1.0.0.yaml").is_file()
    tagged = set(git(reg, "tag").split())
    assert {"fraud@v1.0.0", "growth/churn@v1.0.0", "risk/aml@v1.0.0", "risk/fraud@v1.0.1"} <= tagged
    assert {"risk/fraud#staging#1", "risk/fraud#production#2"} <= tagged
    assert [m.name for m in api.list_models(registry=reg)] == ["fraud", "growth/churn", "risk/aml", "risk/fraud"]
    assert api.resolve("risk/fraud@production", registry=reg).version == "1.0.0"
    assert api.resolve("models:/risk/fraud/1.0.1", registry=reg).version == "1.0.1"  # MLflow's URI
    assert api.resolve("risk/fraud#staging", registry=reg).version == "1.0.1"  # GTO's
    assert api.stages_held("risk/fraud@1.0.0", registry=reg) == ("production",)
    assert [e.action for e in api.history("risk/fraud", registry=reg)][:3] == ["promote", "promote", "promote"]
    assert api.check(registry=reg).ok
    # what GTO reads from the tags agrees with gitreg
    assert gto_view(reg) == our_view(reg, cli)


def test_list_filters_by_namespace(reg: Path, cli: Cli) -> None:
    listed = json.loads(cli("list", "--namespace", "risk", "--json", "-R", reg).stdout)
    assert [m["model"] for m in listed] == ["risk/aml", "risk/fraud"]
    assert listed[1]["stages"] == {"production": "1.0.0", "staging": "1.0.1"}
    found = api.list_versions(where="metrics.auc >= 0.8", namespace="risk", registry=reg)
    assert [(v.model, v.version) for v in found] == [
        ("risk/aml", "1.0.0"),
        ("risk/fraud", "1.0.1"),
        ("risk/fraud", "1.0.0"),
    ]
    assert [m.name for m in api.list_models(namespace="nobody", registry=reg)] == []
    assert "invalid namespace" in cli("list", "--namespace", "Risk/x", "-R", reg, code=2).stderr
    assert "not in namespace 'growth'" in cli("list", "risk/fraud", "--namespace", "growth", "-R", reg, code=2).stderr
    text = cli("list", "--namespace", "growth", "-R", reg).stdout
    assert "growth/churn" in text and "risk/" not in text


def test_a_folder_is_a_model_or_a_namespace_never_both(reg: Path, cli: Cli, artifact: Path) -> None:
    before = state(reg)
    with pytest.raises(ConflictError, match="'risk': it is a namespace"):
        api.register("risk", artifact, registry=reg)
    err = cli("register", "fraud/v2", "-a", artifact, "-R", reg, code=1).stderr
    assert "'fraud' is a model, so it cannot be a namespace too" in err
    with pytest.raises(ConflictError, match="it is a namespace"):
        api.set_model("growth", description="x", registry=reg)
    with pytest.raises(UsageError, match="reserved inside a namespace"):
        api.register("risk/stages", artifact, registry=reg)
    assert state(reg) == before
    # a model folder made to hold another model by hand fails the checker
    nested = reg / "models" / "fraud" / "inner"
    (nested / "versions").mkdir(parents=True)
    source = reg / "models" / "risk" / "aml"
    (nested / "model.yaml").write_text((source / "model.yaml").read_text().replace("risk/aml", "fraud/inner"))
    git(reg, "add", "-A")
    git(reg, "commit", "-qm", "a model inside a model, by hand")
    out = cli("check", "-R", reg, code=1).stdout
    assert "'fraud' is a model, so its folder cannot hold model 'fraud/inner' as a namespace" in out


def test_promotion_pull_requests_of_namespaced_models_are_checked(reg: Path, cli: Cli) -> None:
    base = git(reg, "rev-parse", "HEAD")
    moved = api.promote("risk/fraud", "1.0.1", to="production", branch="", registry=reg)
    assert moved.branch == "gitreg/promote-risk/fraud-production-1.0.1"
    report = json.loads(cli("check", "--base", base, "--head", moved.branch, "--format", "json", "-R", reg).stdout)
    assert report["ok"] and [m["model"] for m in report["moves"]] == ["risk/fraud"]
    # a hand edit of a namespaced version fails like any other
    manifest = reg / "models" / "risk" / "aml" / "versions" / "1.0.0.yaml"
    manifest.write_text(manifest.read_text().replace("auc: 0.8", "auc: 0.99"))
    git(reg, "commit", "-qam", "better numbers")
    assert "metrics is part of the registered core" in cli("check", "--base", base, "-R", reg, code=1).stdout


def test_export_and_import_keep_namespaces(reg: Path, tmp_path: Path, artifact: Path) -> None:
    copy = tmp_path / "copy"
    api.init(copy)
    api.import_registry(api.export_registry(models=["risk/fraud"], registry=reg), registry=copy)
    assert [m.name for m in api.list_models(registry=copy)] == ["risk/fraud"]
    assert api.resolve("risk/fraud@production", registry=copy).version == "1.0.0"
    # a document that would put a model inside a model's folder is refused whole
    api.init(tmp_path / "other")
    api.register("risk", artifact, registry=tmp_path / "other")
    with pytest.raises(ConflictError, match="'risk' is a model, so it cannot hold model 'risk/aml'"):
        api.import_registry(api.export_registry(registry=reg), registry=tmp_path / "other")


def test_codeowners_per_namespace(tmp_path: Path, cli: Cli) -> None:
    cli(
        "init",
        tmp_path / "r",
        "--ci",
        "github",
        "--ci-owners",
        "@acme/ml",
        "--ci-namespace-owner",
        "risk=@acme/risk-team",
        "--ci-namespace-owner",
        "growth=@acme/growth ann@acme.example",
    )
    owners = (tmp_path / "r" / ".github" / "CODEOWNERS").read_text().splitlines()
    assert owners[-2:] == ["/models/growth/ @acme/growth ann@acme.example", "/models/risk/ @acme/risk-team"]
    assert "/models/*/*/stages/ @acme/ml" in owners  # namespaced models are covered before the namespace lines
    for bad, message in [
        (["--ci-owners", "@acme/ml\n* @evil"], "invalid --ci-owners"),
        (["--ci-namespace-owner", "Risk=@acme/x"], "invalid namespace"),
        (["--ci-namespace-owner", "risk=not an owner"], "invalid owners of namespace risk"),
    ]:
        assert message in cli("init", tmp_path / "bad", "--ci", "github", *bad, code=2).stderr
        assert not (tmp_path / "bad").exists()
    assert "give it with --ci github" in cli("init", tmp_path / "bad", "--ci-namespace-owner", "a=@b", code=2).stderr


@pytest.mark.stress
def test_dvc_artifacts_get_finds_a_namespaced_model(reg: Path, tmp_path: Path, artifact: Path) -> None:
    got = tmp_path / "got"
    got.mkdir()
    for args in (["--stage", "production", "-o", "prod.bin"], ["-o", "latest.bin"]):
        subprocess.run(
            [sys.executable, "-m", "dvc", "artifacts", "get", str(reg), "risk/fraud", *args],
            cwd=got,
            check=True,
            capture_output=True,
        )
    assert (got / "prod.bin").read_bytes() == (got / "latest.bin").read_bytes() == artifact.read_bytes()
