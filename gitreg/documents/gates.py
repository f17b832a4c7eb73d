"""Promotion gates (docs/design.md §1): a pure function of the model (its
gates and owners), the candidate and the stage's current holder. A missing
metric, NaN or infinity fails.

``min_improvement_<metric>`` asks for a gain over the holder in the metric's
own units, ``min_improvement_pct_<metric>`` for a gain in percent of the
holder's value (negative: a tolerated loss); a gain is a decrease for a
metric the model caps with a ``max_`` gate (loss, latency), else an
increase. ``require_approvals: N`` counts the candidate's distinct
approvers for the stage, ``require_owner_approvals: N`` only those among
the model's owners.

``require_signature: true`` and ``require_input_example: true`` ask for
the version's I/O signature and input example (not a metadata flag; the
cryptographic signing policy is model.yaml's top-level
``require_signature``), and ``signature_compatible: true`` refuses a
candidate whose inputs would refuse requests the holder's accepted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gitreg.documents import interface
from gitreg.documents.manifest import Model, ModelVersion

Kind = Literal["min", "max", "min_improvement", "min_improvement_pct", "require", "compatible"]
COMPATIBLE = "signature_compatible"
INTERFACE = {"signature": "an I/O signature", "input_example": "an input example"}  # require_<these>: the version's own
_PREFIXES: tuple[tuple[str, Kind], ...] = (
    ("min_improvement_pct_", "min_improvement_pct"),
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
    if key == COMPATIBLE:
        return "compatible", "signature"
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
    lower: bool = False,
) -> GateResult:
    """One gate's result (``lower``: the metric is better when lower)."""
    kind, name = parse_gate(key)
    if kind == "require" and name in APPROVALS:
        return _approvals(key, name, threshold, candidate, stage, owners)
    if kind == "compatible":
        return _compatible(key, candidate, holder)
    if kind == "require" and name in INTERFACE:
        present = getattr(candidate, name) is not None
        reason = "ok" if present else f"the version declares no {INTERFACE[name].removeprefix('an ')}"
        return GateResult(key, kind, name, threshold, present, None, present, reason)
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
    passed, reason = improved(actual, baseline, limit, percent=kind == "min_improvement_pct", lower=lower)
    reason = f"{reason} (holder {holder.version})" if reason else "ok"
    return GateResult(key, kind, name, threshold, actual, baseline, passed, reason)


def _compatible(key: str, candidate: ModelVersion, holder: ModelVersion | None) -> GateResult:
    if holder is None:
        return GateResult(key, "compatible", "signature", True, None, None, True, "no current holder to compare with")
    if holder.version == candidate.version:
        return GateResult(key, "compatible", "signature", True, "same version", None, True, "ok")
    problems = interface.incompatible(holder.signature, candidate.signature)
    if not problems:
        return GateResult(key, "compatible", "signature", True, "compatible", None, True, "ok")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    reason = f"breaks callers of holder {holder.version}: {problems[0]}{more}"
    return GateResult(key, "compatible", "signature", True, "breaking", None, False, reason)


def improved(value: float, baseline: float, needed: float, *, percent: bool, lower: bool) -> tuple[bool, str]:
    """Whether ``value`` improves on ``baseline`` by at least ``needed`` (in
    the metric's units, or in percent of ``baseline``), and if not why not.
    Shared by the improvement gates and ``deploy --strategy conservative``."""
    gain = baseline - value if lower else value - baseline
    if percent:
        if baseline == 0:
            passed = gain > 0 or (gain == 0 and needed <= 0)
            return passed, "" if passed else f"{value:g} is no improvement on 0, and a percentage of 0 is undefined"
        pct = gain / abs(baseline) * 100
        passed = pct >= needed or math.isclose(pct, needed, rel_tol=1e-9, abs_tol=1e-12)
        return passed, "" if passed else f"{value:g} improves on {baseline:g} by {pct:.3g}%, less than {needed:g}%"
    passed = gain >= needed or math.isclose(gain, needed, rel_tol=1e-9, abs_tol=1e-12)
    return passed, "" if passed else f"{value:g} improves on {baseline:g} by {gain:g}, less than {needed:g}"


def evaluate(model: Model | None, stage: str, candidate: ModelVersion, holder: ModelVersion | None) -> list[GateResult]:
    """Every gate ``model`` sets for ``stage``, in the order model.yaml lists
    them, judged on ``candidate`` against the stage's ``holder``."""
    if model is None:
        return []
    return [
        evaluate_one(key, threshold, candidate, holder, stage, model.owners, lower_is_better(model, parse_gate(key)[1]))
        for key, threshold in model.gates.get(stage, {}).items()
    ]


def lower_is_better(model: Model | None, metric: str) -> bool:
    """A metric is better when lower if the model caps it with a ``max_``
    gate for some stage (loss, latency); otherwise higher is better."""
    return model is not None and any(f"max_{metric}" in stage_gates for stage_gates in model.gates.values())


def score(value: object) -> float | None:
    """A metric value usable for ranking, or None (missing, NaN, infinite)."""
    return _number(value)
