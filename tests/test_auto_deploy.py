"""auto_deploy in model.yaml: `register` promotes the new version through the
normal gated path in a second commit, opens a pull-request branch, or says
why not, and the registration stands either way."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import UsageError
from tests.conftest import Cli, Setup, git, state
from tests.helpers import gto_view, our_view, stages, trailers


def _one_in_staging(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    api.register("fraud", artifact, metrics={"auc": 0.90}, registry=registry)
    api.set_model("fraud", gates={"staging": {"min_auc": 0.85}}, registry=registry)
    api.promote("fraud", "1.0.0", to="staging", registry=registry)


@pytest.fixture
def reg(build_registry: Callable[[Setup], Path]) -> Path:
    """fraud 1.0.0 (auc 0.90) in staging; staging needs auc >= 0.85."""
    return build_registry(_one_in_staging)


def test_register_promotes_a_better_version_in_a_second_commit(reg: Path, cli: Cli, artifact: Path) -> None:
    cli("model", "set", "fraud", "--auto-deploy", "stage=staging", "--auto-deploy", "strategy=best", "-R", reg)
    assert api.model_show("fraud", registry=reg).auto_deploy is not None
    before = git(reg, "rev-parse", "HEAD")
    out = cli("register", "fraud", "-a", artifact, "--metric", "auc=0.93", "-R", reg).stdout
    assert "Registered fraud 1.0.1" in out
    assert "Auto-deploy (best) to staging: promoting 1.0.1 (1.0.1 beats 1.0.0 by 0.03 auc)" in out
    assert "Done: commit" in out
    assert stages(reg) == {"staging": "1.0.1"}
    assert git(reg, "rev-list", "--count", f"{before}..HEAD") == "2"  # registration, then promotion
    assert trailers(reg)["Gitreg-Reason"].startswith("auto-deploy after registration (best, by auc)")
    assert api.check(base=before, registry=reg).ok  # the promotion passes the checker like any other
    assert gto_view(reg) == our_view(reg, cli)  # GTO sees the registration and the assignment

    # a worse version is registered and stays where it is
    doc = json.loads(cli("register", "fraud", "-a", artifact, "--metric", "auc=0.91", "--json", "-R", reg).stdout)
    assert doc["version"] == "1.0.2" and doc["auto_deploy"]["promoted"] is False
    assert "scores at least as well as 1.0.2" in doc["auto_deploy"]["why"] and doc["auto_deploy"]["promotion"] is None
    # one that fails the stage's gates: refused, said why, registered all the same
    out = cli("register", "fraud", "-a", artifact, "--metric", "auc=0.5", "-R", reg).stdout
    assert "Registered fraud 1.0.3" in out
    assert "Auto-deploy (best) to staging: 1.0.3 not promoted: 1.0.3 is not eligible for staging" in out
    # --no-auto-deploy skips it
    skipped = api.register("fraud", artifact, metrics={"auc": 0.99}, auto_deploy=False, registry=reg)
    assert skipped.deployed is None and stages(reg) == {"staging": "1.0.1"}


def test_conservative_auto_deploy_needs_the_margin(reg: Path, artifact: Path) -> None:
    settings = {"stage": "staging", "strategy": "conservative", "min_improvement_pct": 5}
    api.set_model("fraud", auto_deploy=settings, registry=reg)
    small = api.register("fraud", artifact, metrics={"auc": 0.93}, registry=reg)  # +3.3 %
    assert small.deployed is not None and small.deployed.moved is None
    assert "less than the required 5%" in small.deployed.why
    big = api.register("fraud", artifact, metrics={"auc": 0.96}, registry=reg)  # +6.7 %
    assert big.deployed is not None and big.deployed.moved is not None and stages(reg) == {"staging": "1.0.2"}


def test_auto_deploy_to_a_pull_request_branch(reg: Path, cli: Cli, artifact: Path, tmp_path: Path) -> None:
    api.set_model("fraud", auto_deploy={"stage": "staging"}, registry=reg)
    body = tmp_path / "pr.md"
    out = cli(
        "register", "fraud", "-a", artifact, "--metric", "auc=0.95", "--branch", "--pr-body", body, "-R", reg
    ).stdout
    assert "on branch gitreg/promote-fraud-staging-1.0.1" in out
    assert stages(reg) == {"staging": "1.0.0"}  # the registry branch only gained the registration
    assert api.list_versions("fraud", registry=reg)[0].version == "1.0.1"
    assert "| min_auc |" in body.read_text() or "min_auc" in body.read_text()
    git(reg, "merge", "-q", "--ff-only", "gitreg/promote-fraud-staging-1.0.1")
    assert stages(reg) == {"staging": "1.0.1"}


def test_auto_deploy_refuses_bad_settings_and_writes_nothing(reg: Path, cli: Cli, artifact: Path) -> None:
    before = state(reg)
    for given, message in [
        (["strategy=best"], "auto-deploy needs a stage"),
        (["stage=prod"], "unknown stage 'prod'"),
        (["stage=staging", "strategy=fast"], "invalid auto-deploy strategy 'fast'"),
        (["stage=staging", "min_improvement_pct=2"], "applies to the conservative strategy only"),
        (["stage=staging", "strategy=conservative", "min_improvement=-1"], "not negative"),
        (["stage=staging", "speed=1"], "unknown auto-deploy setting 'speed'"),
    ]:
        flags = [arg for pair in given for arg in ("--auto-deploy", pair)]
        assert message in cli("model", "set", "fraud", *flags, "-R", reg, code=2).stderr
    both = cli("model", "set", "fraud", "--auto-deploy", "stage=staging", "--no-auto-deploy", "-R", reg, code=2)
    assert "not both" in both.stderr
    # --branch without auto_deploy: refused before anything is registered
    refused = cli("register", "fraud", "-a", artifact, "--metric", "auc=0.95", "--branch", "-R", reg, code=2)
    assert "has no auto_deploy" in refused.stderr
    with pytest.raises(UsageError, match="invalid branch name"):
        api.set_model("fraud", auto_deploy={"stage": "staging"}, registry=reg)
        api.register("fraud", artifact, metrics={"auc": 0.95}, branch="bad..name", registry=reg)
    git(reg, "reset", "-q", "--hard", "HEAD~1")
    assert state(reg) == before
    # a hand-written model.yaml with a bad setting fails the checker
    model_yaml = reg / "models" / "fraud" / "model.yaml"
    model_yaml.write_text(model_yaml.read_text() + "auto_deploy: {stage: staging, strategy: yolo}\n")
    git(reg, "commit", "-qam", "by hand")
    assert "auto_deploy" in cli("check", "-R", reg, code=1).stdout


def test_auto_deploy_without_a_metric_to_rank_by_says_so(reg: Path, artifact: Path) -> None:
    api.set_model("fraud", auto_deploy={"stage": "production"}, registry=reg)  # production has no metric gate
    done = api.register("fraud", artifact, metrics={"auc": 0.99}, registry=reg).deployed
    assert done is not None and done.moved is None and "set auto_deploy's metric" in done.why
    api.set_model("fraud", auto_deploy={"stage": "production", "metric": "auc"}, registry=reg)
    done = api.register("fraud", artifact, metrics={"auc": 0.99}, registry=reg).deployed
    assert done is not None and done.moved is None and "stage order" in done.why  # never held staging


def test_auto_deploy_is_removed_with_no_auto_deploy(reg: Path, cli: Cli, artifact: Path) -> None:
    api.set_model("fraud", auto_deploy={"stage": "staging"}, registry=reg)
    cli("model", "set", "fraud", "--no-auto-deploy", "-R", reg)
    assert api.model_show("fraud", registry=reg).auto_deploy is None
    assert api.register("fraud", artifact, metrics={"auc": 0.99}, registry=reg).deployed is None
