"""Performance after registration: evaluations appended to a version's
history (``evaluate``), the trend per version (``trend``), and production
monitoring that rolls a stage back when its holder degrades (``monitor``).

An evaluation is an annotation: the version's core stays as registered, and
the checker only lets later commits append to ``evaluations``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, timestamp
from gitreg.core.transaction import Change
from gitreg.documents import gates, inputs, manifest
from gitreg.documents.manifest import Evaluation, ModelVersion
from gitreg.documents.names import Version, check_model_name, check_name
from gitreg.errors import ConflictError, NotFoundError, UsageError
from gitreg.operations import annotate, lifecycle
from gitreg.operations.lifecycle import Plan

DEFAULT_THRESHOLD = 0.05


def _measurement(metrics: Mapping[str, float], environment: str | None) -> tuple[dict[str, float], str | None]:
    if not metrics:
        raise UsageError("no metrics given: pass at least one --metric NAME=VALUE (or --metrics FILE)")
    if environment is not None:
        check_name(environment, "environment name")
    return dict(metrics), environment


def _appended(snap: Snapshot, document: ModelVersion, evaluation: Evaluation) -> tuple[str, bytes, ModelVersion]:
    updated = dataclasses.replace(document, evaluations=(*document.evaluations, evaluation))
    return (*manifest.version_file(snap.models_dir, updated), updated)


# -- evaluate ------------------------------------------------------------------


def evaluate(
    registry: Registry,
    model: str,
    version: str,
    metrics: Mapping[str, float],
    environment: str | None = None,
) -> tuple[ModelVersion, str]:
    """Append one evaluation (now, by the git identity) to a version's
    history in one commit; returns the updated version and the commit."""
    check_model_name(model)
    wanted = str(Version.parse(version))
    measured, environment = _measurement(metrics, environment)
    who = registry.repo.identity()
    at = timestamp(time.time())

    def build(snap: Snapshot) -> Change:
        document = snap.version(model, wanted)
        if document is None:
            raise NotFoundError(f"{model} {wanted} is not registered")
        path, data, updated = _appended(snap, document, Evaluation(at, who, measured, environment))
        trailers = {"Gitreg-Action": "evaluate", "Gitreg-Model": model, "Gitreg-Version": wanted}
        if environment:
            trailers["Gitreg-Environment"] = environment
        where = f" in {environment}" if environment else ""
        update = _performance_update(model, wanted, measured, environment)
        return Change({path: data}, f"Evaluate {model} {wanted}{where}", trailers, result=updated, events=[update])

    applied = registry.apply(build)
    return applied.change.result, applied.commit


def _performance_update(
    model: str, version: str, measured: Mapping[str, float], environment: str | None, **more: Any
) -> tuple[str, dict[str, Any]]:
    """The ``gitreg.performance_update`` event a recorded measurement signals."""
    fields = {"model": model, "version": version, "metrics": dict(measured), "environment": environment}
    return "performance_update", fields | more


# -- the trend -------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """One metric of one version: registered value, best and latest measurement."""

    model: str
    version: str
    metric: str
    registered: float | None
    evaluations: int  # how many evaluations measured this metric
    best: float | None  # over the registered value and every evaluation
    latest: float | None  # the newest evaluation, else the registered value
    latest_at: str | None  # when the newest evaluation was made (None: none)
    environment: str | None  # where the newest evaluation was made
    lower_is_better: bool

    @property
    def change(self) -> float | None:
        """Latest minus registered (negative: lower than at registration)."""
        if self.latest is None or self.registered is None:
            return None
        return self.latest - self.registered


def trend(snap: Snapshot, model: str, environment: str | None = None) -> list[Trend]:
    """Per version (newest first) and metric, how its score developed after
    registration; with ``environment`` only evaluations made there count."""
    check_model_name(model)
    if environment is not None:
        check_name(environment, "environment name")
    versions = snap.all_versions(model)
    if not versions and snap.model(model) is None:
        raise NotFoundError(f"model {model!r} is not registered")
    model_doc = snap.model(model)
    rows = []
    for document in versions:
        evaluations = [e for e in document.evaluations if environment is None or e.environment == environment]
        names = list(document.metrics)
        names += [m for e in evaluations for m in e.metrics if m not in names]
        for name in dict.fromkeys(names):
            lower = gates.lower_is_better(model_doc, name)
            registered = gates.score(document.metrics.get(name))
            measured = [(e, v) for e in evaluations if (v := gates.score(e.metrics.get(name))) is not None]
            values = [v for v in (registered, *(v for _, v in measured)) if v is not None]
            best = (min(values) if lower else max(values)) if values else None
            last = measured[-1] if measured else None
            rows.append(
                Trend(
                    model,
                    document.version,
                    name,
                    registered,
                    len(measured),
                    best,
                    last[1] if last else registered,
                    last[0].at if last else None,
                    last[0].environment if last else None,
                    lower,
                )
            )
    return rows


# -- monitor ---------------------------------------------------------------------


@dataclass(frozen=True)
class MetricCheck:
    metric: str
    registered: float
    measured: float
    drop: float  # relative degradation: (registered - measured) / |registered|, sign flipped for lower-is-better
    lower_is_better: bool

    def degraded(self, threshold: float) -> bool:
        """Strictly worse than the threshold; a drop equal to it (up to float
        rounding: 0.95 -> 0.855 is exactly 10%) is not."""
        return self.drop > threshold and not math.isclose(self.drop, threshold, rel_tol=1e-9, abs_tol=1e-12)


@dataclass(frozen=True)
class Monitored:
    """What ``monitor`` found and did. ``outcome``: ``healthy`` (recorded),
    ``rolled-back`` (or, in a dry run, would be), ``degraded`` (worse than
    the threshold but no earlier active holder to roll back to)."""

    model: str
    stage: str
    version: str
    threshold: float
    checks: tuple[MetricCheck, ...]
    outcome: str
    rollback: Plan | None  # the pointer move, when degraded and possible
    note: str  # why no rollback was possible, when degraded
    commit: str | None  # None for a dry run
    tags: tuple[str, ...] = ()

    @property
    def degraded(self) -> tuple[MetricCheck, ...]:
        return tuple(c for c in self.checks if c.degraded(self.threshold))


def relative_drop(registered: float, measured: float, lower_is_better: bool) -> float:
    """How much worse ``measured`` is than ``registered``, as a fraction of it
    (negative when better). A registered 0 makes any worsening infinite."""
    worse = measured - registered if lower_is_better else registered - measured
    if registered == 0:
        return math.inf if worse > 0 else 0.0 if worse == 0 else -math.inf
    return worse / abs(registered)


def _checks(snap: Snapshot, holder: ModelVersion, measured: Mapping[str, float]) -> tuple[MetricCheck, ...]:
    model_doc = snap.model(holder.model)
    found = []
    for name, value in measured.items():
        registered = gates.score(holder.metrics.get(name))
        if registered is None:
            raise NotFoundError(
                f"{holder.model} {holder.version} has no registered value for metric {name!r} to compare with"
            )
        lower = gates.lower_is_better(model_doc, name)
        found.append(MetricCheck(name, registered, value, relative_drop(registered, value, lower), lower))
    return tuple(found)


def _reason(checks: Sequence[MetricCheck], threshold: float) -> str:
    parts = [
        f"{c.metric} {c.measured:g} is {c.drop:.1%} worse than registered {c.registered:g}"
        for c in checks
        if c.degraded(threshold)
    ]
    return f"monitor: {'; '.join(parts)} (threshold {threshold:.1%})"


def monitor(
    registry: Registry,
    model: str,
    metrics: Mapping[str, float],
    *,
    stage: str = "production",
    threshold: float | None = None,
    environment: str | None = None,
    version: str | None = None,
    dry_run: bool = False,
) -> Monitored:
    """Record a measurement of the stage's holder and, when a metric is worse
    than the holder's registered value by more than ``threshold`` (relative;
    default: the model's ``monitor.threshold``, else 5%), give the stage back
    to its previous holder in the same commit, the reason in the message.

    ``version`` is the version that was measured: if the stage has moved on
    since, nothing is written. The evaluation's environment defaults to the
    stage's name.
    """
    check_model_name(model)
    measured, environment = _measurement(metrics, environment)
    threshold = inputs.threshold(threshold)
    who = registry.repo.identity()
    at = timestamp(time.time())
    expected = [str(Version.parse(version))] if version is not None else []

    def assess(snap: Snapshot) -> tuple[Monitored, Change]:
        snap.check_stage(stage)
        pointer = snap.pointers(model).get(stage)
        if pointer is None:
            raise NotFoundError(f"no version of {model!r} holds stage {stage!r}: nothing to monitor")
        if not expected:
            expected.append(pointer.version)
        if pointer.version != expected[0]:
            raise ConflictError(
                f"{model} {stage} is held by {pointer.version}, not {expected[0]} (the version measured); "
                "nothing was recorded"
            )
        holder = snap.version(model, pointer.version)
        if holder is None:
            raise NotFoundError(f"{model} {pointer.version} holds {stage} but is not registered")
        model_doc = snap.model(model)
        limit = threshold
        if limit is None and model_doc is not None:
            limit = model_doc.monitor_threshold
        limit = DEFAULT_THRESHOLD if limit is None else limit
        checks = _checks(snap, holder, measured)
        path, data, measured_holder = _appended(snap, holder, Evaluation(at, who, measured, environment or stage))
        trailers = {"Gitreg-Action": "evaluate", "Gitreg-Model": model, "Gitreg-Version": holder.version}
        trailers["Gitreg-Environment"] = environment or stage
        result = Monitored(model, stage, holder.version, limit, checks, "healthy", None, "", None)
        drops = {c.metric: c.drop for c in checks}

        def update(outcome: str) -> tuple[str, dict[str, Any]]:
            return _performance_update(
                model, holder.version, measured, environment or stage, stage=stage, outcome=outcome, drop=drops
            )

        if not result.degraded:
            summary = f"Monitor {model} {holder.version} in {stage}: healthy"
            return result, Change({path: data}, summary, trailers, events=[update("healthy")])
        # the version is marked degraded, with the measurement as evidence, in the same commit
        evidence = ", ".join(f"{c.metric}={c.measured:g} (registered {c.registered:g})" for c in checks)
        mark = annotate.record(at=at, by=who, degraded=True, reason=_reason(checks, limit), evidence=evidence)
        path, data, _ = annotate.appended(snap, measured_holder, mark)
        try:
            plan, change = lifecycle.plan_rollback(snap, model, stage, None, _reason(checks, limit), who)
        except (NotFoundError, ConflictError) as exc:
            result = dataclasses.replace(result, outcome="degraded", note=str(exc))
            summary = f"Monitor {model} {holder.version} in {stage}: degraded, no rollback possible"
            trailers |= {"Gitreg-Reason": _reason(checks, limit)}
            return result, Change({path: data}, summary, trailers, events=[update("degraded")])
        result = dataclasses.replace(result, outcome="rolled-back", rollback=plan)
        files = dict(change.files) | {path: data}
        rolled: dict[str, Any] = {"model": model, "stage": stage, "from": holder.version, "to": plan.version}
        rolled |= {"reason": _reason(checks, limit), "evidence": evidence, "threshold": limit}
        signals = [update("rolled-back"), ("auto_rollback", rolled)]
        return result, dataclasses.replace(change, files=files, summary=f"{plan.title()} (monitor)", events=signals)

    if dry_run:
        return assess(registry.snapshot())[0]

    def build(snap: Snapshot) -> Change:
        result, change = assess(snap)
        return dataclasses.replace(change, result=result)

    applied = registry.apply(build)
    done: Monitored = applied.change.result
    return dataclasses.replace(done, commit=applied.commit, tags=applied.tag_names)
