"""`gitreg tags sync`: create the GTO tags the files imply and are missing.

Tags cannot travel with a pull request, so after a merge (or a `git revert`,
or a hand edit) the tags lag the files. This reads the files at HEAD and the
tags as GTO reads them (each stage event's version from the registration tag
on the commit it points at; the latest event per version and stage wins) and
plans what GTO needs to see the same registry: registration tags for
untagged versions, then for each stage an unassignment for every version GTO
still thinks holds it and an assignment for the actual holder. It only ever
creates tags: existing ones are never moved or deleted, so it is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot
from gitreg.core.transaction import TagSpec
from gitreg.documents import layout, tags
from gitreg.documents.names import Version


@dataclass(frozen=True)
class SyncResult:
    created: tuple[str, ...]  # tag names (all of them, or the plan on a dry run)
    skipped: tuple[str, ...]  # why some versions cannot be mirrored
    dry_run: bool = False


def _model_tags(registry: Registry, model: str) -> list[tags.Found]:
    return [t for t in tags.ordered(registry.repo.tag_details(tags.model_patterns(model))) if t.event.model == model]


def _plan_model(
    registry: Registry, snap: Snapshot, model: str, versions: Iterable[str], skipped: list[str]
) -> list[TagSpec]:
    existing = _model_tags(registry, model)
    registered = {t.event.version: t.target for t in existing if t.event.action == "register" and t.event.version}
    versions = list(versions)
    gone = {t.event.version for t in existing if t.event.action == "deregister"}
    for version in sorted(set(registered) - set(versions) - gone, key=Version.parse):
        skipped.append(orphan(model, version))
    registered = {v: c for v, c in registered.items() if v in versions or v in gone}
    untrue = {v for v in versions if v in registered and not snap.true_tag(registered[v], model, v)}
    for version in sorted(untrue):
        skipped.append(
            f"{model} {version}: tag {model}@v{version} points at commit {registered[version][:10]}, which does "
            f"not hold the registered manifest; delete that tag (here and on the remote) and run gitreg tags sync"
        )
        del registered[version]
    specs: list[TagSpec] = []
    commit_version = {target: version for version, target in registered.items()}
    # of versions added by one commit, the highest takes its tag (as it takes the commit's dvc.yaml entry)
    for version in sorted(versions, key=Version.parse, reverse=True):
        if version in registered or version in untrue:
            continue
        commit = registry.repo.added_in(snap.commit or "HEAD", layout.version_path(snap.models_dir, model, version))
        if commit is None:
            skipped.append(f"{model} {version}: cannot find the commit that added it")
            continue
        if commit in commit_version:
            skipped.append(
                f"{model} {version}: its commit {commit[:10]} also registers {commit_version[commit]}, "
                "and GTO allows one version of a model per commit"
            )
            continue
        registered[version] = commit
        commit_version[commit] = version
        specs.append(TagSpec(tags.register(model, version), version, commit))
    specs.reverse()  # created oldest version first
    # versions taken out of use: GTO sees them through their deregistration tags
    deregistered = {t.event.version for t in existing if t.event.action == "deregister"}
    for document in snap.all_versions(model) if set(registered) - deregistered else []:
        v = document.version
        if document.status != "active" and v not in deregistered and v in registered:
            specs.append(TagSpec(tags.TagEvent("deregister", model, version=v), v, registered[v]))
    # what GTO believes each stage holds: the latest event per (stage, version)
    believed: dict[str, dict[str, bool]] = {}
    for t in existing:
        if t.event.action in ("assign", "unassign") and t.event.stage and t.target in commit_version:
            believed.setdefault(t.event.stage, {})[commit_version[t.target]] = t.event.action == "assign"
    holders = {stage: p.version for stage, p in snap.pointers(model).items()}
    for stage in sorted(set(believed) | set(holders)):
        holder = holders.get(stage)
        for version, active in sorted(believed.get(stage, {}).items()):
            if active and version != holder and version in registered:
                specs.append(TagSpec(tags.TagEvent("unassign", model, stage=stage), version, registered[version]))
        if holder is not None and not believed.get(stage, {}).get(holder):
            if holder in registered:
                specs.append(TagSpec(tags.TagEvent("assign", model, stage=stage), holder, registered[holder]))
            elif holder not in untrue:
                skipped.append(f"{model} {holder} holds {stage} but has no registration tag to assign it to")
    return specs


def orphan(model: str, version: str) -> str:
    return (
        f"{model} {version}: GTO tag {model}@v{version} names a version with no manifest here; its tags are "
        "left as they are (gitreg never unassigns what it does not know)"
    )


def _foreign(registry: Registry, models: set[str]) -> list[str]:
    """GTO registrations of models that have no folder here (a repository GTO
    manages, say): reported, never touched."""
    events = [tags.parse(name) for name, _, _ in registry.repo.tag_targets(tags.patterns("@v*"))]
    gone = {(e.model, e.version) for e in events if e is not None and e.action == "deregister"}
    return [
        orphan(e.model, str(e.version))
        for e in events
        if e is not None and e.action == "register" and e.model not in models and (e.model, e.version) not in gone
    ]


def sync(registry: Registry, *, dry_run: bool = False) -> SyncResult:
    snap = registry.snapshot()
    if snap.commit is None:
        return SyncResult((), (), dry_run)
    versions: dict[str, list[str]] = {}
    for entry in registry.repo.ls_tree(snap.commit, snap.models_dir, recursive=True):
        where = layout.classify(snap.models_dir, entry.path)
        if where is not None and where.kind == "version":
            versions.setdefault(where.model, []).append(where.name)
        elif where is not None:
            versions.setdefault(where.model, [])
    skipped: list[str] = []
    specs: list[TagSpec] = []
    for model in sorted(versions):
        ordered = [str(v) for v in sorted(Version.parse(name) for name in versions[model])]
        specs += _plan_model(registry, snap, model, ordered, skipped)
    skipped += _foreign(registry, set(versions))
    if dry_run:
        return SyncResult(tuple(registry.transaction.tag_names(specs)), tuple(skipped), True)
    return SyncResult(tuple(registry.transaction.create_tags(specs)), tuple(skipped))
