"""The data registry: datasets are versioned as models are (the same files,
tags, stages, status and retention, with ``type: dataset`` in their
model.yaml), and a model version names the dataset versions it was trained
and evaluated on (``datasets`` in its manifest). This module links them both
ways: from a registration's references and DVC hashes to links, and from a
dataset version to every model version that used it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitreg.core.snapshot import Snapshot
from gitreg.documents.manifest import ROLES, DatasetLink, Model, ModelVersion
from gitreg.documents.names import shown
from gitreg.errors import ConflictError, NotFoundError, UsageError


def check_kind(name: str, described: Model | None, kind: str) -> None:
    """Refuse registering a model version into a dataset, or the reverse."""
    if described is None or described.type == kind:
        return
    if described.is_dataset:
        raise UsageError(f"{name} is a dataset: register its versions with `gitreg dataset register {name}`")
    raise UsageError(f"{name} is a model: a dataset needs a name of its own")


def dataset_version(snap: Snapshot, ref: str) -> ModelVersion:
    """The dataset version ``ref`` (``NAME@VERSION``, ``@latest``, ``@STAGE``)
    names; an error if it names a model's."""
    found = snap.resolve(ref)
    described = snap.model(found.model)
    if described is None or not described.is_dataset:
        raise UsageError(f"{shown(ref)} is a model version, not a dataset version")
    return found


def links(
    snap: Snapshot, refs: Sequence[tuple[str, str]], data: Iterable[Mapping[str, Any]]
) -> tuple[DatasetLink, ...]:
    """The links a registration records: ``refs`` given (``(ref, role)``),
    then every dataset version whose bytes the training project's DVC
    tracked as an input (``lineage.data``: the same md5)."""
    found: dict[tuple[str, str, str], DatasetLink] = {}
    for ref, role in refs:
        if role not in ROLES:
            raise UsageError(f"invalid dataset role {shown(role)}: use {' or '.join(ROLES)}")
        if "@" not in ref:
            raise UsageError(f"invalid dataset reference {shown(ref)}: use NAME@VERSION (or NAME@latest)")
        version = dataset_version(snap, ref)
        found.setdefault((version.model, version.version, role), DatasetLink(version.model, version.version, role))
    inputs = [d for d in data if isinstance(d.get("md5"), str)]
    if inputs:
        by_hash = _dataset_hashes(snap)
        for dep in inputs:
            match = by_hash.get(dep["md5"])
            if match is not None and not any(k[:2] == match for k in found):
                found[(*match, "train")] = DatasetLink(*match, role="train", path=str(dep["path"]))
    return tuple(found.values())


def _dataset_hashes(snap: Snapshot) -> dict[str, tuple[str, str]]:
    """Each dataset version's DVC md5, to the oldest version that has it."""
    hashes: dict[str, tuple[str, str]] = {}
    for name in datasets(snap):
        for version in reversed(snap.all_versions(name)):
            hashes.setdefault(version.artifact.md5, (name, version.version))
    return hashes


def datasets(snap: Snapshot) -> list[str]:
    """The registry's datasets, by name."""
    return [name for name in snap.model_names() if is_dataset(snap, name)]


def is_dataset(snap: Snapshot, name: str) -> bool:
    described = snap.model(name)
    return described is not None and described.is_dataset


def held_links(snap: Snapshot) -> dict[tuple[str, str], list[str]]:
    """{(dataset, version): ["MODEL VERSION (STAGE, ...)", ...]} over the
    versions that hold a stage: what retention keeps a dataset version for."""
    found: dict[tuple[str, str], list[str]] = {}
    for name in snap.model_names():
        if is_dataset(snap, name):
            continue
        for version, stages in snap.holders(name).items():
            document = snap.version(name, version)
            for link in document.datasets if document is not None else ():
                found.setdefault((link.dataset, link.version), []).append(f"{name} {version} ({', '.join(stages)})")
    return found


def existing(snap: Snapshot, found: Sequence[DatasetLink]) -> tuple[DatasetLink, ...]:
    """``found``, each checked to name a registered dataset version on ``snap``."""
    for link in found:
        if snap.version(link.dataset, link.version) is None:
            raise NotFoundError(f"dataset {link.ref} is not registered")
    return tuple(found)


@dataclass(frozen=True)
class Use:
    """A model version trained or evaluated on a dataset version, and the
    stages it holds."""

    model: str
    version: str
    role: str
    stages: tuple[str, ...]
    status: str


def used_by(snap: Snapshot, dataset: str, version: str) -> list[Use]:
    """Every model version linked to ``dataset`` ``version``, by model then
    newest version first."""
    uses = []
    for name in snap.model_names():
        if is_dataset(snap, name):
            continue
        holders = snap.holders(name)
        for candidate in snap.all_versions(name):
            for link in candidate.datasets:
                if (link.dataset, link.version) == (dataset, version):
                    stages = holders.get(candidate.version, ())
                    uses.append(Use(name, candidate.version, link.role, stages, candidate.state))
    return uses


def guard(snap: Snapshot, dataset: str, version: str, what: str, force: bool, reason: str | None) -> None:
    """Refuse to ``what`` a dataset version a stage holder was trained or
    evaluated on, unless forced with a reason."""
    if not is_dataset(snap, dataset):
        return
    users = held_links(snap).get((dataset, version), [])
    if not users:
        return
    named = ", ".join(users[:5])
    more = f" and {len(users) - 5} more" if len(users) > 5 else ""
    if not force:
        raise ConflictError(
            f"dataset {dataset} {version} is used by {named}{more}: to {what} it anyway, give --force and --reason"
        )
    if not (reason or "").strip():
        raise UsageError(f"--force to {what} dataset {dataset} {version} needs a --reason")
