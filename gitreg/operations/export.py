"""Moving a registry's state to another registry: ``export`` writes one
schema-validated JSON document (kind ``RegistryExport``); ``import_state``
lands it in another registry, versions and stages as they were, artifacts
copied between DVC remotes when the two registries use different ones.

An import is one series of commits moved into place by one ref update: one
commit per round of versions (the k-th version of every model), because GTO
reads at most one version of a model per commit; the stage pointers come
last. Everything is checked before the first byte is copied.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gitreg.core.records import Records
from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, timestamp
from gitreg.core.transaction import Change, TagSpec
from gitreg.documents import dvcyaml, layout, manifest, schema, tags
from gitreg.documents.manifest import Model, ModelVersion, StagePointer
from gitreg.documents.names import Version, check_model_name, inside_models, namespace
from gitreg.documents.runs import Run, parse_points
from gitreg.errors import ConflictError, InvalidDocumentError, NotFoundError, UsageError
from gitreg.operations.runs import write_run
from gitreg.storage import dvcconfig

KIND = "RegistryExport"


def export(
    snap: Snapshot, source: str, models: Sequence[str] = (), runs: Sequence[tuple[Run, bytes]] = ()
) -> dict[str, Any]:
    """The state of ``models`` (default: every model) at the snapshot, and
    ``runs`` (each with its metric points) when given."""
    if snap.commit is None:
        raise NotFoundError(f"{source} has no commits to export")
    names = list(dict.fromkeys(check_model_name(m) for m in models)) or snap.model_names()
    catalog = snap.catalog(names)
    model_files = [layout.model_path(snap.models_dir, name) for name in names]
    model_docs = snap.read_files(model_files)
    entries = []
    used: set[str] = set()
    for name, path in zip(names, model_files, strict=True):
        data = model_docs[path]
        model = manifest.parse_at(data, Model, path, name=name) if data is not None else None
        if model is None and name not in catalog:
            raise NotFoundError(f"model {name!r} is not registered")
        entry = catalog.get(name)
        versions = list(reversed(entry.versions)) if entry else []
        used.update(a.remote for v in versions for a in v.stored)
        entries.append(
            {
                "model": manifest._plain((model or Model(name=name)).to_doc()),
                "versions": [manifest._plain(v.to_doc()) for v in versions],
                "stages": {s: manifest._plain(p.to_doc()) for s, p in sorted(entry.pointers.items())} if entry else {},
            }
        )
    used.update(a.remote for run, _ in runs for a in run.artifacts.values())
    dvc_text = (snap.read_files([layout.DVC_CONFIG_PATH])[layout.DVC_CONFIG_PATH] or b"").decode("utf-8")
    options = dvcconfig.remote_options(dvc_text, layout.DVC_CONFIG_PATH)
    missing = sorted(used - set(options))
    if missing:
        raise NotFoundError(f"DVC remote {missing[0]!r} that artifacts use is not in {layout.DVC_CONFIG_PATH}")
    doc = {
        "apiVersion": manifest.API_VERSION,
        "kind": KIND,
        "exported_at": timestamp(time.time()),
        "source": {"registry": source, "commit": snap.commit},
        "stages": list(snap.config.stages),
        "remotes": {name: options[name] for name in sorted(used)},
        "models": entries,
    }
    if runs:
        doc["runs"] = [{"run": manifest._plain(run.to_doc()), "points": points.decode()} for run, points in runs]
    return schema.validate(doc, KIND, "export")


# -- reading an export -------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    model: Model
    versions: tuple[ModelVersion, ...]  # oldest first
    stages: Mapping[str, StagePointer]


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def load_runs(doc: Mapping[str, Any], source: str) -> list[tuple[Run, bytes]]:
    """The runs of an export (validated document): each as its own kind,
    its points readable, its artifacts in a listed remote, no id twice."""
    found = []
    for i, item in enumerate(doc.get("runs", ())):
        where = f"{source}: /runs/{i}"
        try:
            run: Run = manifest.parse(json.dumps(item["run"]), Run, f"{where}/run")
            points = item["points"].encode()
            parse_points(points, f"{where}/points")
        except InvalidDocumentError as exc:
            raise UsageError(str(exc)) from None
        for artifact in run.artifacts.values():
            if artifact.remote not in doc["remotes"]:
                raise UsageError(f"{where}: DVC remote {artifact.remote!r} is not in /remotes")
        found.append((run, points))
    ids = [run.id for run, _ in found]
    if len(set(ids)) != len(ids):
        raise UsageError(f"{source}: /runs: a run appears twice")
    return found


def load(data: str | bytes, source: str) -> tuple[dict[str, Any], list[Entry]]:
    """Parse and validate an export: the schema, then every document in it as
    its own kind, then that they agree (model names, stages, versions)."""
    try:
        doc = json.loads(data, parse_constant=_reject_constant)
    except ValueError as exc:
        raise UsageError(f"{source}: not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"{source}: not valid JSON: nested too deeply") from None
    try:
        schema.validate(doc, KIND, source)
    except InvalidDocumentError as exc:
        raise UsageError(str(exc)) from None
    entries = []
    for i, item in enumerate(doc["models"]):
        where = f"{source}: /models/{i}"
        try:
            model: Model = manifest.parse_at(json.dumps(item["model"]), Model, f"{where}/model")
            versions = tuple(
                manifest.parse_at(json.dumps(v), ModelVersion, f"{where}/versions/{j}", model=model.name)
                for j, v in enumerate(item["versions"])
            )
            stages = {
                stage: manifest.parse_at(json.dumps(p), StagePointer, f"{where}/stages/{stage}", model=model.name)
                for stage, p in item["stages"].items()
            }
        except InvalidDocumentError as exc:
            raise UsageError(str(exc)) from None
        known = {v.version for v in versions}
        for stage, pointer in stages.items():
            if pointer.stage != stage:
                raise UsageError(f"{where}/stages/{stage}: the pointer is for stage {pointer.stage!r}")
            if pointer.version not in known:
                raise UsageError(f"{where}/stages/{stage}: version {pointer.version} is not in the export")
        if len(known) != len(versions):
            raise UsageError(f"{where}/versions: a version appears twice")
        for v in versions:
            for stored in v.stored:
                if stored.remote not in doc["remotes"]:
                    raise UsageError(f"{where}/versions: DVC remote {stored.remote!r} is not in /remotes")
        entries.append(Entry(model, tuple(sorted(versions, key=lambda v: Version.parse(v.version))), stages))
    names = [e.model.name for e in entries]
    if len(set(names)) != len(names):
        raise UsageError(f"{source}: /models: a model appears twice")
    return doc, entries


# -- importing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    models: tuple[str, ...]  # models whose model.yaml the import wrote
    versions: tuple[tuple[str, str], ...]  # versions written
    skipped: tuple[tuple[str, str], ...]  # versions the registry already had, identical
    stages: tuple[tuple[str, str, str], ...]  # (model, stage, version) pointers written
    objects_copied: int
    commit: str | None  # None: dry run, or nothing to write
    tags: tuple[str, ...] = ()
    runs: tuple[str, ...] = ()  # ids of the runs written (refs beside the branch)


def _same_version(a: ModelVersion, b: ModelVersion) -> bool:
    """Identical apart from which DVC remote (by name) holds the bytes."""
    return a.moved_to(lambda _: "") == b.moved_to(lambda _: "")


@dataclass(frozen=True)
class _Plan:
    models: list[Model]
    versions: list[ModelVersion]
    skipped: list[tuple[str, str]]
    stages: list[StagePointer]


def _plan(snap: Snapshot, entries: Sequence[Entry], remote_names: Mapping[str, str], source: str) -> _Plan:
    """What the import writes on ``snap``; refuses anything that would
    overwrite a different document."""
    plan = _Plan([], [], [], [])
    names = [entry.model.name for entry in entries]
    for name in inside_models({*names, *snap.model_names()}):
        if name in names:
            raise ConflictError(f"{source}: {namespace(name)!r} is a model, so it cannot hold model {name!r}")
    for entry in entries:
        name = entry.model.name
        snap.check_place(name)
        for stage in entry.stages:
            if stage not in snap.config.stages:
                raise UsageError(
                    f"{source}: model {name!r} holds stage {stage!r}, which this registry does not have "
                    f"(its stages: {', '.join(snap.config.stages)})"
                )
        current = snap.model(name)
        registered = {v.version: v for v in snap.all_versions(name)}
        if current is None:
            plan.models.append(entry.model)
        elif current != entry.model:
            path = layout.model_path(snap.models_dir, name)
            raise ConflictError(f"{path} already exists with other content; nothing was imported")
        for version in entry.versions:
            local = version.moved_to(remote_names.__getitem__)
            existing = registered.get(version.version)
            if existing is None:
                plan.versions.append(local)
            elif _same_version(existing, version):
                plan.skipped.append((name, version.version))
            else:
                raise ConflictError(
                    f"{name} {version.version} is already registered here with other content; nothing was imported"
                )
        pointers = snap.pointers(name)
        for stage, pointer in entry.stages.items():
            mine = pointers.get(stage)
            if mine is None:
                plan.stages.append(pointer)
            elif mine.version != pointer.version:
                raise ConflictError(
                    f"{name} {stage} is held by {mine.version} here but by {pointer.version} in the export; "
                    "nothing was imported"
                )
    return plan


def _change(snap: Snapshot, plan: _Plan, source: str) -> Change:
    """Commits: round k holds the k-th new version of every model (and the
    first round the new model.yaml files); the pointers come last."""
    rounds: list[list[ModelVersion]] = []
    seen: dict[str, int] = {}
    for version in plan.versions:
        k = seen.get(version.model, 0)
        seen[version.model] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(version)
    parts = []
    dvc_yaml = snap.read_files([dvcyaml.PATH])[dvcyaml.PATH]
    for k, group in enumerate(rounds or [[]]):
        files: dict[str, bytes | None] = {}
        if k == 0:
            for m in plan.models:
                path = layout.model_path(snap.models_dir, m.name)
                files[path] = manifest.render(m, path)
        for v in group:
            files |= manifest.version_files(snap.models_dir, v)
        if group:  # each round registers one version per model: its dvc.yaml entry names it
            files |= dvcyaml.registering(dvc_yaml, snap.models_dir, group)
            dvc_yaml = files.get(dvcyaml.PATH, dvc_yaml)
        if not files:
            continue
        what = ", ".join(f"{v.model} {v.version}" for v in group) or ", ".join(m.name for m in plan.models)
        trailers = {"Gitreg-Action": "import", "Gitreg-Model": ", ".join(dict.fromkeys(v.model for v in group))}
        if len(group) == 1:
            trailers["Gitreg-Version"] = group[0].version
        trailers["Gitreg-Source"] = source
        specs = [TagSpec(tags.register(v.model, v.version), v.version) for v in group]
        specs += [
            TagSpec(tags.TagEvent("assign", p.model, stage=p.stage), p.version)
            for v in group
            for p in plan.stages
            if (p.model, p.version) == (v.model, v.version)
        ]
        parts.append(Change(files, f"Import {what}", {k: v for k, v in trailers.items() if v}, tags=specs))
    pointer_files: dict[str, bytes | None] = {}
    for p in plan.stages:
        path = layout.stage_path(snap.models_dir, p.model, p.stage)
        pointer_files[path] = manifest.render(p, path)
    result = plan
    if pointer_files:
        moves = ", ".join(f"{p.model} {p.stage} {p.version}" for p in plan.stages)
        trailers = {"Gitreg-Action": "import", "Gitreg-Model": ", ".join(dict.fromkeys(p.model for p in plan.stages))}
        last = Change(pointer_files, f"Import stages: {moves}", trailers | {"Gitreg-Source": source}, result=result)
    elif parts:
        last = replace(parts.pop(), result=result)
    else:
        raise ConflictError("nothing left to import: another writer imported it first")
    return replace(last, before=tuple(parts))


def import_state(registry: Registry, data: str | bytes, source: str, *, dry_run: bool = False) -> Imported:
    """Land an export in ``registry`` (see the module's description)."""
    from gitreg.storage import artifacts

    doc, entries = load(data, source)
    snap = registry.snapshot()
    registry.branch_ref()
    dvc_text = (snap.read_files([layout.DVC_CONFIG_PATH])[layout.DVC_CONFIG_PATH] or b"").decode("utf-8")
    mine = dvcconfig.remote_options(dvc_text, layout.DVC_CONFIG_PATH)
    by_url = {options["url"]: name for name, options in mine.items()}
    theirs: dict[str, dict[str, str]] = doc["remotes"]
    remote_names = {
        name: (
            name if mine.get(name, {}).get("url") == options["url"] else by_url.get(options["url"], snap.config.remote)
        )
        for name, options in theirs.items()
    }
    label = doc["source"]["registry"]
    plan = _plan(snap, entries, remote_names, source)
    records = Records(registry)
    known = {t.ref for t in records.tips("refs/gitreg/runs/")}
    runs = [(run, points) for run, points in load_runs(doc, source) if run.ref not in known]
    if dry_run or not (plan.models or plan.versions or plan.stages or runs):
        found = _summary(plan, 0, None, ())
        return replace(found, runs=tuple(run.id for run, _ in runs)) if dry_run else found
    origin = {(v.model, v.version): v.stored for e in entries for v in e.versions}
    copied = 0
    moved_runs = [(run, run.moved_to(remote_names.__getitem__), points) for run, points in runs]
    with tempfile.TemporaryDirectory(prefix="gitreg-import-") as scratch:
        target = artifacts.Store(registry.dvc_root(snap), snap.config.remote)
        stores: dict[str, artifacts.Store] = {}
        for v in plan.versions:
            for theirs_stored, local in zip(origin[(v.model, v.version)], v.stored, strict=True):
                name = theirs_stored.remote
                if mine.get(local.remote, {}).get("url") == theirs[name]["url"]:
                    continue  # the same store: nothing to copy
                if name not in stores:
                    stores[name] = artifacts.Store.detached(name, theirs[name], Path(scratch) / name)
                copied += len(stores[name].copy_to(target, local))
        for run, local_run, _ in moved_runs:
            for key, artifact in run.artifacts.items():
                local = local_run.artifacts[key]
                if mine.get(local.remote, {}).get("url") == theirs[artifact.remote]["url"]:
                    continue
                if artifact.remote not in stores:
                    stores[artifact.remote] = artifacts.Store.detached(
                        artifact.remote, theirs[artifact.remote], Path(scratch) / artifact.remote
                    )
                copied += len(stores[artifact.remote].copy_to(target, local))

    def build(tip: Snapshot) -> Change:
        return _change(tip, _plan(tip, entries, remote_names, source), label)

    if plan.models or plan.versions or plan.stages:
        applied = registry.apply(build)
        found = _summary(applied.change.result, copied, applied.commit, applied.tag_names)
    else:
        found = _summary(plan, copied, None, ())
    for _, local_run, points in moved_runs:
        write_run(records, local_run, points, f"Import run {local_run.id} from {label}")
    return replace(found, runs=tuple(run.id for run, _, _ in moved_runs))


def _summary(plan: _Plan, copied: int, commit: str | None, tag_names: tuple[str, ...]) -> Imported:
    return Imported(
        tuple(m.name for m in plan.models),
        tuple((v.model, v.version) for v in plan.versions),
        tuple(plan.skipped),
        tuple((p.model, p.stage, p.version) for p in plan.stages),
        copied,
        commit,
        tag_names,
    )
