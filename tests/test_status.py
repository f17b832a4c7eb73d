"""`gitreg status MODEL`: holders, their measurements, what is set aside, and
recommendations that follow what happens to the model."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.operations import status as statusing
from gitreg.operations.status import Status
from tests.conftest import Cli, Setup, git, state

DAY = 86400.0


def _four_versions(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    for auc in (0.80, 0.90, 0.95, 0.97):
        api.register("fraud", artifact, metrics={"auc": auc}, registry=registry)
    api.set_model(
        "fraud", gates={"staging": {"min_auc": 0.85}, "production": {"require_approvals": 1}}, registry=registry
    )
    api.promote("fraud", "1.0.1", to="staging", registry=registry)
    api.approve("fraud", "1.0.1", stage="production", registry=registry)
    api.promote("fraud", "1.0.1", to="production", registry=registry)
    api.promote("fraud", "1.0.2", to="staging", registry=registry)


@pytest.fixture
def reg(build_registry: Callable[[Setup], Path]) -> Path:
    """fraud 1.0.0-1.0.3 (auc 0.80-0.97); 1.0.1 in production, 1.0.2 in staging;
    production needs one approval."""
    return build_registry(_four_versions)


def actions(found: Status) -> dict[tuple[str, str | None], tuple[str, ...]]:
    return {(r.action, r.stage): r.versions for r in found.recommendations}


def later(reg: Path, days: float) -> Status:
    registry = api.open_registry(reg)
    return statusing.status(registry.snapshot(), "fraud", "T <t@x>", now=time.time() + days * DAY)


def test_status_follows_the_model_through_its_life(reg: Path, cli: Cli) -> None:
    found = api.status("fraud", registry=reg)
    assert [(h.stage, h.pointer.version, h.measured) for h in found.holders] == [
        ("staging", "1.0.2", None),
        ("production", "1.0.1", None),
    ]
    # staging ranks by its min_auc gate, production (no metric gate) by the same metric
    assert actions(found) == {("promote", "staging"): ("1.0.3",), ("promote", "production"): ("1.0.3",)}
    assert found.recommendations[0].command == "gitreg deploy fraud --to staging --metric auc"
    production = found.recommendations[1]
    assert "1.0.3 scores 0.97 auc but is held back" in production.why and "stage order" in production.why

    api.monitor("fraud", metrics={"auc": 0.89}, registry=reg)  # healthy
    found = api.status("fraud", registry=reg)
    assert found.holders[1].measured is not None and found.holders[1].measured.metrics == {"auc": 0.89}

    api.promote("fraud", "1.0.3", to="staging", registry=reg)
    found = api.status("fraud", registry=reg)
    production = next(r for r in found.recommendations if r.stage == "production")
    assert production.versions == ("1.0.3",) and "0 of 1 approvals for production" in production.why
    assert production.command == "gitreg promote fraud 1.0.3 --to production"

    api.approve("fraud", "1.0.3", stage="production", registry=reg)
    found = api.status("fraud", registry=reg)
    assert actions(found) == {("promote", "production"): ("1.0.3",)}
    assert "1.0.3 beats 1.0.1 by 0.08 auc" in found.recommendations[0].why

    # a degradation with nothing to roll back to leaves a degraded holder
    api.monitor("fraud", metrics={"auc": 0.5}, registry=reg)
    found = api.status("fraud", registry=reg)
    assert actions(found)[("rollback", "production")] == ("1.0.1",)
    assert [(a.version, a.state) for a in found.set_aside] == [("1.0.1", "degraded")]
    assert "auc 0.5 is" in found.set_aside[0].why

    api.deploy("fraud", registry=reg, metric="auc")
    found = api.status("fraud", registry=reg)
    assert actions(found) == {("archive", None): ("1.0.1",)}  # degraded, holds nothing now
    api.archive("fraud", "1.0.1", registry=reg)
    assert api.status("fraud", registry=reg).recommendations == ()


def test_stale_holders_and_versions_and_expired_ones(reg: Path) -> None:
    api.monitor("fraud", metrics={"auc": 0.9}, registry=reg)
    assert {r.action for r in later(reg, 3).recommendations} == {"promote"}
    found = later(reg, 8)
    measure = actions(found)[("measure", "production")]
    assert measure == ("1.0.1",) and ("measure", "staging") in actions(found)
    why = next(r.why for r in found.recommendations if r.stage == "production" and r.action == "measure")
    assert why == "production's holder 1.0.1 is last measured 8 days ago"
    assert actions(found)[("deprecate", None)] == ("1.0.0",)  # unheld, older than every holder
    config = reg / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + "retention:\n  max_versions: 2\n")
    git(reg, "commit", "-qam", "retention")
    assert actions(later(reg, 8))[("gc", None)] == ("1.0.0",)  # 1.0.1, 1.0.2 hold stages; 1.0.3 is newest


def test_status_from_the_cli(reg: Path, cli: Cli) -> None:
    before = state(reg)
    out = cli("status", "fraud", "-R", reg).stdout
    assert out.splitlines()[0] == "fraud: 4 version(s), latest 1.0.3"
    assert "Recommendations:\n  - promote: 1.0.3 beats 1.0.2 by 0.02 auc" in out
    assert "      gitreg deploy fraud --to staging --metric auc" in out
    doc = json.loads(cli("status", "fraud", "--stale-days", "2", "--json", "-R", reg).stdout)
    assert [h["version"] for h in doc["holders"]] == ["1.0.2", "1.0.1"] and doc["stale_days"] == 2
    assert doc["holders"][1]["latest_evaluation"] is None and doc["holders"][1]["degraded"] is False
    assert doc["recommendations"][0]["action"] == "promote"
    # the past: before staging had a holder
    past = json.loads(cli("status", "fraud", "--at", "HEAD~4", "--json", "-R", reg).stdout)
    assert past["holders"] == [] and past["recommendations"][0]["versions"] == ["1.0.3"]
    assert "did you mean 'fraud'" in cli("status", "frad", "-R", reg, code=1).stderr
    for bad in ("0", "-1", "nan", "inf"):
        assert "invalid --stale-days" in cli("status", "fraud", "--stale-days", bad, "-R", reg, code=2).stderr
    assert state(reg) == before
