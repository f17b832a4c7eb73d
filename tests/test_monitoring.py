"""Evaluations, the metric trend, monitored auto-rollback and deployment
strategies, on real registries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import ConflictError, NotFoundError, UsageError
from gitreg.operations.lifecycle import GateFailed
from gitreg.operations.monitor import relative_drop
from tests.conftest import Cli, Setup, git, state
from tests.helpers import stages, trailers


def _production_history(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    for auc, loss in ((0.90, 0.30), (0.95, 0.20), (0.97, 0.25)):
        api.register("fraud", artifact, registry=registry, metrics={"auc": auc, "loss": loss})
    api.set_model("fraud", gates={"production": {"min_auc": 0.85, "max_loss": 0.4}}, registry=registry)
    for version in ("1.0.0", "1.0.1"):
        api.promote("fraud", version, to="staging", registry=registry)
        api.promote("fraud", version, to="production", registry=registry)


@pytest.fixture
def reg(build_registry: Callable[[Setup], Path]) -> Path:
    """fraud 1.0.0 (auc 0.90) held production before 1.0.1 (auc 0.95), which
    holds it now; both held staging. 1.0.2 (auc 0.97) is new. loss has a
    max_ gate, so lower is better for it."""
    return build_registry(_production_history)


def test_evaluate_appends_to_the_history_without_touching_the_core(reg: Path, cli: Cli) -> None:
    before = api.show("fraud@1.0.1", registry=reg)
    out = cli("evaluate", "fraud", "1.0.1", "--metric", "auc=0.93", "--environment", "shadow", "-R", reg).stdout
    assert "Recorded evaluation 1 of fraud 1.0.1 in shadow: auc=0.93" in out
    api.evaluate("fraud", "1.0.1", metrics={"auc": 0.91, "latency_ms": 40}, environment="production", registry=reg)
    after = api.show("fraud@1.0.1", registry=reg)
    assert after.metrics == before.metrics and after.created_at == before.created_at
    assert [(e.environment, dict(e.metrics)) for e in after.evaluations] == [
        ("shadow", {"auc": 0.93}),
        ("production", {"auc": 0.91, "latency_ms": 40.0}),
    ]
    assert after.evaluations[0].by == "Ada Tester <ada@example.com>"
    assert trailers(reg)["Gitreg-Action"] == "evaluate" and trailers(reg)["Gitreg-Environment"] == "production"
    assert git(reg, "show", "--name-only", "--format=", "HEAD") == "models/fraud/versions/1.0.1.yaml"
    assert api.check(base="HEAD~2", registry=reg).ok  # evaluations only appended


def test_evaluate_refuses_bad_input_and_writes_nothing(reg: Path, cli: Cli) -> None:
    before = state(reg)
    assert "no metrics given" in cli("evaluate", "fraud", "1.0.1", "-R", reg, code=2).stderr
    assert "not registered" in cli("evaluate", "fraud", "9.9.9", "--metric", "auc=1", "-R", reg, code=1).stderr
    assert (
        "NaN and infinity are not allowed"
        in cli("evaluate", "fraud", "1.0.1", "--metric", "auc=nan", "-R", reg, code=2).stderr
    )
    err = cli("evaluate", "fraud", "1.0.1", "--metric", "auc=1", "--environment", "Prod!", "-R", reg, code=2).stderr
    assert "environment name" in err
    assert state(reg) == before


def test_history_metrics_shows_best_latest_and_change(reg: Path, cli: Cli) -> None:
    api.evaluate("fraud", "1.0.1", metrics={"auc": 0.97}, environment="shadow", registry=reg)
    api.evaluate("fraud", "1.0.1", metrics={"auc": 0.92, "loss": 0.18}, environment="production", registry=reg)
    rows = json.loads(cli("history", "fraud", "--metrics", "--json", "-R", reg).stdout)
    by = {(r["version"], r["metric"]): r for r in rows}
    auc = by[("1.0.1", "auc")]
    assert (auc["registered"], auc["best"], auc["latest"], auc["evaluations"]) == (0.95, 0.97, 0.92, 2)
    assert auc["change"] == pytest.approx(-0.03) and auc["environment"] == "production"
    loss = by[("1.0.1", "loss")]
    assert loss["lower_is_better"] and loss["best"] == 0.18 and loss["latest"] == 0.18
    assert by[("1.0.0", "auc")]["evaluations"] == 0 and by[("1.0.0", "auc")]["latest"] == 0.90
    shadow = api.metric_history("fraud", environment="shadow", registry=reg)
    assert next(t for t in shadow if t.version == "1.0.1" and t.metric == "auc").latest == 0.97
    text = cli("history", "fraud", "--metrics", "-R", reg).stdout
    assert "loss (lower is better)" in text and "-0.03" in text
    assert "cannot be combined" in cli("history", "fraud", "--metrics", "--stage", "x", "-R", reg, code=2).stderr


def test_relative_drop() -> None:
    assert relative_drop(0.95, 0.855, lower_is_better=False) == pytest.approx(0.10)
    assert relative_drop(0.20, 0.30, lower_is_better=True) == pytest.approx(0.5)
    assert relative_drop(0.20, 0.10, lower_is_better=True) == pytest.approx(-0.5)
    assert relative_drop(0.0, -1.0, lower_is_better=False) == float("inf")
    assert relative_drop(0.0, 0.0, lower_is_better=False) == 0.0


def test_monitor_at_exactly_the_threshold_records_and_keeps_production(reg: Path, cli: Cli) -> None:
    # 0.95 -> 0.855 is a drop of exactly 10% (0.0999999... or 0.1000...01 in floats)
    result = cli("monitor", "fraud", "--metric", "auc=0.855", "--threshold", "0.1", "-R", reg, code=0)
    assert "Healthy: measurement recorded." in result.stdout
    assert stages(reg)["production"] == "1.0.1"
    evaluations = api.show("fraud@1.0.1", registry=reg).evaluations
    assert [(e.environment, dict(e.metrics)) for e in evaluations] == [("production", {"auc": 0.855})]
    assert trailers(reg)["Gitreg-Action"] == "evaluate"


def test_monitor_just_past_the_threshold_rolls_back_in_the_same_commit(reg: Path, cli: Cli) -> None:
    result = cli("monitor", "fraud", "--metric", "auc=0.8549", "--threshold", "0.1", "-R", reg, code=4)
    assert "Rolled back production from 1.0.1 to 1.0.0" in result.stdout
    assert stages(reg)["production"] == "1.0.0"
    changed = git(reg, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(changed) == ["models/fraud/stages/production.yaml", "models/fraud/versions/1.0.1.yaml"]
    t = trailers(reg)
    assert (t["Gitreg-Action"], t["Gitreg-Version"], t["Gitreg-From"]) == ("rollback", "1.0.0", "1.0.1")
    assert "auc 0.8549 is 10.0% worse than registered 0.95" in t["Gitreg-Reason"]
    assert api.show("fraud@1.0.1", registry=reg).evaluations[-1].metrics["auc"] == 0.8549
    assert api.check(base="HEAD~1", registry=reg).ok  # the checker sees a rollback plus an appended evaluation
    assert git(reg, "tag", "-l", "fraud#production*").splitlines()[-1].startswith("fraud#production")


def test_monitor_threshold_comes_from_the_model_then_the_default(reg: Path, cli: Cli) -> None:
    cli("monitor", "fraud", "--metric", "auc=0.90", "-R", reg, code=4)  # 5.3% worse: past the default 5%
    assert stages(reg)["production"] == "1.0.0"
    api.promote("fraud", "1.0.1", to="production", force_degraded="the threshold was too tight", registry=reg)
    api.set_model("fraud", monitor_threshold=0.2, registry=reg)
    cli("monitor", "fraud", "--metric", "auc=0.80", "-R", reg, code=0)  # 15.8% < 20%
    assert stages(reg)["production"] == "1.0.1"


def test_monitor_lower_is_better_metric_rolls_back_when_it_rises(reg: Path, cli: Cli) -> None:
    cli("monitor", "fraud", "--metric", "loss=0.21", "-R", reg, code=0)  # +5% of 0.20: equal, kept
    assert stages(reg)["production"] == "1.0.1"
    cli("monitor", "fraud", "--metric", "loss=0.25", "-R", reg, code=4)
    assert stages(reg)["production"] == "1.0.0"


def test_monitor_dry_run_writes_nothing(reg: Path, cli: Cli) -> None:
    before = state(reg)
    doc = json.loads(cli("monitor", "fraud", "--metric", "auc=0.5", "--dry-run", "--json", "-R", reg, code=4).stdout)
    assert doc["outcome"] == "rolled-back" and doc["rolled_back_to"] == "1.0.0" and doc["dry_run"]
    assert doc["checks"][0]["degraded"] and doc["checks"][0]["drop"] == pytest.approx(0.45 / 0.95)
    assert state(reg) == before


def test_monitor_without_an_earlier_holder_records_and_exits_5(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("solo", artifact, metrics={"auc": 0.9}, registry=registry)
    api.promote("solo", "1.0.0", to="staging", registry=registry)
    api.promote("solo", "1.0.0", to="production", registry=registry)
    result = cli("monitor", "solo", "--metric", "auc=0.5", "-R", registry, code=5)
    assert "no rollback is possible" in result.stdout and "no earlier holder" in result.stdout
    assert len(api.show("solo@1.0.0", registry=registry).evaluations) == 1
    assert stages(registry)["production"] == "1.0.0"


def test_monitor_refuses_what_it_cannot_judge(reg: Path, cli: Cli) -> None:
    before = state(reg)
    assert (
        "no registered value for metric 'f1'" in cli("monitor", "fraud", "--metric", "f1=0.1", "-R", reg, code=1).stderr
    )
    err = cli("monitor", "fraud", "--metric", "auc=0.9", "--version", "1.0.0", "-R", reg, code=1).stderr
    assert "held by 1.0.1, not 1.0.0" in err
    assert (
        "invalid threshold"
        in cli("monitor", "fraud", "--metric", "auc=1", "--threshold", "-1", "-R", reg, code=2).stderr
    )
    assert (
        "nothing to monitor"
        in cli("monitor", "fraud", "--metric", "auc=1", "--stage", "development", "-R", reg, code=1).stderr
    )
    with pytest.raises(NotFoundError):
        api.monitor("nope", metrics={"auc": 1.0}, registry=reg)
    assert state(reg) == before


# -- deploy ----------------------------------------------------------------------


def test_deploy_best_promotes_the_best_eligible_version(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.0", to="production", reason="back", registry=reg)  # rollback-style move
    out = cli("deploy", "fraud", "--dry-run", "-R", reg).stdout
    assert "Chosen: 1.0.1" in out and "stage order" in out  # 1.0.2 never held staging
    assert stages(reg)["production"] == "1.0.0"
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    decision = api.deploy("fraud", registry=reg)
    assert decision.chosen == "1.0.2" and decision.moved is not None and decision.moved.commit
    assert stages(reg)["production"] == "1.0.2"
    assert trailers(reg)["Gitreg-Reason"].startswith("deploy (best, by auc): 1.0.2 beats 1.0.0 by 0.07")
    again = api.deploy("fraud", registry=reg)
    assert again.chosen is None and "scores at least as well" in again.why


def test_deploy_conservative_needs_the_margin(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    before = state(reg)
    doc = json.loads(
        cli("deploy", "fraud", "--strategy", "conservative", "--min-improvement", "0.03", "--json", "-R", reg).stdout
    )
    assert doc["chosen"] is None and "less than the required 0.03" in doc["why"] and doc["promotion"] is None
    assert state(reg) == before
    # 0.97 - 0.95 is 0.02 up to float rounding: the margin is met at equality
    # relative: 0.97 is 2.1 % above 0.95
    pct = ("deploy", "fraud", "--strategy", "conservative", "--min-improvement-pct")
    doc = json.loads(cli(*pct, "2.5", "--json", "-R", reg).stdout)
    assert doc["chosen"] is None and doc["min_improvement_pct"] == 2.5
    assert "2.11% of the holder's score, less than the required 2.5%" in doc["why"]
    assert state(reg) == before
    decision = api.deploy("fraud", strategy="conservative", min_improvement=0.02, min_improvement_pct=2, registry=reg)
    assert decision.chosen == "1.0.2" and stages(reg)["production"] == "1.0.2"


def test_deploy_ranks_lower_is_better_metrics_and_skips_failing_gates(reg: Path) -> None:
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    api.promote("fraud", "1.0.0", to="production", registry=reg)
    decision = api.deploy("fraud", metric="loss", dry_run=True, registry=reg)
    assert decision.lower_is_better and [c.version for c in decision.candidates] == ["1.0.1", "1.0.2"]
    assert decision.chosen == "1.0.1"
    api.set_model("fraud", gates={"production": {"max_loss": 0.22}}, registry=reg)
    decision = api.deploy("fraud", metric="auc", dry_run=True, registry=reg)
    assert decision.chosen == "1.0.1"  # 1.0.2 scores higher but fails max_loss
    failing = next(c for c in decision.candidates if c.version == "1.0.2")
    assert not failing.eligible and "max_loss" in failing.why


def test_deploy_refuses_bad_input(reg: Path, cli: Cli) -> None:
    before = state(reg)
    assert "--min-improvement applies" in cli("deploy", "fraud", "--min-improvement", "1", "-R", reg, code=2).stderr
    conservative = ("deploy", "fraud", "--strategy", "conservative")
    assert "not negative" in cli(*conservative, "--min-improvement", "-1", "-R", reg, code=2).stderr
    assert "finite" in cli(*conservative, "--min-improvement-pct", "nan", "-R", reg, code=2).stderr
    assert "finite" in cli(*conservative, "--min-improvement", "inf", "-R", reg, code=2).stderr
    assert (
        "--min-improvement-pct applies"
        in cli("deploy", "fraud", "--min-improvement-pct", "1", "-R", reg, code=2).stderr
    )
    assert "unknown stage" in cli("deploy", "fraud", "--to", "prod", "-R", reg, code=2).stderr
    with pytest.raises(UsageError, match="name the metric"):
        api.deploy("fraud", to="staging", registry=reg)
    assert state(reg) == before


def test_deploy_is_refused_when_the_gates_move_under_it(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitreg.operations import deploy as deploying

    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    api.promote("fraud", "1.0.0", to="production", registry=reg)
    real = deploying.decide

    def decide_then_tighten(*args: object, **kwargs: object) -> deploying.Decision:
        decision = real(*args, **kwargs)  # type: ignore[arg-type]
        api.set_model("fraud", gates={"production": {"min_auc": 0.99}}, registry=reg)
        return decision

    monkeypatch.setattr(deploying, "decide", decide_then_tighten)
    with pytest.raises(GateFailed):
        api.deploy("fraud", registry=reg)
    assert stages(reg)["production"] == "1.0.0"


def test_a_conflicting_measurement_is_refused(reg: Path) -> None:
    with pytest.raises(ConflictError):
        api.monitor("fraud", metrics={"auc": 0.9}, version="1.0.0", registry=reg)
