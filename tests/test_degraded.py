"""A lifecycle that remembers: monitor marks the version it rolls away from
as degraded, nothing moves it back onto a stage unless told why, rollbacks
walk back instead of toggling, and deploy ranks by what was measured."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import ConflictError, NotFoundError
from gitreg.operations.lifecycle import GateFailed
from tests.conftest import Cli, Setup, git, init_with_origin, state
from tests.helpers import check, gto_view, our_view, pointer, pr


def _three_in_production(folder: Path, artifact: Path) -> None:
    """fraud 1.0.0, 1.0.1, 1.0.2 (auc .90/.92/.95), each through staging to
    production in turn: 1.0.2 holds both stages now. Pushed to origin."""
    registry = init_with_origin(folder)
    for auc in (0.90, 0.92, 0.95):
        done = api.register("fraud", artifact, metrics={"auc": auc}, registry=registry)
        api.promote("fraud", done.version, to="staging", registry=registry)
        api.promote("fraud", done.version, to="production", registry=registry)
    git(registry, "push", "-q", "-u", "origin", "main", "--tags")


@pytest.fixture
def reg(build_registry: Callable[[Setup], Path]) -> Path:
    return build_registry(_three_in_production)


def _holder(reg: Path, stage: str = "production") -> str:
    return api.resolve(f"fraud@{stage}", registry=reg).version


def test_monitor_marks_degraded_and_nothing_brings_it_back(reg: Path, cli: Cli) -> None:
    watched = api.monitor("fraud", metrics={"auc": 0.80}, registry=reg)
    assert watched.outcome == "rolled-back" and _holder(reg) == "1.0.1"
    bad = api.show("fraud@1.0.2", registry=reg)
    assert bad.state == "degraded" and bad.status == "active"
    assert bad.degraded is not None and "auc 0.8 is 15.8% worse" in bad.degraded.reason
    assert bad.degraded.evidence == "auc=0.8 (registered 0.95)"
    assert gto_view(reg) == our_view(reg, cli)
    # deploy never picks it, though its registered auc is the best
    decision = api.deploy("fraud", strategy="best", metric="auc", registry=reg)
    assert decision.chosen is None
    assert {c.version: c.why for c in decision.candidates}["1.0.2"] == "degraded"
    # nor does promote, unless told why
    before = state(reg)
    with pytest.raises(ConflictError, match=r"1\.0\.2 is marked degraded .*--force-degraded"):
        api.promote("fraud", "1.0.2", to="production", registry=reg)
    err = cli("promote", "fraud", "1.0.2", "--to", "production", "-R", reg, code=1).stderr
    assert "is marked degraded" in err and len(err.splitlines()) == 1
    assert state(reg) == before
    # the next degradation rolls back further, never onto the degraded version
    api.monitor("fraud", metrics={"auc": 0.70}, registry=reg)
    assert _holder(reg) == "1.0.0"
    assert [v.version for v in api.list_versions("fraud", where="status == degraded", registry=reg)] == [
        "1.0.2",
        "1.0.1",
    ]
    assert json.loads(cli("list", "fraud", "--json", "-R", reg).stdout)[0]["status"] == "degraded"
    rows = {line.split()[0]: line.split("  20")[0] for line in cli("list", "fraud", "-R", reg).stdout.splitlines()[1:]}
    assert [rows[v].split(maxsplit=1)[1].strip() for v in ("1.0.2", "1.0.1", "1.0.0")] == [
        "staging (degraded)",  # still holds staging, which monitor did not watch
        "degraded",
        "production",
    ]


def test_deploy_ranks_degraded_versions_only_when_forced_with_a_reason(reg: Path, cli: Cli) -> None:
    api.monitor("fraud", metrics={"auc": 0.80}, registry=reg)  # 1.0.2 degraded; 1.0.1 back in production
    before = state(reg)
    refused = cli("deploy", "fraud", "--force-degraded", " ", "-R", reg, code=2)
    assert "--force-degraded needs a reason" in refused.stderr
    assert state(reg) == before
    api.evaluate("fraud", "1.0.2", metrics={"auc": 0.96}, environment="production", registry=reg)  # re-measured
    assert api.deploy("fraud", metric="auc", registry=reg).chosen is None  # degraded: not ranked
    out = cli("deploy", "fraud", "--metric", "auc", "--force-degraded", "the feed was delayed", "-R", reg).stdout
    assert "Chosen: 1.0.2" in out and _holder(reg) == "1.0.2"
    forced = api.show("fraud@1.0.2", registry=reg)
    assert forced.state == "active" and forced.annotations[-1].reason == "forced onto production: the feed was delayed"
    assert cli("check", "--base", "HEAD~1", "-R", reg).exit_code == 0


def test_a_degraded_holder_shows_as_such(reg: Path, cli: Cli) -> None:
    api.monitor("fraud", stage="staging", metrics={"auc": 0.80}, registry=reg)  # 1.0.2 still holds production
    row = next(line for line in cli("list", "fraud", "-R", reg).stdout.splitlines() if line.startswith("1.0.2"))
    assert "production (degraded)" in row
    assert cli("check", "-R", reg).exit_code == 0
    assert gto_view(reg) == our_view(reg, cli)


def test_forcing_a_degraded_version_clears_its_mark_on_record(reg: Path, cli: Cli) -> None:
    api.monitor("fraud", metrics={"auc": 0.80}, registry=reg)
    moved = api.promote("fraud", "1.0.2", to="production", force_degraded="the drop was a dashboard bug", registry=reg)
    assert moved.commit and _holder(reg) == "1.0.2"
    now = api.show("fraud@1.0.2", registry=reg)
    assert now.degraded is None and now.state == "active"
    assert now.annotations[-1].reason == "forced onto production: the drop was a dashboard bug"
    assert cli("check", "-R", reg).exit_code == 0


def test_clearing_the_mark_takes_a_reason_and_makes_it_eligible(reg: Path) -> None:
    api.monitor("fraud", metrics={"auc": 0.80}, registry=reg)
    api.annotate("fraud", "1.0.2", clear_degraded=True, reason="upstream feature fixed", registry=reg)
    assert api.show("fraud@1.0.2", registry=reg).state == "active"
    decision = api.deploy("fraud", strategy="best", metric="auc", registry=reg)
    # eligible again, and ranked by what monitor measured in production, not by its registered 0.95
    assert [(c.version, c.eligible, c.score) for c in decision.candidates] == [
        ("1.0.0", True, 0.9),
        ("1.0.2", True, 0.8),
    ]
    api.evaluate("fraud", "1.0.2", metrics={"auc": 0.96}, environment="production", registry=reg)
    assert api.deploy("fraud", strategy="best", metric="auc", registry=reg).chosen == "1.0.2"


def test_a_pull_request_onto_a_degraded_version_fails_the_check(reg: Path, cli: Cli) -> None:
    api.monitor("fraud", metrics={"auc": 0.80}, registry=reg)
    git(reg, "push", "-q", "origin", "main")
    pr(reg, "back-to-1.0.2", lambda r: pointer(r, "production", "1.0.2"))
    report = check(reg, cli, 1)
    assert any(
        v["rule"] == "degraded" and "1.0.2 is marked degraded" in v["message"]
        for v in report["violations"]  # type: ignore[attr-defined]
    ), report


def test_clearing_the_mark_by_hand_needs_a_reason(reg: Path, cli: Cli) -> None:
    from tests.helpers import edit_yaml, path

    api.monitor("fraud", metrics={"auc": 0.80}, registry=reg)
    git(reg, "push", "-q", "origin", "main")

    def clear(r: Path) -> None:
        file = path(r, "fraud", "versions", "1.0.2.yaml")
        doc = api.show("fraud@1.0.2", registry=r).to_doc()
        note = {"at": "2026-01-01T00:00:00Z", "by": "Eve <e@x.y>", "degraded": False}
        edit_yaml(file, annotations=[*(a.to_doc() for a in api.show("fraud@1.0.2", registry=r).annotations), note])
        assert doc

    pr(reg, "clear", clear)
    report = check(reg, cli, 1)
    assert any("clearing the degraded mark needs a reason" in v["message"] for v in report["violations"])  # type: ignore[attr-defined]


def test_repeated_rollbacks_walk_back(reg: Path, cli: Cli) -> None:
    assert api.rollback("fraud", registry=reg).plan.version == "1.0.1"
    assert api.rollback("fraud", registry=reg).plan.version == "1.0.0"
    before = state(reg)
    with pytest.raises(NotFoundError, match="nothing to roll back to"):
        api.rollback("fraud", registry=reg)
    assert state(reg) == before
    # a promotion forward and a rollback return to where the walk stood
    api.promote("fraud", "1.0.2", to="production", registry=reg)
    assert api.rollback("fraud", registry=reg).plan.version == "1.0.0"
    assert cli("check", "-R", reg).exit_code == 0
    assert gto_view(reg) == our_view(reg, cli)


def test_rollback_skips_holders_that_may_not_return(reg: Path) -> None:
    # staging's holders degrade one after another: 1.0.2, then 1.0.1
    api.monitor("fraud", stage="staging", metrics={"auc": 0.80}, registry=reg)
    api.monitor("fraud", stage="staging", metrics={"auc": 0.80}, registry=reg)
    assert _holder(reg, "staging") == "1.0.0"
    # production still has 1.0.2; its walk back passes over degraded 1.0.1
    assert api.rollback("fraud", registry=reg).plan.version == "1.0.0"
    api.promote("fraud", "1.0.1", to="production", force_degraded="re-measured: healthy", registry=reg)
    assert api.rollback("fraud", registry=reg).plan.version == "1.0.0"  # undoes that promotion
    api.rollback("fraud", to="1.0.1", registry=reg)
    api.unassign("fraud", stage="staging", registry=reg)
    api.archive("fraud", "1.0.0", registry=reg)
    with pytest.raises(ConflictError, match=r"every earlier holder of fraud production \(.*1\.0\.0\) is degraded"):
        api.rollback("fraud", registry=reg)


def test_rollback_to_a_version_that_never_held_the_stage_passes_its_gates(reg: Path, artifact: Path) -> None:
    api.register("fraud", artifact, metrics={"auc": 0.97}, registry=reg)  # 1.0.3, never in staging
    with pytest.raises(GateFailed, match="stage order"):
        api.rollback("fraud", to="1.0.3", registry=reg)
    api.promote("fraud", "1.0.3", to="staging", registry=reg)
    api.set_model("fraud", gates={"production": {"min_auc": 0.96}}, registry=reg)
    assert api.rollback("fraud", to="1.0.3", registry=reg).plan.version == "1.0.3"
    # a rightful past holder skips the metric gates it no longer meets
    assert api.rollback("fraud", to="1.0.0", registry=reg).plan.version == "1.0.0"


def test_deploy_ranks_by_the_latest_measurement_in_the_stage(reg: Path) -> None:
    api.rollback("fraud", registry=reg)
    api.rollback("fraud", registry=reg)  # 1.0.0 holds production
    api.evaluate("fraud", "1.0.2", metrics={"auc": 0.91}, environment="production", registry=reg)
    api.evaluate("fraud", "1.0.2", metrics={"auc": 0.99}, environment="shadow", registry=reg)
    decision = api.deploy("fraud", strategy="best", metric="auc", dry_run=True, registry=reg)
    assert decision.chosen == "1.0.1"  # 0.92 registered beats 1.0.2's 0.91 measured in production
    ranked = {c.version: (c.score, c.measured_at is not None) for c in decision.candidates}
    assert ranked == {"1.0.1": (0.92, False), "1.0.2": (0.91, True)}


def test_a_version_in_two_stages_is_found_by_either(reg: Path, cli: Cli) -> None:
    [row] = json.loads(cli("list", "fraud", "--where", "stage == production", "--json", "-R", reg).stdout)
    assert row["version"] == "1.0.2" and row["stages"] == ["staging", "production"]
    assert [v.version for v in api.list_versions("fraud", where="stage == staging", registry=reg)] == ["1.0.2"]
    found = api.list_versions("fraud", where="stage in [production, development]", registry=reg)
    assert [v.version for v in found] == ["1.0.2", "1.0.1", "1.0.0"]
    assert [v.version for v in api.list_versions("fraud", where="stage != staging", registry=reg)] == [
        "1.0.1",
        "1.0.0",
    ]
    assert "cannot read the condition" in cli("list", "--where", "stage in production", "-R", reg, code=2).stderr
    shown = json.loads(cli("show", "fraud@production", "--json", "-R", reg).stdout)
    assert shown["version"] == "1.0.2" and shown["stages"] == ["staging", "production"]
    assert json.loads(cli("show", "fraud@1.0.0", "--json", "-R", reg).stdout)["stages"] == []
    assert api.stages_held("fraud@staging", registry=reg) == ("staging", "production")


def test_labels_edited_by_hand_in_older_history_keep_a_version_restorable(reg: Path) -> None:
    """Registries from before annotations edited labels by hand; such a
    version is still the one registered (labels are no part of its core)."""
    from tests.helpers import edit_yaml, path

    edit_yaml(path(reg, "fraud", "versions", "1.0.1.yaml"), labels={"reviewed": "yes"})
    git(reg, "commit", "-qam", "label by hand, as older registries did")
    assert api.rollback("fraud", registry=reg).plan.version == "1.0.1"
