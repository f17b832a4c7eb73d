from __future__ import annotations

import math

import pytest

from gitreg.documents import gates
from gitreg.documents.gates import GateResult, parse_gate
from gitreg.documents.manifest import Artifact, Model, ModelVersion


def evaluate(
    stage_gates: dict[str, float | bool],
    candidate: ModelVersion,
    holder: ModelVersion | None,
    other: dict[str, float | bool] | None = None,
) -> list[GateResult]:
    """The gates as a model sets them for production (``other``: another stage's)."""
    model = Model("fraud", gates={"production": stage_gates, "staging": other or {}})
    return gates.evaluate(model, "production", candidate, holder)


def version(
    metrics: dict[str, float] | None = None, metadata: dict[str, object] | None = None, v: str = "1.0.0"
) -> ModelVersion:
    return ModelVersion(
        "fraud",
        v,
        "2026-01-01T00:00:00Z",
        "A <a@b.c>",
        Artifact("m", "0" * 32, 1, "s"),
        metrics=metrics or {},
        metadata=metadata or {},  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        ("min_auc", ("min", "auc")),
        ("max_latency_ms", ("max", "latency_ms")),
        ("min_improvement_auc", ("min_improvement", "auc")),
        ("min_improvement_pct_auc", ("min_improvement_pct", "auc")),
        ("require_approved", ("require", "approved")),
        ("min_train.loss", ("min", "train.loss")),
    ],
)
def test_parse(key: str, parsed: tuple[str, str]) -> None:
    assert parse_gate(key) == parsed


@pytest.mark.parametrize(
    ("gate", "threshold", "metrics", "passed"),
    [
        ("min_auc", 0.9, {"auc": 0.9}, True),
        ("min_auc", 0.9, {"auc": 0.8999}, False),
        ("max_latency", 50, {"latency": 50}, True),
        ("max_latency", 50, {"latency": 51}, False),
        ("min_auc", 0.9, {}, False),
        ("max_latency", 50, {}, False),
        ("min_auc", 0.9, {"auc": math.nan}, False),
        ("max_latency", 50, {"latency": math.nan}, False),
        ("min_auc", 0.9, {"auc": math.inf}, False),
        ("max_latency", 50, {"latency": -math.inf}, False),
    ],
)
def test_absolute_gates(gate: str, threshold: float, metrics: dict[str, float], passed: bool) -> None:
    (result,) = evaluate({gate: threshold}, version(metrics), None)
    assert result.passed is passed
    assert result.reason == "ok" if passed else result.reason != "ok"


@pytest.mark.parametrize(
    ("candidate", "holder", "passed"),
    [
        ({"auc": 0.92}, {"auc": 0.90}, True),
        ({"auc": 0.915}, {"auc": 0.90}, False),
        ({"auc": 0.95}, {}, False),  # the holder has no such metric
        ({"auc": 0.95}, {"auc": math.nan}, False),
        ({}, {"auc": 0.9}, False),
        ({"auc": math.nan}, {"auc": 0.9}, False),
    ],
)
def test_improvement_gate(candidate: dict[str, float], holder: dict[str, float], passed: bool) -> None:
    (result,) = evaluate({"min_improvement_auc": 0.02}, version(candidate), version(holder, v="0.9.0"))
    assert result.passed is passed


def test_improvement_gate_with_no_holder_passes_and_says_so() -> None:
    (result,) = evaluate({"min_improvement_auc": 0.02}, version({"auc": 0.5}), None)
    assert result.passed and result.reason == "no current holder to improve on"
    (missing,) = evaluate({"min_improvement_auc": 0.02}, version({}), None)
    assert not missing.passed


@pytest.mark.parametrize(
    ("pct", "candidate", "holder", "passed"),
    [
        (2, 0.918, 0.90, True),  # +2.0 %
        (2, 0.917, 0.90, False),  # +1.9 %
        (0, 0.90, 0.90, True),
        (-1, 0.892, 0.90, True),  # a tolerated loss of 0.9 %
        (-1, 0.89, 0.90, False),
        (10, -0.45, -0.50, True),  # +10 % of |-0.5|
        (5, 0.1, 0.0, True),  # any gain on 0
        (5, 0.0, 0.0, False),
    ],
)
def test_relative_improvement_gate(pct: float, candidate: float, holder: float, passed: bool) -> None:
    (result,) = evaluate(
        {"min_improvement_pct_auc": pct}, version({"auc": candidate}), version({"auc": holder}, v="0.9")
    )
    assert result.passed is passed, result.reason
    assert result.kind == "min_improvement_pct" and result.baseline == holder
    assert (result.reason == "ok") is passed and ("holder 0.9" in result.reason) is not passed


def test_improvement_is_a_decrease_for_a_metric_the_model_caps() -> None:
    cap = {"max_loss": 1.0}  # another stage caps loss: lower is better
    faster = version({"loss": 0.45})
    slower = version({"loss": 0.55})
    holder = version({"loss": 0.5}, v="0.9")
    assert [r.passed for r in evaluate({"min_improvement_pct_loss": 5}, faster, holder, cap)] == [True]
    assert [r.passed for r in evaluate({"min_improvement_pct_loss": 5}, slower, holder, cap)] == [False]
    assert [r.passed for r in evaluate({"min_improvement_loss": 0.05}, faster, holder, cap)] == [True]
    assert [r.passed for r in evaluate({"min_improvement_loss": 0.05}, slower, holder, cap)] == [False]
    # uncapped, the same gain is a loss
    assert [r.passed for r in evaluate({"min_improvement_pct_loss": 5}, faster, holder)] == [False]


def test_delta_against_the_holder() -> None:
    (result,) = evaluate({"min_auc": 0.5}, version({"auc": 0.93}), version({"auc": 0.9}, v="0.9.0"))
    assert result.baseline == 0.9 and result.delta == pytest.approx(0.03)


@pytest.mark.parametrize(
    ("metadata", "passed", "reason"),
    [
        ({"approved": True}, True, "ok"),
        ({"approved": False}, False, "is False, not true"),
        ({"approved": "true"}, False, "is 'true', not true"),
        ({"approved": 1}, False, "is 1, not true"),
        ({}, False, "is missing"),
    ],
)
def test_require_gate(metadata: dict[str, object], passed: bool, reason: str) -> None:
    (result,) = evaluate({"require_approved": True}, version(metadata=metadata), None)
    assert result.passed is passed and reason in result.reason


def test_results_keep_model_yaml_order() -> None:
    results = evaluate({"max_latency": 9, "min_auc": 0.1, "require_ok": True}, version({"latency": 1, "auc": 1}), None)
    assert [r.gate for r in results] == ["max_latency", "min_auc", "require_ok"]
    assert [r.passed for r in results] == [True, True, False]
