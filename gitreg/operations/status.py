"""``gitreg status MODEL``: how a model is doing, and what to do about it.

Read from one snapshot: the holder of each stage (since when, by whom, its
latest measurement in that stage's environment), the versions marked
degraded or set aside (deprecated, archived), and plain recommendations,
each with the command that carries it out:

- ``promote``: ``deploy``'s ``best`` choice for a stage (ranked by its
  first metric gate, else any stage's, else the metric its holder was
  measured on there, else the holder's first registered metric), or the
  best-scoring version that is held back, and why;
- ``rollback``: a stage whose holder is marked degraded;
- ``measure``: a holder of a stage beyond the first with no measurement in
  its environment for ``stale_days`` (or none since its promotion);
- ``archive``: a degraded version that holds no stage;
- ``deprecate``: active versions that hold nothing, are older than every
  holder and were registered over ``stale_days`` ago (stale);
- ``gc``: versions the retention policy lets ``gitreg gc`` remove.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gitreg.core.snapshot import Snapshot, epoch
from gitreg.documents.manifest import Annotation, Evaluation, ModelVersion, StagePointer
from gitreg.documents.names import Version, check_model_name
from gitreg.documents.usage import Usage
from gitreg.errors import UsageError
from gitreg.operations import deploy, gc

DAY = 86400.0
STALE_DAYS = 7.0


@dataclass(frozen=True)
class Holder:
    stage: str
    pointer: StagePointer
    degraded: Annotation | None
    measured: Evaluation | None  # the latest evaluation in the stage's environment


@dataclass(frozen=True)
class SetAside:
    version: str
    state: str  # degraded, deprecated, archived
    why: str  # the degraded mark's reason ("" for the others)
    at: str  # when it was marked (the registration time for the others)


@dataclass(frozen=True)
class Recommendation:
    action: str  # promote, rollback, measure, archive, deprecate, gc
    stage: str | None
    versions: tuple[str, ...]
    why: str
    command: str


@dataclass(frozen=True)
class Status:
    model: str
    versions: int
    latest: str | None
    holders: tuple[Holder, ...]
    set_aside: tuple[SetAside, ...]
    recommendations: tuple[Recommendation, ...]
    stale_days: float
    last_used: Usage | None = None  # the last recorded use (pull --record-usage)


def _age(seconds: float) -> str:
    hours = seconds / 3600
    if hours < 1:
        return "less than an hour"
    return f"{hours:.0f} hour(s)" if hours < 48 else f"{hours / 24:.0f} days"


def _measured(version: ModelVersion, environment: str) -> Evaluation | None:
    return next((e for e in reversed(version.evaluations) if e.environment == environment), None)


def _rank_metric(snap: Snapshot, model: str, stage: str, holder: Holder | None) -> str | None:
    """What to rank a stage's candidates by: the stage's first metric gate,
    else the first of any stage, else what its holder was measured on there,
    else the holder's first registered metric."""
    described = snap.model(model)
    for where in [stage, *(described.gates if described else ())]:
        metric = deploy.default_metric(described, where)
        if metric is not None:
            return metric
    if holder is None:
        return None
    if holder.measured is not None and holder.measured.metrics:
        return next(iter(holder.measured.metrics))
    document = snap.version(model, holder.pointer.version)
    return next(iter(document.metrics), None) if document is not None else None


def _promotion(snap: Snapshot, model: str, stage: str, holder: Holder | None, who: str) -> Recommendation | None:
    """``deploy --strategy best``'s answer for ``stage``, as a recommendation."""
    metric = _rank_metric(snap, model, stage, holder)
    try:
        decision = deploy.decide(snap, model, stage, "best", metric, None, who)
    except UsageError:  # no metric to rank by, or nothing to rank
        return None
    if decision.chosen is not None:
        command = f"gitreg deploy {model} --to {stage} --metric {decision.metric}"
        return Recommendation("promote", stage, (decision.chosen,), decision.why, command)
    better = [
        c
        for c in decision.candidates
        if not c.eligible
        and c.score is not None
        and c.why not in ("deprecated", "archived", "degraded")
        and (
            decision.holder_score is None
            or (c.score < decision.holder_score if decision.lower_is_better else c.score > decision.holder_score)
        )
    ]
    if not better:
        return None
    best = better[0]
    why = f"{best.version} scores {best.score:g} {decision.metric} but is held back: {best.why}"
    return Recommendation("promote", stage, (best.version,), why, f"gitreg promote {model} {best.version} --to {stage}")


def _set_aside(version: ModelVersion) -> SetAside:
    mark = version.degraded if version.state == "degraded" else None
    if mark is not None:
        return SetAside(version.version, "degraded", mark.reason, mark.at)
    return SetAside(version.version, version.state, "", version.created_at)


def _stale_holders(
    model: str, holders: Sequence[Holder], first: str, now: float, days: float
) -> Iterator[Recommendation]:
    for holder in holders:
        if holder.stage == first:  # where versions start: nobody measures it
            continue
        since = max(epoch(holder.pointer.promoted_at), epoch(holder.measured.at) if holder.measured else 0.0)
        if (now - since) / DAY > days:
            age = _age(now - since)
            what = f"last measured {age} ago" if holder.measured else f"not measured since its promotion {age} ago"
            why = f"{holder.stage}'s holder {holder.pointer.version} is {what}"
            command = f"gitreg monitor {model} --stage {holder.stage} --metric NAME=VALUE"
            yield Recommendation("measure", holder.stage, (holder.pointer.version,), why, command)


def _clean_up(
    snap: Snapshot, model: str, versions: Sequence[ModelVersion], held: set[str], now: float, days: float
) -> Iterator[Recommendation]:
    for v in versions:
        mark = v.degraded
        if mark is not None and v.status == "active" and v.version not in held:
            why = f"{v.version} is degraded ({mark.reason}) and holds no stage"
            yield Recommendation("archive", None, (v.version,), why, f"gitreg archive {model} {v.version}")
    if held:
        oldest_holder = min(Version.parse(v) for v in held)
        stale = [
            v.version
            for v in versions
            if v.state == "active"
            and v.version not in held
            and Version.parse(v.version) < oldest_holder
            and (now - epoch(v.created_at)) / DAY > days
        ]
        if stale:
            why = (
                f"{len(stale)} active version(s) hold nothing, are older than every holder "
                f"and were registered over {days:g} days ago"
            )
            yield Recommendation("deprecate", None, tuple(stale), why, f"gitreg deprecate {model} VERSION")
    if snap.config.retention is not None:
        expired = [v.version for v in gc.review(snap, now, [model]) if v.expired]
        if expired:
            why = f"the retention policy lets gc remove {len(expired)} version(s)"
            yield Recommendation("gc", None, tuple(expired), why, "gitreg gc --dry-run")


def status(snap: Snapshot, model: str, who: str, *, stale_days: float = STALE_DAYS, now: float | None = None) -> Status:
    """The model's status at ``snap`` (``now``: the time staleness is judged at)."""
    check_model_name(model)
    if not 0 < stale_days < 100000:
        raise UsageError(f"invalid --stale-days {stale_days!r}: a positive number of days")
    now = time.time() if now is None else now
    versions = snap.all_versions(model)
    if not versions and snap.model(model) is None:
        raise snap.unknown_model(model)
    by_version = {v.version: v for v in versions}
    pointers = snap.pointers(model)
    holders = [
        Holder(stage, pointers[stage], document.degraded, _measured(document, stage))
        for stage in snap.config.stages
        if stage in pointers and (document := by_version.get(pointers[stage].version)) is not None
    ]
    set_aside = [_set_aside(v) for v in versions if v.state != "active"]
    found = [
        Recommendation(
            "rollback",
            h.stage,
            (h.pointer.version,),
            f"{h.stage}'s holder {h.pointer.version} is marked degraded: {h.degraded.reason}",
            f"gitreg rollback {model} --stage {h.stage}",
        )
        for h in holders
        if h.degraded is not None
    ]
    held_by = {h.stage: h for h in holders}
    for stage in snap.config.stages[1:]:  # the first stage is where versions start
        promotion = _promotion(snap, model, stage, held_by.get(stage), who)
        if promotion is not None:
            found.append(promotion)
    found += _stale_holders(model, holders, snap.config.stages[0], now, stale_days)
    found += _clean_up(snap, model, versions, {h.pointer.version for h in holders}, now, stale_days)
    latest = str(snap.versions(model)[-1]) if versions else None
    return Status(model, len(versions), latest, tuple(holders), tuple(set_aside), tuple(found), stale_days)
