"""Promotion gates (docs/design.md §1): a pure function of the gates, the candidate
and the stage's current holder. A missing metric, NaN or infinity fails.
``require_approvals: N`` counts the candidate's distinct approvers for the
stage, ``require_owner_approvals: N`` only those among the model's owners."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from gitreg.documents.manifest import Model, ModelVersion

Kind = Literal["min", "max", "min_improvement", "require"]
_PREFIXES: tuple[tuple[str, Kind], ...] = (
    ("min_improvement_", "min_improvement"),
    ("min_", "min"),
    ("max_", "max"),
    ("require_", "require"),
)


@dataclass(frozen=True)
class GateResult:
    gate: str  # the key as written in model.yaml, e.g. min_auc
    kind: Kind
    name: str  # the metric or metadata flag it reads
    threshold: float | bool
    actual: float | bool | str | None
    baseline: float | None  # the current holder's value, where there is one
    passed: bool
    reason: str

    @property
    def delta(self) -> float | None:
        if isinstance(self.actual, int | float) and not isinstance(self.actual, bool) and self.baseline is not None:
            return float(self.actual) - self.baseline
        return None


def parse_gate(key: str) -> tuple[Kind, str]:
    for prefix, kind in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return kind, key[len(prefix) :]
    raise ValueError(f"not a gate: {key!r}")


def _number(value: object) -> float | None:
    """A usable metric value, or None if missing/non-numeric/non-finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


APPROVALS = ("approvals", "owner_approvals")  # require_<these>: N, a count of approvers


def is_owner(identity: str, owners: Sequence[str]) -> bool:
    """Whether a git identity ('Name <email>') is one of ``owners``, listed
    by email or as the whole identity (emails compared without case)."""
    email = identity.rpartition("<")[2].rstrip(">").strip().lower()
    return any(o.strip() == identity or o.strip().lower() == email for o in owners) if email else False


def _approvals(
    key: str, name: str, needed: float | bool, candidate: ModelVersion, stage: str, owners: Sequence[str]
) -> GateResult:
    found = candidate.approvers(stage)
    if name == "owner_approvals":
        found = tuple(a for a in found if is_owner(a, owners))
    count = int(needed)
    passed = len(found) >= count
    who = "owners' approvals" if name == "owner_approvals" else "approvals"
    reason = "ok" if passed else f"{len(found)} of {count} {who} for {stage or 'this stage'}"
    return GateResult(key, "require", name, needed, len(found), None, passed, reason)


def evaluate_one(
    key: str,
    threshold: float | bool,
    candidate: ModelVersion,
    holder: ModelVersion | None,
    stage: str = "",
    owners: Sequence[str] = (),
) -> GateResult:
    kind, name = parse_gate(key)
    if kind == "require" and name in APPROVALS:
        return _approvals(key, name, threshold, candidate, stage, owners)
    if kind == "require":
        flag = candidate.metadata.get(name)
        passed = flag is True
        reason = (
            "ok"
            if passed
            else f"metadata {name!r} is {flag!r}, not true"
            if name in candidate.metadata
            else f"metadata {name!r} is missing"
        )
        return GateResult(key, kind, name, threshold, flag, None, passed, reason)
    raw = candidate.metrics.get(name)
    actual = _number(raw)
    baseline = _number(holder.metrics.get(name)) if holder is not None else None
    limit = float(threshold)
    if actual is None:
        reason = f"metric {name!r} is missing" if raw is None else f"metric {name!r} is {raw!r}, not a finite number"
        return GateResult(key, kind, name, threshold, raw, baseline, False, reason)
    if kind == "min":
        passed = actual >= limit
        return GateResult(
            key, kind, name, threshold, actual, baseline, passed, "ok" if passed else f"{actual:g} < {limit:g}"
        )
    if kind == "max":
        passed = actual <= limit
        return GateResult(
            key, kind, name, threshold, actual, baseline, passed, "ok" if passed else f"{actual:g} > {limit:g}"
        )
    if holder is None:
        return GateResult(key, kind, name, threshold, actual, None, True, "no current holder to improve on")
    if baseline is None:
        raw_base = holder.metrics.get(name)
        reason = f"current holder {holder.version} has no usable metric {name!r} ({raw_base!r})"
        return GateResult(key, kind, name, threshold, actual, None, False, reason)
    passed = actual >= baseline + limit
    reason = "ok" if passed else f"{actual:g} < {baseline:g} + {limit:g} (holder {holder.version})"
    return GateResult(key, kind, name, threshold, actual, baseline, passed, reason)


def evaluate(
    gates: Mapping[str, float | bool],
    candidate: ModelVersion,
    holder: ModelVersion | None,
    stage: str = "",
    owners: Sequence[str] = (),
) -> list[GateResult]:
    """Every gate's result, in the order model.yaml lists them (``stage``
    and the model's ``owners`` for the approval gates)."""
    return [evaluate_one(key, threshold, candidate, holder, stage, owners) for key, threshold in gates.items()]


def lower_is_better(model: Model | None, metric: str) -> bool:
    """A metric is better when lower if the model caps it with a ``max_``
    gate for some stage (loss, latency); otherwise higher is better."""
    return model is not None and any(f"max_{metric}" in stage_gates for stage_gates in model.gates.values())


def score(value: object) -> float | None:
    """A metric value usable for ranking, or None (missing, NaN, infinite)."""
    return _number(value)
