from __future__ import annotations

import math

import pytest

from gitreg.documents.gates import evaluate, parse_gate
from gitreg.documents.manifest import Artifact, ModelVersion


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
