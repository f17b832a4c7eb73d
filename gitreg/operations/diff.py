"""What changed between two registry states (``gitreg diff``): versions
added and removed, pointers moved, annotations changed, gates changed.

Only the files git says differ are read, so the cost follows the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitreg.core.snapshot import Snapshot
from gitreg.documents import inputs, layout, manifest
from gitreg.documents.manifest import Model, ModelVersion, StagePointer
from gitreg.errors import InvalidDocumentError, NotFoundError

ANNOTATIONS = ("description", "labels", "status")
MODEL_FIELDS = ("description", "owners", "labels", "monitor")


@dataclass(frozen=True)
class Field:
    """One field of one document that differs: ``what`` names the document
    (``fraud 1.0.1``, ``fraud``, ``fraud production``)."""

    model: str
    what: str
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RegistryDiff:
    old: str  # commit ids
    new: str
    models_added: tuple[str, ...]
    models_removed: tuple[str, ...]
    versions_added: tuple[tuple[str, str], ...]  # (model, version)
    versions_removed: tuple[tuple[str, str], ...]
    pointers: tuple[Field, ...]  # field "version": holder before -> after (None: no holder)
    annotations: tuple[Field, ...]  # description, labels, status, evaluations (count)
    gates: tuple[Field, ...]  # field: "<stage>.<gate key>"
    models: tuple[Field, ...]  # model.yaml fields other than gates
    config_changed: bool
    unreadable: tuple[str, ...]  # files that did not parse on one side (`gitreg check` explains)

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.models_added,
                self.models_removed,
                self.versions_added,
                self.versions_removed,
                self.pointers,
                self.annotations,
                self.gates,
                self.models,
                self.config_changed,
                self.unreadable,
            )
        )


def _gates(model: Model | None) -> dict[str, Any]:
    return inputs.flatten(model.gates) if model is not None else {}


def _differences(model: str, what: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Field]:
    return [
        Field(model, what, key, before.get(key), after.get(key))
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    ]


def diff(old: Snapshot, new: Snapshot) -> RegistryDiff:
    """The registry changes from ``old`` to ``new``."""
    if old.commit is None or new.commit is None:
        raise NotFoundError("the registry has no commits to compare")
    repo = new.repo
    old_dir, new_dir = old.models_dir, new.models_dir
    changed = repo.changed(old.commit, new.commit, sorted({old_dir, new_dir, layout.CONFIG_PATH}))
    paths = [p for _, p in changed if p != layout.CONFIG_PATH]
    before_files = repo.read_paths(old.commit, paths)
    after_files = repo.read_paths(new.commit, paths)
    unreadable: list[str] = []

    def parse(path: str, data: bytes | None, models_dir: str) -> tuple[Any, Any]:
        where = layout.classify(models_dir, path)
        if data is None or where is None or where.kind in ("unexpected", "dvc"):  # a .dvc pointer is derived
            return where, None
        kind = {"model": Model, "version": ModelVersion, "stage": StagePointer}[where.kind]
        try:
            return where, manifest.parse(data, kind, path)
        except InvalidDocumentError:
            unreadable.append(path)
            return where, None

    versions_added, versions_removed, pointers, annotations, gates, models = [], [], [], [], [], []
    models_added, models_removed = [], []
    for path in paths:
        where_old, before = parse(path, before_files[path], old_dir)
        where_new, after = parse(path, after_files[path], new_dir)
        where = where_new or where_old
        if where is None or (before is None and after is None):
            continue
        if where.kind == "version":
            if before is None:
                versions_added.append((where.model, where.name))
            elif after is None:
                versions_removed.append((where.model, where.name))
            else:
                old_doc, new_doc = manifest._plain(before.to_doc()), manifest._plain(after.to_doc())
                what = f"{where.model} {where.name}"
                annotations += _differences(
                    where.model,
                    what,
                    {k: old_doc.get(k) for k in ANNOTATIONS},
                    {k: new_doc.get(k) for k in ANNOTATIONS},
                )
                if len(before.evaluations) != len(after.evaluations):
                    annotations.append(
                        Field(where.model, what, "evaluations", len(before.evaluations), len(after.evaluations))
                    )
        elif where.kind == "stage":
            old_version = before.version if before else None
            new_version = after.version if after else None
            if old_version != new_version:
                pointers.append(Field(where.model, f"{where.model} {where.name}", "version", old_version, new_version))
        elif where.kind == "model":
            if before is None:
                models_added.append(where.model)
            elif after is None:
                models_removed.append(where.model)
            gates += _differences(where.model, where.model, _gates(before), _gates(after))
            old_doc = manifest._plain(before.to_doc()) if before else {}
            new_doc = manifest._plain(after.to_doc()) if after else {}
            if before is not None and after is not None:
                models += _differences(
                    where.model,
                    where.model,
                    {k: old_doc.get(k) for k in MODEL_FIELDS},
                    {k: new_doc.get(k) for k in MODEL_FIELDS},
                )
    return RegistryDiff(
        old.commit,
        new.commit,
        tuple(models_added),
        tuple(models_removed),
        tuple(versions_added),
        tuple(versions_removed),
        tuple(pointers),
        tuple(annotations),
        tuple(gates),
        tuple(models),
        any(p == layout.CONFIG_PATH for _, p in changed),
        tuple(unreadable),
    )
