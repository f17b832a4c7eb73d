"""Promote, demote, unassign, archive, deprecate and rollback on real repos."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitreg import api
from gitreg.documents import yamlio
from gitreg.errors import ConflictError, NotFoundError, UsageError
from gitreg.operations.lifecycle import GateFailed
from gitreg.storage import dvcconfig
from gitreg.storage.git import Repo
from tests.conftest import Cli, Setup, git, state
from tests.helpers import stages, trailers


def _three_fraud_versions_with_gates(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    for auc in (0.80, 0.90, 0.95):
        api.register("fraud", artifact, registry=registry, metrics={"auc": auc}, metadata={"approved": True})
    api.set_model(
        "fraud",
        gates={"staging": {"min_auc": 0.85}, "production": {"min_improvement_auc": 0.02, "require_approved": True}},
        registry=registry,
    )


@pytest.fixture
def reg(build_registry: Callable[[Setup], Path]) -> Path:
    """fraud 1.0.0/1.0.1/1.0.2 with auc 0.80/0.90/0.95 and gates on both stages."""
    return build_registry(_three_fraud_versions_with_gates)


def tag_target(registry: Path, name: str) -> str:
    return git(registry, "rev-parse", f"{name}^{{commit}}")


def test_promote_moves_the_pointer_in_one_commit(reg: Path, cli: Cli) -> None:
    out = cli("promote", "fraud", "1.0.1", "--to", "staging", "--reason", "offline eval ok", "-R", reg).stdout
    assert "min_auc" in out and "pass" in out and "Done: commit" in out
    pointer = yamlio.load((reg / "models" / "fraud" / "stages" / "staging.yaml").read_text(), "p")
    assert pointer["version"] == "1.0.1" and pointer["reason"] == "offline eval ok"
    assert pointer["promoted_by"] == "Ada Tester <ada@example.com>"
    assert git(reg, "show", "--name-only", "--format=", "HEAD").splitlines() == ["models/fraud/stages/staging.yaml"]
    assert trailers(reg) == {
        "Gitreg-Action": "promote",
        "Gitreg-Model": "fraud",
        "Gitreg-Version": "1.0.1",
        "Gitreg-Stage": "staging",
        "Gitreg-Reason": "offline eval ok",
    }
    assert stages(reg) == {"staging": "1.0.1"}
    assert git(reg, "status", "--porcelain") == ""


def test_assignment_tags_point_at_the_registration_commit(reg: Path) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    moved = api.promote("fraud", "1.0.2", to="staging", registry=reg)
    assert moved.tags == ("fraud#staging!#2", "fraud#staging#3")
    assert tag_target(reg, "fraud#staging#1") == tag_target(reg, "fraud@v1.0.1")
    assert tag_target(reg, "fraud#staging!#2") == tag_target(reg, "fraud@v1.0.1")
    assert tag_target(reg, "fraud#staging#3") == tag_target(reg, "fraud@v1.0.2")
    messages = git(reg, "tag", "-n1", "-l", "fraud#*").splitlines()
    assert any("Unassigning stage 'staging' to artifact 'fraud' version 'v1.0.1'" in m for m in messages)
    assert any("Assigning stage staging to artifact fraud version v1.0.2" in m for m in messages)
    assert trailers(reg)["Gitreg-From"] == "1.0.1"


def test_a_failed_gate_prints_the_table_and_writes_nothing(reg: Path, cli: Cli) -> None:
    before = state(reg)
    result = cli("promote", "fraud", "1.0.0", "--to", "staging", "-R", reg, code=1)
    assert "min_auc" in result.stdout and "FAIL" in result.stdout and "0.8 < 0.85" in result.stdout
    assert result.stderr == "gitreg: error: promotion of fraud 1.0.0 to staging refused: min_auc: 0.8 < 0.85\n"
    assert state(reg) == before


def test_gate_failure_as_json(reg: Path, cli: Cli) -> None:
    result = cli("promote", "fraud", "1.0.0", "--to", "staging", "--json", "-R", reg, code=1)
    plan = json.loads(result.stdout)
    assert plan["allowed"] is False and plan["gates"][0]["gate"] == "min_auc" and plan["gates"][0]["passed"] is False


def test_stage_order_policy(reg: Path, cli: Cli) -> None:
    before = state(reg)
    result = cli("promote", "fraud", "1.0.1", "--to", "production", "-R", reg, code=1)
    assert "stage order" in result.stdout and "production needs a version that has held staging" in result.stderr
    assert state(reg) == before
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    api.promote("fraud", "1.0.1", to="production", registry=reg)  # held staging before: enough
    assert stages(reg) == {"staging": "1.0.2", "production": "1.0.1"}


def test_the_policy_is_configurable(reg: Path) -> None:
    config = reg / ".gitreg" / "config.yaml"
    config.write_text(
        config.read_text().replace("production:\n    - staging", "{}").replace("requires:\n", "requires: ")
    )
    git(reg, "commit", "-qam", "no stage order")
    api.promote("fraud", "1.0.1", to="production", registry=reg)
    assert stages(reg) == {"production": "1.0.1"}


def test_improvement_gate_against_the_current_holder(reg: Path) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    api.promote("fraud", "1.0.2", to="production", registry=reg)
    with pytest.raises(GateFailed) as info:
        api.promote("fraud", "1.0.1", to="production", registry=reg)  # 0.90 < 0.95 + 0.02
    gate = next(g for g in info.value.plan.gates if g.gate == "min_improvement_auc")
    assert gate.baseline == 0.95 and gate.delta == pytest.approx(-0.05)


def test_relative_improvement_gate_in_promote_and_in_check(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    api.set_model("fraud", gates={"production": {"min_improvement_pct_auc": 6}}, registry=reg)
    api.promote("fraud", "1.0.1", to="production", registry=reg)  # no holder yet
    with pytest.raises(GateFailed, match=r"0.95 improves on 0.9 by 5.56%, less than 6% \(holder 1.0.1\)"):
        api.promote("fraud", "1.0.2", to="production", registry=reg)
    # a hand-made promotion of the same move fails the checker for the same gate
    base = git(reg, "rev-parse", "HEAD")
    pointer = reg / "models" / "fraud" / "stages" / "production.yaml"
    pointer.write_text(pointer.read_text().replace('version: "1.0.1"', 'version: "1.0.2"'))
    git(reg, "commit", "-qam", "promote by hand")
    report = json.loads(cli("check", "--base", base, "--format", "json", "-R", reg, code=1).stdout)
    assert "min_improvement_pct_auc" in json.dumps(report)
    git(reg, "reset", "-q", "--hard", base)
    api.set_model("fraud", gates={"production": {"min_improvement_pct_auc": 5.5}}, registry=reg)
    assert api.promote("fraud", "1.0.2", to="production", registry=reg).plan.allowed


def test_dry_run_writes_nothing(reg: Path, cli: Cli) -> None:
    before = state(reg)
    out = cli("promote", "fraud", "1.0.1", "--to", "staging", "--dry-run", "-R", reg).stdout
    assert '+version: "1.0.1"' in out and "Dry run: nothing written." in out
    assert state(reg) == before
    plan = json.loads(cli("promote", "fraud", "1.0.1", "--to", "staging", "--dry-run", "--json", "-R", reg).stdout)
    assert plan["dry_run"] is True and plan["commit"] is None and plan["allowed"] is True
    assert state(reg) == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["promote", "fraud", "9.9.9", "--to", "staging"], 1, "fraud 9.9.9 is not registered"),
        (["promote", "fraud", "1.0.1", "--to", "prod"], 2, "unknown stage 'prod'"),
        (["promote", "fraud", "1.0", "--to", "staging"], 2, "invalid version '1.0'"),
        (["promote", "Fraud", "1.0.1", "--to", "staging"], 2, "invalid model name 'Fraud'"),
        (["demote", "fraud", "1.0.1", "--to", "development"], 1, "holds no stage above development"),
        (["unassign", "fraud", "--stage", "production"], 1, "no version of 'fraud' holds stage 'production'"),
        (["rollback", "fraud"], 1, "nothing to roll back to: fraud has no earlier holder of production"),
        (["rollback", "fraud", "--stage", "nope"], 2, "unknown stage 'nope'"),
        (["archive", "fraud", "7.0.0"], 1, "fraud 7.0.0 is not registered"),
        (["history", "fraud", "--stage", "nope"], 2, "unknown stage 'nope'"),
        (["compare", "fraud", "1.0.0"], 2, "at least two versions"),
        (["compare", "fraud", "1.0.0", "3.0.0"], 1, "fraud 3.0.0 is not registered"),
        (["resolve", "fraud@production"], 1, "no version of 'fraud' holds stage 'production'"),
        (["model", "set", "fraud", "--gate", "prod:min_auc=1"], 2, "unknown stage 'prod'"),
        (["model", "set", "fraud", "--gate", "staging:minimum_auc=1"], 2, "invalid gate 'minimum_auc'"),
        (["model", "set", "fraud", "--gate", "staging:min_auc=high"], 2, "must be a number"),
        (["model", "set", "fraud", "--gate", "staging:min_auc=nan"], 2, "NaN and infinity are not allowed"),
        (["model", "set", "fraud", "--gate", "staging:require_ok=yes"], 2, "takes the value true"),
        (["model", "set", "fraud", "--gate", "min_auc=1"], 2, "not of the form STAGE:KEY=VALUE"),
        (["model", "set", "fraud", "--remove-gate", "staging:max_x"], 1, "has no gate 'max_x' for stage 'staging'"),
    ],
)
def test_refusals_leave_the_repo_unchanged(reg: Path, cli: Cli, args: list[str], code: int, message: str) -> None:
    before = state(reg)
    result = cli(*args, "-R", reg, code=code)
    assert message in result.stderr and result.stderr.startswith("gitreg: error: ")
    assert state(reg) == before


def test_already_holding_is_refused(reg: Path) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    with pytest.raises(ConflictError, match="already holds staging"):
        api.promote("fraud", "1.0.1", to="staging", registry=reg)


def test_demote(reg: Path) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    api.promote("fraud", "1.0.1", to="production", registry=reg)
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    moved = api.demote("fraud", "1.0.1", to="staging", reason="latency regression", registry=reg)
    assert moved.plan.removed == ("production",)
    assert stages(reg) == {"staging": "1.0.1"}
    assert trailers(reg)["Gitreg-Action"] == "demote" and trailers(reg)["Gitreg-From"] == "1.0.2"
    assert set(moved.tags) == {"fraud#production!#5", "fraud#staging!#6", "fraud#staging#7"}
    api.demote("fraud", "1.0.1", to="development", registry=reg)
    assert stages(reg) == {}
    assert [v.stage for v in api.list_versions("fraud", registry=reg)] == ["development"] * 3


def test_unassign(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    out = cli("unassign", "fraud", "--stage", "staging", "-R", reg).stdout
    assert "Unassign staging from fraud 1.0.1" in out
    assert stages(reg) == {}
    assert not (reg / "models" / "fraud" / "stages" / "staging.yaml").exists()
    assert git(reg, "status", "--porcelain") == ""
    assert trailers(reg)["Gitreg-Action"] == "unassign"


def test_archive_and_deprecate(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    before = state(reg)
    result = cli("archive", "fraud", "1.0.1", "-R", reg, code=1)
    assert "fraud 1.0.1 holds staging; move the pointer first" in result.stderr
    assert state(reg) == before
    assert cli("archive", "fraud", "1.0.0", "-R", reg).stdout == "fraud 1.0.0 is now archived\n"
    assert api.show("fraud@1.0.0", registry=reg).status == "archived"
    assert trailers(reg) == {"Gitreg-Action": "archive", "Gitreg-Model": "fraud", "Gitreg-Version": "1.0.0"}
    with pytest.raises(ConflictError, match="already archived"):
        api.archive("fraud", "1.0.0", registry=reg)
    api.deprecate("fraud", "1.0.2", registry=reg)
    with pytest.raises(ConflictError, match=r"fraud 1\.0\.2 is deprecated: archived and deprecated versions cannot"):
        api.promote("fraud", "1.0.2", to="staging", registry=reg)
    assert [v.stage for v in api.list_versions("fraud", registry=reg)] == ["deprecated", "staging", "archived"]
    core = api.show("fraud@1.0.0", registry=reg)
    assert core.metrics["auc"] == 0.8 and core.artifact.size > 0  # the core is untouched


def test_rollback_restores_the_previous_holder(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    api.promote("fraud", "1.0.1", to="production", registry=reg)
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    api.promote("fraud", "1.0.2", to="production", registry=reg)
    out = cli("rollback", "fraud", "--reason", "p99 latency", "-R", reg).stdout
    assert "Roll back fraud production from 1.0.2 to 1.0.1" in out
    assert stages(reg)["production"] == "1.0.1"
    assert trailers(reg) == {
        "Gitreg-Action": "rollback",
        "Gitreg-Model": "fraud",
        "Gitreg-Version": "1.0.1",
        "Gitreg-Stage": "production",
        "Gitreg-From": "1.0.2",
        "Gitreg-Reason": "p99 latency",
    }
    with pytest.raises(NotFoundError, match="nothing to roll back to"):  # a rollback walks back, never toggles
        api.rollback("fraud", registry=reg)
    api.rollback("fraud", to="1.0.2", registry=reg)  # a rightful past holder, by name
    assert stages(reg)["production"] == "1.0.2"
    api.rollback("fraud", registry=reg)
    assert stages(reg)["production"] == "1.0.1"
    with pytest.raises(GateFailed, match="min_auc"):  # never held staging: its gates decide
        api.rollback("fraud", stage="staging", to="1.0.0", registry=reg)


def test_rollback_target_must_be_active(reg: Path) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    api.archive("fraud", "1.0.1", registry=reg)
    before = state(reg)
    with pytest.raises(ConflictError, match=r"every earlier holder of fraud staging \(1\.0\.1\) is degraded, archived"):
        api.rollback("fraud", stage="staging", registry=reg)
    assert state(reg) == before


def test_git_revert_of_a_promotion_equals_a_rollback(reg: Path, tmp_path: Path) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    api.promote("fraud", "1.0.1", to="production", registry=reg)
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    api.promote("fraud", "1.0.2", to="production", registry=reg)
    twin = tmp_path / "twin"
    git(tmp_path, "clone", "-q", str(reg), str(twin))
    api.rollback("fraud", registry=reg)
    git(twin, "revert", "--no-edit", "HEAD")
    assert stages(twin) == stages(reg) == {"staging": "1.0.2", "production": "1.0.1"}
    moves = api.history("fraud", stage="production", registry=twin)
    assert (moves[0].action, moves[0].previous, moves[0].version) == ("manual", "1.0.2", "1.0.1")
    for walked in (reg, twin):  # the revert undid the promotion as the rollback did: nothing is left before 1.0.1
        with pytest.raises(NotFoundError, match="nothing to roll back to"):
            api.rollback("fraud", registry=walked)
    api.promote("fraud", "1.0.2", to="production", registry=twin)
    api.rollback("fraud", registry=twin)  # a reverted pointer history still rolls back
    assert stages(twin)["production"] == "1.0.1"


def test_history(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.1", to="staging", reason="eval ok", registry=reg)
    api.promote("fraud", "1.0.1", to="production", registry=reg)
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    api.promote("fraud", "1.0.2", to="production", registry=reg)
    api.rollback("fraud", reason="incident 42", registry=reg)
    events = json.loads(cli("history", "fraud", "--json", "-R", reg).stdout)
    assert [e["action"] for e in events] == [
        "rollback",
        "promote",
        "promote",
        "promote",
        "promote",
        "set-model",
        "register",
        "register",
        "register",
    ]
    assert events[0] | {"commit": "", "at": ""} == {
        "commit": "",
        "at": "",
        "by": "Ada Tester <ada@example.com>",
        "action": "rollback",
        "model": "fraud",
        "version": "1.0.1",
        "stage": "production",
        "from": "1.0.2",
        "reason": "incident 42",
        "summary": "Roll back fraud production from 1.0.2 to 1.0.1",
    }
    assert events[0]["commit"] == git(reg, "rev-parse", "HEAD")
    production = api.history("fraud", stage="production", registry=reg)
    assert [(e.previous, e.version) for e in production] == [("1.0.2", "1.0.1"), ("1.0.1", "1.0.2"), (None, "1.0.1")]
    text = cli("history", "fraud", "--stage", "staging", "-R", reg).stdout
    assert "staging: 1.0.1 -> 1.0.2" in text and "eval ok" in text


def test_compare(reg: Path, tmp_path: Path, cli: Cli, artifact: Path) -> None:
    api.register(
        "fraud", artifact, registry=reg, metrics={"auc": 0.97, "f1": 0.5}, params={"lr": 0.1, "opt": {"name": "adam"}}
    )
    api.register("fraud", artifact, registry=reg, metrics={"auc": 0.96}, params={"lr": 0.2, "opt": {"name": "adam"}})
    result = api.compare("fraud", ["1.0.3", "1.0.4"], registry=reg)
    assert result.metrics == {"auc": (0.97, 0.96), "f1": (0.5, None)}
    assert result.deltas["auc"][1] == pytest.approx(-0.01) and result.deltas["f1"] == (0.0, None)
    assert result.params == {"lr": (0.1, 0.2)}
    assert result.metadata == {}
    text = cli("compare", "fraud", "1.0.3", "1.0.4", "1.0.0", "-R", reg).stdout
    assert "Δ 1.0.4-1.0.3" in text and "-0.01" in text and "lr" in text
    data = json.loads(cli("compare", "fraud", "1.0.3", "1.0.4", "--json", "-R", reg).stdout)
    assert data["params"] == {"lr": [0.1, 0.2]}


def test_resolve(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.1", to="staging", registry=reg)
    found = api.resolve("fraud@staging", registry=reg)
    assert (found.version, found.stage, found.status) == ("1.0.1", "staging", "active")
    assert found.version_commit == tag_target(reg, "fraud@v1.0.1")
    assert found.registry_commit == git(reg, "rev-parse", "HEAD")
    committed = dvcconfig.remotes(git(reg, "show", "HEAD:.dvc/config"), ".dvc/config")[1]["storage"]  # as committed
    assert found.remote_url == committed and committed.endswith("/registry/.gitreg/storage")
    data = json.loads(cli("resolve", "fraud@latest", "--json", "-R", reg).stdout)
    assert data["version"] == "1.0.2" and data["stage"] is None and data["artifact"]["md5"]
    assert "fraud 1.0.1 (holds staging)" in cli("resolve", "fraud@staging", "-R", reg).stdout
    git(reg, "tag", "-d", "fraud@v1.0.1")  # tags lost (e.g. merged through a PR): found from the file
    assert api.resolve("fraud@1.0.1", registry=reg).version_commit == found.version_commit


def test_model_set(reg: Path, cli: Cli) -> None:
    out = cli(
        "model",
        "set",
        "fraud",
        "--description",
        "Card fraud",
        "--owner",
        "ada",
        "--owner",
        "bob",
        "--label",
        "team=risk",
        "--gate",
        "production:max_latency_ms=50",
        "--remove-gate",
        "staging:min_auc",
        "-R",
        reg,
    ).stdout
    assert "Done: commit" in out
    model = json.loads(cli("model", "show", "fraud", "--json", "-R", reg).stdout)
    assert model["description"] == "Card fraud" and model["owners"] == ["ada", "bob"]
    assert model["labels"] == {"team": "risk"}
    assert model["gates"] == {
        "production": {"min_improvement_auc": 0.02, "require_approved": True, "max_latency_ms": 50}
    }
    assert trailers(reg) == {"Gitreg-Action": "set-model", "Gitreg-Model": "fraud"}
    before = state(reg)
    assert cli("model", "set", "fraud", "--label", "team=risk", "-R", reg).stdout.endswith("Nothing changed.\n")
    assert state(reg) == before


def test_gates_are_rechecked_on_the_tip_that_is_finally_committed(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gate tightened by another writer between our check and our commit
    makes the compare-and-swap fail, the retry re-evaluates, and refuses."""
    real = Repo.commit_tree
    raced: list[bool] = []

    def racing(self: Repo, tree: str, parents: list[str], message: str, **dated: Any) -> str:
        if not raced:
            raced.append(True)
            api.set_model("fraud", gates={"staging": {"min_auc": 0.99}}, registry=reg)
        return real(self, tree, parents, message, **dated)

    monkeypatch.setattr(Repo, "commit_tree", racing)
    with pytest.raises(GateFailed, match=r"min_auc: 0\.9 < 0\.99"):
        api.promote("fraud", "1.0.1", to="staging", registry=reg)
    assert stages(reg) == {}
    assert git(reg, "tag", "-l", "fraud#*") == ""


def test_bad_inputs_from_python(reg: Path) -> None:
    with pytest.raises(UsageError):
        api.set_model("fraud", gates={"staging": {"min_auc": float("nan")}}, registry=reg)
    with pytest.raises(NotFoundError):
        api.resolve("ghost@latest", registry=reg)


def test_no_commit_without_its_tags(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = state(reg)

    def broken(self: Repo, *args: object) -> str:
        raise OSError("cannot write the tag object")

    monkeypatch.setattr(Repo, "make_tag", broken)
    with pytest.raises(OSError, match="cannot write the tag object"):
        api.promote("fraud", "1.0.1", to="staging", registry=reg)
    assert state(reg) == before


def test_a_locked_tag_ref_stops_the_whole_move(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Branch and tags move in one ref transaction: a tag that cannot be
    written (another process holds its lock) keeps the branch where it was,
    and the other process's lock is left alone."""
    monkeypatch.setattr("gitreg.core.transaction.time.sleep", lambda seconds: None)
    lock = reg / ".git" / "refs" / "tags" / "fraud#staging#1.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("held by someone else\n")
    before = state(reg)
    with pytest.raises(ConflictError, match="gave up after 8 attempts"):
        api.promote("fraud", "1.0.1", to="staging", registry=reg)
    assert state(reg) == before
    assert lock.exists()
