"""Moving versions through stages (pointer files) and changing their status.

Each operation is planned against one snapshot (``plan_*``: pure reads, also
the ``--dry-run`` output), then landed by ``Registry.apply``, which re-plans on
the tip it finally commits on, so a racing writer cannot slip past a gate.
"""

from __future__ import annotations

import dataclasses
import difflib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, timestamp
from gitreg.core.transaction import Change, TagSpec
from gitreg.documents import gates, layout, manifest, signatures, tags
from gitreg.documents.gates import GateResult
from gitreg.documents.manifest import ModelVersion, StagePointer
from gitreg.documents.names import Version, check_model_name
from gitreg.errors import ConflictError, GitregError, NotFoundError, UsageError
from gitreg.operations import annotate, datasets, history


@dataclass(frozen=True)
class OrderCheck:
    """The stage-order policy: a version must have held one of ``requires``."""

    stage: str
    requires: tuple[str, ...]
    held: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return bool(self.held)


@dataclass(frozen=True)
class Plan:
    action: str  # promote | demote | rollback | unassign
    model: str
    stage: str
    version: str | None  # the stage's holder afterwards (None: no holder)
    previous: str | None  # the holder before
    reason: str = ""
    gates: tuple[GateResult, ...] = ()
    order: OrderCheck | None = None
    removed: tuple[str, ...] = ()  # demote: stages the version leaves
    files: Mapping[str, bytes | None] = dataclasses.field(default_factory=dict)
    diff: str = ""
    transition: str | None = None  # why promotion.transitions refuses the move (None: it allows it)
    archived: str | None = None  # the replaced holder archived with the move (archive_replaced)

    @property
    def allowed(self) -> bool:
        gates_pass = all(g.passed for g in self.gates) and (self.order is None or self.order.passed)
        return gates_pass and self.transition is None

    def title(self) -> str:
        """One line saying what the move does (the commit's subject)."""
        if self.action == "unassign":
            return f"Unassign {self.stage} from {self.model} {self.previous}"
        if self.action == "rollback":
            return f"Roll back {self.model} {self.stage} from {self.previous or 'no holder'} to {self.version}"
        return f"{self.action.capitalize()} {self.model} {self.version} to {self.stage}"

    def failures(self) -> list[str]:
        found = [f"{g.gate}: {g.reason}" for g in self.gates if not g.passed]
        if self.order is not None and not self.order.passed:
            found.append(f"stage order: {self.stage} needs a version that has held {' or '.join(self.order.requires)}")
        if self.transition is not None:
            found.append(f"transition: {self.transition}")
        return found


class GateFailed(GitregError):
    """A promotion's gates or stage-order policy refused it; ``plan`` says how."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        what = "promotion" if plan.action == "promote" else plan.action
        super().__init__(f"{what} of {plan.model} {plan.version} to {plan.stage} refused: {'; '.join(plan.failures())}")


@dataclass(frozen=True)
class Moved:
    plan: Plan
    commit: str | None  # None for a dry run
    tags: tuple[str, ...] = ()
    branch: str | None = None  # the pull-request branch the commit went to
    pushed_to: str | None = None  # the remote the branch was pushed to


def _version(snap: Snapshot, model: str, version: str) -> ModelVersion:
    check_model_name(model)
    text = str(Version.parse(version))
    found = snap.version(model, text)
    if found is None:
        if not snap.versions(model) and snap.model(model) is None:
            raise snap.unknown_model(model)
        raise NotFoundError(f"{model} {text} is not registered")
    return found


def _require_active(version: ModelVersion, what: str) -> None:
    if version.status != "active":
        raise ConflictError(
            f"{version.model} {version.version} is {version.status}: archived and deprecated versions cannot {what}"
        )


def degraded_refusal(version: ModelVersion) -> str:
    """Why a version marked degraded may not be moved onto a stage."""
    mark = version.degraded
    why = mark.reason if mark is not None and mark.reason else "no reason given"
    return (
        f"{version.model} {version.version} is marked degraded ({why}): clear the mark first "
        "(gitreg annotate --clear-degraded --reason TEXT)"
    )


def _cleared(
    snap: Snapshot, version: ModelVersion, stage: str, force_degraded: str | None, who: str
) -> dict[str, bytes | None]:
    """Nothing for a version not marked degraded. For one that is: refused,
    unless ``force_degraded`` gives the reason to move it all the same; then
    the move's commit also clears the mark, that reason on the record."""
    if version.degraded is None:
        return {}
    if force_degraded is None or not force_degraded.strip():
        raise ConflictError(f"{degraded_refusal(version)}, or force it with a reason (--force-degraded TEXT)")
    note = annotate.record(
        at=timestamp(time.time()), by=who, degraded=False, reason=f"forced onto {stage}: {force_degraded}"
    )
    path, data, _ = annotate.appended(snap, version, note)
    return {path: data}


def _diff(paths: Mapping[str, tuple[bytes | None, bytes | None]]) -> str:
    out: list[str] = []
    for path, (old, new) in paths.items():
        before = old.decode().splitlines(keepends=True) if old else []
        after = new.decode().splitlines(keepends=True) if new else []
        out += difflib.unified_diff(
            before, after, f"a/{path}" if old else "/dev/null", f"b/{path}" if new else "/dev/null"
        )
    return "".join(out)


def _pointer_bytes(snap: Snapshot, model: str, stage: str, version: str, reason: str, who: str) -> bytes:
    path = layout.stage_path(snap.models_dir, model, stage)
    pointer = StagePointer(model, stage, version, timestamp(time.time()), who, reason)
    return manifest.render(pointer, path)


def _registration_commit(snap: Snapshot, model: str, version: str) -> str:
    found = snap.registration_commit(model, version, strict=True)
    if found is None:
        raise NotFoundError(f"cannot find the commit that registered {model} {version}")
    return found


def _move(
    snap: Snapshot,
    plan: Plan,
    who: str,
    writes: Mapping[str, str | None],
    leaving: Mapping[str, str],
    also: Mapping[str, bytes | None] | None = None,
    also_tags: Sequence[TagSpec] = (),
) -> tuple[Plan, Change]:
    """Files, tags and message for a plan. ``writes``: stage -> new holder
    (None removes the pointer); ``leaving``: stage -> version losing it;
    ``also``: other files the same commit writes (a cleared degraded mark)."""
    files: dict[str, bytes | None] = dict(also or {})
    before: dict[str, tuple[bytes | None, bytes | None]] = {}
    current = snap.read_files([layout.stage_path(snap.models_dir, plan.model, s) for s in writes])
    for stage, version in writes.items():
        path = layout.stage_path(snap.models_dir, plan.model, stage)
        data = _pointer_bytes(snap, plan.model, stage, version, plan.reason, who) if version else None
        files[path] = data
        before[path] = (current[path], data)
    specs = [
        TagSpec(tags.TagEvent("unassign", plan.model, stage=stage), old, _registration_commit(snap, plan.model, old))
        for stage, old in leaving.items()
    ]
    specs += [
        TagSpec(tags.TagEvent("assign", plan.model, stage=stage), new, _registration_commit(snap, plan.model, new))
        for stage, new in writes.items()
        if new is not None
    ]
    specs += also_tags
    trailers = {"Gitreg-Action": plan.action, "Gitreg-Model": plan.model}
    if plan.version is not None:
        trailers["Gitreg-Version"] = plan.version
    trailers["Gitreg-Stage"] = plan.stage
    if plan.previous is not None:
        trailers["Gitreg-From"] = plan.previous
    if plan.reason:
        trailers["Gitreg-Reason"] = " ".join(plan.reason.split())
    plan = dataclasses.replace(plan, files=files, diff=_diff(before))
    return plan, Change(files, plan.title(), trailers, tags=specs, result=plan)


# -- promote ------------------------------------------------------------------


def plan_promote(
    snap: Snapshot, model: str, version: str, stage: str, reason: str, who: str, force_degraded: str | None = None
) -> tuple[Plan, Change]:
    candidate = _version(snap, model, version)
    snap.check_stage(stage)
    _require_active(candidate, "hold a stage")
    cleared = _cleared(snap, candidate, stage, force_degraded, who)
    pointers = snap.pointers(model)
    holder_pointer = pointers.get(stage)
    if holder_pointer is not None and holder_pointer.version == candidate.version:
        raise ConflictError(f"{model} {candidate.version} already holds {stage}")
    holder = snap.version(model, holder_pointer.version) if holder_pointer else None
    model_doc = snap.model(model)
    results = tuple(gates.evaluate(model_doc, stage, candidate, holder))
    policy = manifest.signature_policy(model_doc, stage, snap.config)
    if policy is not None and snap.commit is not None:
        at = snap.commit
        results += (signatures.stage_gate(snap.repo, snap.models_dir, policy, candidate, policy_at=at, bundles_at=at),)
    requires = snap.config.requires.get(stage, ())
    order = None
    if requires:  # "must have held", as gitreg check reads it for the same move
        held = history.held(snap.repo, str(snap.commit), snap.models_dir, model, candidate.version, requires)
        order = OrderCheck(stage, requires, held)
    previous = holder_pointer.version if holder_pointer else None
    held_now = [s for s in snap.config.stages if s in pointers and pointers[s].version == candidate.version]
    transition = snap.config.refused_transition(stage, held_now)
    plan = Plan("promote", model, stage, candidate.version, previous, reason, results, order, transition=transition)
    leaving = {stage: previous} if previous else {}
    files, specs = dict(cleared), []
    rule = snap.config.transitions.get(stage)
    if rule is not None and rule.archive_replaced and holder is not None:
        still = [s for s, p in pointers.items() if s != stage and p.version == holder.version]
        if not still:  # the replaced holder keeps no other stage: it is archived with the move
            path, data, spec = status_change(snap, holder, "archived")
            files[path] = data
            specs += spec
            plan = dataclasses.replace(plan, archived=holder.version)
    return _move(snap, plan, who, {stage: candidate.version}, leaving, files, specs)


Planner = Callable[[Snapshot, str], tuple[Plan, Change]]  # (snapshot, who) -> plan and its change


def branch_name(plan: Plan) -> str:
    """The default pull-request branch for a move."""
    return f"gitreg/{plan.action}-{plan.model}-{plan.stage}-{plan.version or 'none'}"


def move(registry: Registry, planner: Planner, *, dry_run: bool = False, branch: str | None = None) -> Moved:
    """Every pointer move (``planner``: ``plan_promote``, ``plan_demote``,
    ``plan_unassign`` or ``plan_rollback``, bound to its arguments): plan on
    the current tip (a dry run stops there), else land the plan,
    re-planned on the tip it commits on; a plan whose gates fail is refused.
    With ``branch`` ("" for the default name) the commit goes to a new branch
    for a pull request, pushed to ``origin`` when the registry has one."""
    who = registry.repo.identity()
    if dry_run:
        return Moved(planner(registry.snapshot(), who)[0], None)

    def build(snap: Snapshot) -> Change:
        plan, change = planner(snap, who)
        if not plan.allowed:
            raise GateFailed(plan)
        return change

    if branch is None:
        applied = registry.apply(build)
        return Moved(applied.change.result, applied.commit, applied.tag_names)
    name = branch or branch_name(planner(registry.snapshot(), who)[0])
    applied = registry.apply(build, branch=name)
    return Moved(applied.change.result, applied.commit, (), name, registry.push_branch(name))


# -- demote, unassign ----------------------------------------------------------


def plan_demote(snap: Snapshot, model: str, version: str, stage: str, reason: str, who: str) -> tuple[Plan, Change]:
    target = _version(snap, model, version)
    snap.check_stage(stage)
    config = snap.config
    pointers = snap.pointers(model)
    above = tuple(
        s
        for s in config.stages
        if config.rank(s) > config.rank(stage) and s in pointers and pointers[s].version == target.version
    )
    if not above:
        raise ConflictError(f"{model} {target.version} holds no stage above {stage}")
    writes: dict[str, str | None] = dict.fromkeys(above)
    leaving = dict.fromkeys(above, target.version)
    previous = pointers[stage].version if stage in pointers else None
    # The lowest stage is where every version without a pointer already is.
    if config.rank(stage) > 0 and previous != target.version:
        writes[stage] = target.version
        if previous is not None:
            leaving[stage] = previous
    held_now = [s for s in config.stages if s in pointers and pointers[s].version == target.version]
    transition = config.refused_transition(stage, held_now)
    plan = Plan("demote", model, stage, target.version, previous, reason, removed=above, transition=transition)
    return _move(snap, plan, who, writes, leaving)


def plan_unassign(snap: Snapshot, model: str, stage: str, reason: str, who: str) -> tuple[Plan, Change]:
    check_model_name(model)
    snap.check_stage(stage)
    pointer = snap.pointers(model).get(stage)
    if pointer is None:
        raise NotFoundError(f"no version of {model!r} holds stage {stage!r}")
    plan = Plan("unassign", model, stage, None, pointer.version, reason)
    return _move(snap, plan, who, {stage: None}, {stage: pointer.version})


# -- rollback ------------------------------------------------------------------


def walk_back(past: Sequence[history.Holding]) -> list[str]:
    """The versions a stage would return to, newest first, from its rightful
    holders in order (each with its commit's ``Gitreg-Action``). A
    promotion goes on top, even of a version that held the stage before; a
    rollback returns to an entry and undoes every move above it; any other
    move (a ``git revert``, a merged pull request) back to the entry just
    below the top undoes the top. So repeated rollbacks keep walking back
    instead of toggling, and a rollback after a promotion undoes it."""
    stack: list[str] = []
    for holding in past:
        if holding.action == "rollback" and holding.version in stack:
            del stack[len(stack) - stack[::-1].index(holding.version) :]
        elif holding.action not in ("promote", "rollback") and stack[-2:-1] == [holding.version]:
            stack.pop()
        else:
            stack.append(holding.version)
    return stack[::-1]


def _earlier(current: str | None, past: Sequence[history.Holding]) -> list[str]:
    """The walk back from ``current`` (``walk_back``): the holders before it, newest first."""
    walk = walk_back(past)
    if current in walk:
        walk = walk[walk.index(current) + 1 :]
    return [v for v in walk if v != current]


def rollback_target(snap: Snapshot, model: str, stage: str) -> str | None:
    """The version ``gitreg rollback`` would give ``stage`` now (None: none)."""
    pointer = snap.pointers(model).get(stage)
    current = pointer.version if pointer else None
    past = history.rightful(snap.repo, snap.commit, snap.models_dir, model, stage) if snap.commit else []
    earlier = _earlier(current, past)
    return next((v for v in earlier if _restorable(snap, model, v, past) is not None), None)


def _restorable(snap: Snapshot, model: str, version: str, past: Sequence[history.Holding]) -> ModelVersion | None:
    """``version``'s manifest when it may hold the stage again as it did:
    still registered with the core it held it with, active, not degraded."""
    document = snap.version(model, version)
    if document is None or document.status != "active" or document.degraded is not None:
        return None
    if not any(h.version == version and manifest.same_registration(h.document, document) for h in past):
        return None
    return document


def plan_rollback(
    snap: Snapshot,
    model: str,
    stage: str,
    to: str | None,
    reason: str,
    who: str,
    force_degraded: str | None = None,
) -> tuple[Plan, Change]:
    """Give ``stage`` back. Without ``to``: to the holder before the current
    one on the walk back (``walk_back``) that may still hold it — active,
    not degraded, the registered core unchanged —, skipping the gates as a
    return to a rightful holder. With ``to``: that version; a rightful past
    holder skips the gates, any other active version must pass them as a
    promotion would."""
    check_model_name(model)
    snap.check_stage(stage)
    pointer = snap.pointers(model).get(stage)
    current = pointer.version if pointer else None
    # rightful past holders, oldest first: what `gitreg check` accepts as a rollback
    past = history.rightful(snap.repo, snap.commit, snap.models_dir, model, stage) if snap.commit else []
    why = reason or (f"rollback from {current}" if current else "rollback")
    if to is None:
        earlier = _earlier(current, past)
        if not earlier:
            raise NotFoundError(f"nothing to roll back to: {model} has no earlier holder of {stage}")
        eligible = [v for v in earlier if _restorable(snap, model, v, past) is not None]
        if not eligible:
            raise ConflictError(
                f"nothing to roll back to: every earlier holder of {model} {stage} ({', '.join(earlier)}) is "
                "degraded, archived, deprecated, removed or changed since; use `gitreg promote`"
            )
        plan = Plan("rollback", model, stage, eligible[0], current, why)
        return _move(snap, plan, who, {stage: eligible[0]}, {stage: current} if current else {})
    target = str(Version.parse(to))
    if target == current:
        raise ConflictError(f"{model} {target} already holds {stage}")
    document = _version(snap, model, target)
    _require_active(document, "hold a stage")
    cleared = _cleared(snap, document, stage, force_degraded, who)
    if any(h.version == target and manifest.same_registration(h.document, document) for h in past):
        plan = Plan("rollback", model, stage, target, current, why)
        return _move(snap, plan, who, {stage: target}, {stage: current} if current else {}, cleared)
    promoted, _ = plan_promote(snap, model, target, stage, why, who, force_degraded)
    plan = dataclasses.replace(promoted, action="rollback", files={}, diff="")
    return _move(snap, plan, who, {stage: target}, {stage: current} if current else {}, cleared)


# -- status --------------------------------------------------------------------


def status_change(snap: Snapshot, document: ModelVersion, status: str) -> tuple[str, bytes, list[TagSpec]]:
    """The version file with ``status``, and GTO's spelling of a version
    taken out of use: its deregistration tag (once)."""
    path, data = manifest.version_file(snap.models_dir, dataclasses.replace(document, status=status))
    deregister = tags.TagEvent("deregister", document.model, version=document.version)
    mirrored = snap.repo.tag_refs([deregister.name()])
    specs = (
        []
        if mirrored
        else [TagSpec(deregister, document.version, _registration_commit(snap, document.model, document.version))]
    )
    return path, data, specs


def set_status(
    registry: Registry, model: str, version: str, status: str, *, force: bool = False, reason: str | None = None
) -> tuple[ModelVersion, str]:
    """Archive or deprecate a version (an annotation: its core stays as
    registered). A dataset version a stage holder was trained or evaluated
    on is archived only when forced, with a reason (the commit's)."""
    if status not in ("archived", "deprecated"):
        raise UsageError(f"invalid status {status!r}")

    def build(snap: Snapshot) -> Change:
        document = _version(snap, model, version)
        if document.status == status:
            raise ConflictError(f"{model} {document.version} is already {status}")
        held = [s for s, p in snap.pointers(model).items() if p.version == document.version]
        if held:
            raise ConflictError(
                f"{model} {document.version} holds {', '.join(held)}; move the pointer first "
                f"(promote another version, `gitreg rollback`, `gitreg demote` or `gitreg unassign`)"
            )
        if status == "archived":
            datasets.guard(snap, model, document.version, "archive", force, reason)
        path, data, specs = status_change(snap, document, status)
        updated = dataclasses.replace(document, status=status)
        action = "archive" if status == "archived" else "deprecate"
        trailers = {"Gitreg-Action": action, "Gitreg-Model": model, "Gitreg-Version": document.version}
        if reason:
            trailers["Gitreg-Reason"] = reason
        return Change(
            {path: data},
            f"{action.capitalize()} {model} {document.version}",
            trailers,
            tags=specs,
            result=updated,
        )

    applied = registry.apply(build)
    return applied.change.result, applied.commit
