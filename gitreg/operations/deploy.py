"""Deployment strategies: choose which version a stage should get, then
promote it through the normal gates (``lifecycle.plan_promote``).

``best``: the best-scoring eligible version, if it scores better than the
current holder. ``conservative``: the same candidate, but only if it beats
the holder by at least ``min_improvement`` (in the metric's own units, as
the ``min_improvement_`` gate reads it) and ``min_improvement_pct`` (in
percent of the holder's score, as ``min_improvement_pct_`` reads it). Eligible: active, not marked
degraded, not the holder, a finite value of the metric, the stage-order
policy met and every gate of the stage passed. A version's score is its
latest evaluation of the metric in the stage's environment (what
``gitreg monitor`` and ``gitreg evaluate --environment STAGE`` record) when
it has one, else its registered value.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import cast

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot
from gitreg.documents import gates
from gitreg.documents.manifest import Model, ModelVersion
from gitreg.documents.names import check_model_name
from gitreg.errors import GitregError, UsageError
from gitreg.operations import lifecycle
from gitreg.operations.lifecycle import Moved

STRATEGIES = ("best", "conservative")


@dataclass(frozen=True)
class Candidate:
    version: str
    score: float | None
    eligible: bool
    why: str  # why not eligible ("" when eligible)
    measured_at: str | None = None  # when the score was measured in the stage's environment (None: registered)


def score(version: ModelVersion, metric: str, environment: str) -> tuple[float | None, str | None]:
    """The version's latest evaluation of ``metric`` in ``environment`` and
    when it was made; else its registered value (and None)."""
    for evaluation in reversed(version.evaluations):
        if evaluation.environment == environment and metric in evaluation.metrics:
            return gates.score(evaluation.metrics[metric]), evaluation.at
    return gates.score(version.metrics.get(metric)), None


@dataclass(frozen=True)
class Decision:
    model: str
    stage: str
    strategy: str
    metric: str
    lower_is_better: bool
    min_improvement: float
    min_improvement_pct: float | None
    holder: str | None
    holder_score: float | None
    candidates: tuple[Candidate, ...]  # ranked: eligible first, best first
    chosen: str | None  # None: the stage stays as it is
    why: str
    moved: Moved | None = None  # the promotion (a plan only, in a dry run)


def default_metric(model: Model | None, stage: str) -> str | None:
    """The metric of the stage's first numeric gate, if it has one."""
    for key in model.gates.get(stage, {}) if model else {}:
        kind, name = gates.parse_gate(key)
        if kind not in ("require", "compatible"):
            return name
    return None


def _margin(option: str, value: float | None, strategy: str) -> None:
    if value is None:
        return
    if strategy != "conservative":
        raise UsageError(f"--{option} applies to the conservative strategy only")
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"invalid --{option} {value!r}: a finite number, not negative")


def decide(
    snap: Snapshot,
    model: str,
    stage: str,
    strategy: str,
    metric: str | None,
    min_improvement: float | None,
    who: str,
    min_improvement_pct: float | None = None,
    only: str | None = None,
    force_degraded: str | None = None,
) -> Decision:
    """Rank the versions and choose one (pure: reads ``snap`` only);
    ``only``: the one version that may be chosen (auto-deploy's new one);
    ``force_degraded``: versions marked degraded are ranked too (a chosen
    one's promotion clears the mark with this reason)."""
    check_model_name(model)
    snap.check_stage(stage)
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}: use best or conservative")
    _margin("min-improvement", min_improvement, strategy)
    _margin("min-improvement-pct", min_improvement_pct, strategy)
    margin = min_improvement if min_improvement is not None else 0.0
    model_doc = snap.model(model)
    name = metric or default_metric(model_doc, stage)
    if name is None:
        raise UsageError(f"model {model!r} has no metric gate for {stage}: name the metric to rank by with --metric")
    lower = gates.lower_is_better(model_doc, name)
    versions = snap.all_versions(model)
    if not versions:
        raise UsageError(f"model {model!r} has no versions to deploy")
    pointer = snap.pointers(model).get(stage)
    holder = next((v for v in versions if pointer and v.version == pointer.version), None)
    holder_score = score(holder, name, stage)[0] if holder else None
    candidates = []
    for v in versions:
        if (holder is not None and v.version == holder.version) or (only is not None and v.version != only):
            continue
        value, measured_at = score(v, name, stage)
        why = ""
        if v.state != "active" and not (v.state == "degraded" and force_degraded):
            why = v.state
        elif value is None:
            why = f"no usable {name}"
        else:
            plan, _ = lifecycle.plan_promote(snap, model, v.version, stage, "", who, force_degraded)
            if not plan.allowed:
                why = "; ".join(plan.failures())
        candidates.append(Candidate(v.version, value, not why, why, measured_at))

    def rank(c: Candidate) -> tuple[int, float]:
        if c.score is None:
            return (2, 0.0)
        return (0 if c.eligible else 1, c.score if lower else -c.score)

    ranked = tuple(sorted(candidates, key=rank))
    top = ranked[0] if ranked and ranked[0].eligible else None
    chosen, why = None, ""
    if top is None and only is not None:
        why = f"{only} is not eligible for {stage}: {ranked[0].why}" if ranked else f"{only} already holds {stage}"
    elif top is None:
        why = f"no eligible version for {stage}"
    elif holder is None or holder_score is None:
        chosen, why = top.version, f"{stage} has no holder with a usable {name}"
    else:
        top_score = cast(float, top.score)  # eligible versions have one
        gain = holder_score - top_score if lower else top_score - holder_score
        if gain <= 0:
            why = (
                f"{stage}'s holder {holder.version} ({name} {holder_score:g}) scores at least as well as {top.version}"
            )
        elif strategy == "conservative" and (
            short := _short(top_score, holder_score, margin, min_improvement_pct, lower)
        ):
            why = f"{top.version} beats {holder.version} by {gain:g} {name}, {short}"
        else:
            chosen, why = top.version, f"{top.version} beats {holder.version} by {gain:g} {name}"
    return Decision(
        model,
        stage,
        strategy,
        name,
        lower,
        margin,
        min_improvement_pct,
        holder.version if holder else None,
        holder_score,
        ranked,
        chosen,
        why,
    )


def _short(score: float, holder: float, margin: float, pct: float | None, lower: bool) -> str:
    """What the conservative strategy finds missing in ``score``'s gain over
    the holder's (``""``: nothing)."""
    if not gates.improved(score, holder, margin, percent=False, lower=lower)[0]:
        return f"less than the required {margin:g}"
    if pct is not None:
        passed, _ = gates.improved(score, holder, pct, percent=True, lower=lower)
        if not passed:
            relative = (holder - score if lower else score - holder) / abs(holder) * 100 if holder else math.inf
            return f"{relative:.3g}% of the holder's score, less than the required {pct:g}%"
    return ""


def deploy(
    registry: Registry,
    model: str,
    *,
    strategy: str = "best",
    stage: str = "production",
    metric: str | None = None,
    min_improvement: float | None = None,
    min_improvement_pct: float | None = None,
    reason: str = "",
    dry_run: bool = False,
    branch: str | None = None,
    force_degraded: str | None = None,
) -> Decision:
    """Choose a version by ``strategy`` and promote it to ``stage`` through
    its gates (``GateFailed`` if they refuse it at commit time); with
    ``force_degraded`` (a reason) versions marked degraded compete too."""
    if force_degraded is not None and not force_degraded.strip():
        raise UsageError("--force-degraded needs a reason")
    who = registry.repo.identity()
    snap = registry.snapshot()
    decision = decide(
        snap, model, stage, strategy, metric, min_improvement, who, min_improvement_pct, force_degraded=force_degraded
    )
    if decision.chosen is None:
        return decision
    why = reason or f"deploy ({strategy}, by {decision.metric}): {decision.why}"
    chosen = decision.chosen
    moved = lifecycle.move(
        registry,
        lambda snap, who: lifecycle.plan_promote(snap, model, chosen, stage, why, who, force_degraded),
        dry_run=dry_run,
        branch=branch,
    )
    return dataclasses.replace(decision, moved=moved)


@dataclass(frozen=True)
class AutoDeployed:
    """What ``auto_deploy`` in model.yaml did after a registration: the
    decision and the promotion (``moved``), or why there was none."""

    stage: str
    strategy: str
    version: str
    why: str
    decision: Decision | None = None
    moved: Moved | None = None


def after_registration(
    registry: Registry, model: str, version: str, *, branch: str | None = None
) -> AutoDeployed | None:
    """The model's ``auto_deploy``, for ``version`` just registered: promote
    it through the stage's gates (to a pull-request ``branch`` if given) when
    the strategy chooses it over the holder. None when the model sets no
    auto-deploy. Never raises for a refusal: the registration stands, and
    ``why`` says why the version was not promoted."""
    snap = registry.snapshot()
    described = snap.model(model)
    settings = described.auto_deploy if described is not None else None
    if settings is None:
        return None
    done = AutoDeployed(settings.stage, settings.strategy, version, "")
    if settings.metric is None and default_metric(described, settings.stage) is None:
        why = f"auto_deploy names no metric and {settings.stage} has no metric gate: set auto_deploy's metric"
        return dataclasses.replace(done, why=why)
    who = registry.repo.identity()
    try:
        decision = decide(
            snap,
            model,
            settings.stage,
            settings.strategy,
            settings.metric,
            settings.min_improvement,
            who,
            settings.min_improvement_pct,
            only=version,
        )
    except GitregError as exc:  # a setting the registry no longer accepts (a stage renamed, no metric)
        return dataclasses.replace(done, why=str(exc))
    if decision.chosen is None:
        return dataclasses.replace(done, why=decision.why, decision=decision)
    why = f"auto-deploy after registration ({settings.strategy}, by {decision.metric}): {decision.why}"
    try:
        moved = lifecycle.move(
            registry,
            lambda snap, who: lifecycle.plan_promote(snap, model, version, settings.stage, why, who),
            branch=branch,
        )
    except GitregError as exc:  # refused on the tip it would commit on (the gates moved meanwhile)
        return dataclasses.replace(done, why=str(exc), decision=decision)
    return dataclasses.replace(done, why=decision.why, decision=dataclasses.replace(decision, moved=moved), moved=moved)
