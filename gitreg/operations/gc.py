"""Retention (``retention`` in .gitreg/config.yaml) and ``gitreg gc``.

A version expires when it is outside the newest ``max_versions`` of its
model and, if ``keep_days`` is set, was registered more than ``keep_days``
ago (with only one of the two set, that one decides). Whatever the policy,
a version is kept while it holds a stage, while it is what ``gitreg
rollback`` would restore for a stage its model holds, when it ever held one
of ``keep_stages``, and when it carries one of ``keep_labels``.

``gc`` removes the manifests of expired versions in one commit (history
keeps them; GTO sees a deregistration tag) and, asked to, deletes their
artifacts from the DVC remote when no remaining version uses the same
objects. The checker applies the same ``review`` to any commit that deletes
version files, with the base's policy.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, epoch
from gitreg.core.transaction import Change, TagSpec
from gitreg.documents import dvcyaml, layout, manifest, tags
from gitreg.documents.manifest import Artifact, ModelVersion, Retention, StagePointer
from gitreg.errors import InvalidDocumentError, NotFoundError, UsageError
from gitreg.operations import datasets, history, lifecycle

DAY = 86400.0


@dataclass(frozen=True)
class Verdict:
    model: str
    version: str
    created_at: str
    kept: tuple[str, ...]  # why it stays; empty: expired
    in_use: tuple[str, ...] = ()  # a dataset version's stage holders that used it: kept unless forced

    @property
    def expired(self) -> bool:
        return not self.kept and not self.in_use

    def removable(self, force: bool) -> bool:
        """Expired, or only kept because a stage holder used it and ``force``."""
        return not self.kept and (force or not self.in_use)


def _label_kept(version: ModelVersion, keep: Retention) -> str | None:
    for key, want in keep.keep_labels.items():
        if key in version.labels and want in ("*", version.labels[key]):
            return f"label {key}={version.labels[key]}"
    return None


def review_model(
    snap: Snapshot,
    policy: Retention,
    model: str,
    now: float,
    versions: Sequence[ModelVersion],
    pointers: Mapping[str, StagePointer],
    used: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> list[Verdict]:
    """Every version of ``model`` (``versions``: newest first, ``pointers``:
    its stage pointers) with the reasons it is kept (none: expired);
    ``used``: the stage holders each dataset version was used by."""
    held = {p.version: stage for stage, p in pointers.items()}
    restore: dict[str, str] = {}
    for stage in pointers:
        earlier = lifecycle.rollback_target(snap, model, stage)
        if earlier is not None:
            restore.setdefault(earlier, stage)
    ever: dict[str, str] = {}
    for stage in policy.keep_stages:
        past = history.holders(snap.repo, snap.commit, snap.models_dir, model, stage) if snap.commit else []
        for _, v in past:
            if v is not None:
                ever.setdefault(v, stage)
    verdicts = []
    for rank, version in enumerate(versions):
        why: list[str] = []
        if version.version in held:
            why.append(f"holds {held[version.version]}")
        if version.version in restore:
            why.append(f"rollback target for {restore[version.version]}")
        if version.version in ever:
            why.append(f"held {ever[version.version]} (keep_stages)")
        labelled = _label_kept(version, policy)
        if labelled:
            why.append(labelled)
        if policy.max_versions is not None and rank < policy.max_versions:
            why.append(f"among the newest {policy.max_versions}")
        if policy.keep_days is not None:
            age = (now - epoch(version.created_at)) / DAY
            if age <= policy.keep_days:
                why.append(f"registered {age:.0f} day(s) ago (keep_days {policy.keep_days:g})")
        if not policy.expires_anything:
            why.append("the retention policy sets neither max_versions nor keep_days")
        users = tuple(f"used by {user}" for user in (used or {}).get((model, version.version), ()))
        verdicts.append(Verdict(model, version.version, version.created_at, tuple(why), users))
    return verdicts


def review(snap: Snapshot, now: float, models: Iterable[str] | None = None) -> list[Verdict]:
    """Verdicts for every version of ``models`` (default: all) under the
    snapshot's own policy."""
    policy = snap.config.retention or Retention()
    catalog = snap.catalog(list(models) if models is not None else None)
    used = datasets.held_links(snap) if any(datasets.is_dataset(snap, m) for m in catalog) else {}
    return [
        verdict
        for model, entry in sorted(catalog.items())
        for verdict in review_model(snap, policy, model, now, entry.versions, entry.pointers, used)
    ]


# -- gc ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Collected:
    verdicts: tuple[Verdict, ...]
    removed: tuple[tuple[str, str], ...]  # (model, version) whose manifests the commit removes
    commit: str | None  # None: dry run, or nothing expired
    tags: tuple[str, ...] = ()
    branch: str | None = None
    artifacts_removed: tuple[str, ...] = ()  # object ids deleted from the DVC remote
    artifacts_shared: tuple[str, ...] = field(default=())  # kept: a remaining version uses them
    pushed_to: str | None = None  # the remote the review branch went to


def _change(snap: Snapshot, expired: Sequence[Verdict], reason: str | None = None) -> Change:
    files: dict[str, bytes | None] = {layout.version_path(snap.models_dir, v.model, v.version): None for v in expired}
    files |= {layout.dvc_path(snap.models_dir, v.model, v.version): None for v in expired}
    files |= {  # a version's signatures go with it
        entry.path: None
        for v in expired
        for entry in snap.repo.ls_tree(str(snap.commit), layout.signatures_dir(snap.models_dir, v.model, v.version))
    }
    gone = {(v.model, v.version) for v in expired}
    remaining = {
        m: [d for d in snap.all_versions(m) if (m, d.version) not in gone] for m in sorted({v.model for v in expired})
    }
    current = snap.read_files([dvcyaml.PATH])[dvcyaml.PATH]
    files |= dvcyaml.written(current, dvcyaml.derive(dvcyaml.parse(current), snap.models_dir, remaining))
    specs = []
    for v in expired:
        event = tags.TagEvent("deregister", v.model, version=v.version)
        if snap.repo.tag_refs([event.name()]):
            continue  # deprecated or archived before: GTO already sees it deregistered
        target = snap.registration_commit(v.model, v.version, strict=True)
        if target is not None:
            specs.append(TagSpec(event, v.version, target))
    body = "\n".join(f"- {v.model} {v.version} (registered {v.created_at[:10]})" for v in expired)
    summary = f"Remove {len(expired)} expired version(s) under the retention policy\n\n{body}"
    models = sorted({v.model for v in expired})
    trailers = {"Gitreg-Action": "gc", "Gitreg-Model": ", ".join(models)}
    if reason:
        trailers["Gitreg-Reason"] = reason
    return Change(files, summary, trailers, tags=specs, result=tuple((v.model, v.version) for v in expired))


def gc(
    registry: Registry,
    *,
    dry_run: bool = False,
    remove_artifacts: bool = False,
    branch: str | None = None,
    now: float | None = None,
    force: bool = False,
    reason: str | None = None,
) -> Collected:
    """Remove the manifests of expired versions in one commit (on ``branch``
    for review, if given); with ``remove_artifacts``, then delete from the
    DVC remote the artifacts of every version removed from the branch so
    far that no remaining version shares. ``now`` (default: the clock) is
    the time ``keep_days`` counts back from. A dataset version a stage
    holder was trained or evaluated on is kept unless ``force``, with a
    ``reason`` (the commit's)."""
    if force and not (reason or "").strip():
        raise UsageError("--force needs a --reason: it removes dataset versions that stage holders used")
    if remove_artifacts and branch is not None:
        raise UsageError(
            "--remove-artifacts deletes bytes for versions already removed on the registry branch: "
            "run it after the gc pull request is merged, without --branch"
        )
    snap = registry.snapshot()
    policy = snap.config.retention
    if policy is None or not policy.expires_anything:
        raise NotFoundError(
            f"no retention policy: set retention.max_versions and/or retention.keep_days in {layout.CONFIG_PATH}"
        )
    now = time.time() if now is None else now
    verdicts = tuple(review(snap, now))
    expired = [v for v in verdicts if v.removable(force)]
    if dry_run or not expired:
        found = Collected(verdicts, tuple((v.model, v.version) for v in expired), None)
    else:

        def build(tip: Snapshot) -> Change:
            again = [v for v in review(tip, now, sorted({v.model for v in expired})) if v.removable(force)]
            if not again:
                raise NotFoundError("nothing expired any more: another writer changed the registry")
            return _change(tip, again, reason if any(v.in_use for v in again) else None)

        name = branch or time.strftime("gitreg/gc-%Y%m%d-%H%M%S", time.gmtime(now)) if branch is not None else None
        applied = registry.apply(build, branch=name)
        pushed = registry.push_branch(name) if name is not None else None
        found = Collected(verdicts, applied.change.result, applied.commit, applied.tag_names, name, pushed_to=pushed)
    if remove_artifacts and not dry_run:
        gone, shared = sweep_artifacts(registry)
        return dataclasses.replace(found, artifacts_removed=gone, artifacts_shared=shared)
    return found


def _removed_artifacts(registry: Registry, snap: Snapshot) -> list[Artifact]:
    """Artifacts of version manifests deleted somewhere in the branch's history."""
    if snap.commit is None:
        return []
    rows = registry.repo.log(snap.commit, [snap.models_dir], ["%H"], ["--diff-filter=D", "--first-parent", "-m"])
    found = []
    for (commit,) in rows:
        for status, path in registry.repo.changed(f"{commit}^", commit, [snap.models_dir]):
            where = layout.classify(snap.models_dir, path)
            if status != "D" or where is None or where.kind != "version":
                continue
            data = registry.repo.read_paths(f"{commit}^", [path])[path]
            if data is None:
                continue
            try:
                found += manifest.parse(data, ModelVersion, path).stored
            except InvalidDocumentError:
                continue
    return found


def sweep_artifacts(registry: Registry) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Delete from the DVC remote the objects of removed versions that no
    version at the branch tip uses; returns (deleted, kept as shared)."""
    from gitreg.storage import artifacts

    snap = registry.snapshot()
    removed = _removed_artifacts(registry, snap)
    if not removed:
        return (), ()
    kept = [a for m in snap.model_names() for v in snap.all_versions(m) for a in v.stored]
    stores: dict[str, artifacts.Store] = {}

    def store(remote: str) -> artifacts.Store:
        if remote not in stores:
            stores[remote] = artifacts.Store(registry.dvc_root(snap), remote)
        return stores[remote]

    in_use: set[str] = set()
    for a in kept:
        in_use.add(a.md5)
        if a.is_dir:
            in_use.update(md5 for _, md5 in store(a.remote).listing(a.md5))
    doomed: dict[str, str] = {}  # oid -> remote
    for a in removed:
        doomed[a.md5] = a.remote
        if a.is_dir:
            doomed.update(dict.fromkeys((md5 for _, md5 in store(a.remote).listing(a.md5)), a.remote))
    shared = tuple(sorted(oid for oid in doomed if oid in in_use))
    gone = []
    for oid, remote in sorted(doomed.items(), key=lambda item: item[0].endswith(".dir")):
        if oid not in in_use and store(remote).remove(oid):
            gone.append(oid)
    return tuple(gone), shared
