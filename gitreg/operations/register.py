"""``gitreg register``: store an artifact in the registry's DVC remote and
commit its version manifest (with its DVC pointer and dvc.yaml entry),
tagged for GTO, in one commit."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from gitreg import lazy
from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, timestamp
from gitreg.core.transaction import Change, TagSpec
from gitreg.documents import dvcyaml, layout, manifest, tags
from gitreg.documents.manifest import Artifact, InputExample, Model, ModelVersion
from gitreg.documents.names import (
    BUMPS,
    Bump,
    Version,
    check_date_version,
    check_model_name,
    date_version,
    next_version,
)
from gitreg.errors import ConflictError, NotFoundError, UsageError
from gitreg.operations import datasets

if TYPE_CHECKING:
    from gitreg.documents.examples import Example
    from gitreg.operations import lineage
    from gitreg.operations.deploy import AutoDeployed
    from gitreg.operations.sign import Signed
    from gitreg.storage import artifacts
    from gitreg.storage.artifacts import Progress
else:
    lineage = lazy.module("gitreg.operations.lineage")
    artifacts = lazy.module("gitreg.storage.artifacts")


@dataclass(frozen=True)
class Registered:
    """A registration: the manifest committed, the commit and its GTO tag."""

    manifest: ModelVersion
    commit: str
    tag: str
    attempts: int = 1
    lineage_notes: tuple[str, ...] = ()  # what lineage (and environment) capture could not find
    deployed: AutoDeployed | None = None  # what model.yaml's auto_deploy did afterwards
    signed: Signed | None = None  # the signature committed after the registration (``--sign``)

    @property
    def model(self) -> str:
        return self.manifest.model

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def artifact(self) -> Artifact:
        return self.manifest.artifact


def register(
    registry: Registry,
    model: str,
    artifact: str | os.PathLike[str],
    *,
    version: str | None = None,
    bump: str | None = None,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    description: str = "",
    progress: Progress | None = None,
    run_id: str | None = None,
    run_url: str | None = None,
    parent: str | None = None,
    require_clean: bool = False,
    signature: Mapping[str, Any] | None = None,
    input_example: Example | None = None,
    environment: Mapping[str, Any] | None = None,
    environment_notes: tuple[str, ...] = (),
    kind: str = "model",
    versioning: str | None = None,
    data: Mapping[str, Any] | None = None,
    dataset_refs: Sequence[tuple[str, str]] = (),
    recorded_lineage: Mapping[str, Any] | None = None,
    expected_md5: str | None = None,
) -> Registered:
    """Store the artifact (and the input example beside it) and commit a
    new version manifest, tagged for GTO.

    Inputs must already be checked values (see ``gitreg.documents.inputs``);
    without ``metrics``, those of the metrics files DVC's lineage names are read.
    ``kind`` is ``dataset`` for a dataset version (``data``: its metadata;
    ``versioning``: the scheme a new dataset takes). ``dataset_refs``
    (``(NAME@VERSION, role)``) link a model version to the dataset versions
    it was trained or evaluated on; those whose bytes the training project's
    DVC tracked as the artifact's inputs are linked by their hash too.
    ``recorded_lineage`` (a run's) replaces what would be captured from the
    artifact's place (``--from-run``: the artifact is a pulled copy), and
    ``expected_md5`` is what its source recorded of the bytes.
    """
    check_model_name(model)
    if version is not None and bump is not None:
        raise UsageError("give either a version or a bump, not both")
    requested = Version.parse(version) if version is not None else None
    if bump is not None and bump not in BUMPS:
        raise UsageError(f"invalid bump {bump!r}: use patch, minor or major")
    part = cast(Bump, bump)
    source = artifacts.check_source(artifact)
    wanted_parent = str(Version.parse(parent)) if parent is not None else None
    if recorded_lineage is not None:
        recorded = dict(recorded_lineage) | ({"parent": wanted_parent} if wanted_parent else {})
        captured = lineage.Captured(recorded, ())
    else:
        captured = lineage.capture(
            source.path, run_id=run_id, run_url=run_url, parent=wanted_parent, require_clean=require_clean
        )
    if not metrics and captured.metrics_files:
        from gitreg.documents import inputs

        metrics = {}
        for file in captured.metrics_files:
            metrics |= inputs.metrics(file)
    snap = registry.snapshot()
    config = snap.config
    registry.branch_ref()
    links = datasets.links(snap, dataset_refs, captured.lineage.get("data", ())) if kind == "model" else ()
    identity = registry.repo.identity()
    store = artifacts.Store(registry.dvc_root(snap), config.remote, progress=progress)
    prepared = store.prepare(source)
    created = time.time()
    # A file's hash is only known once it is pushed: the checks before the
    # push run with a stand-in entry (everything but the hash is checked).
    stored = [prepared.artifact or Artifact(source.path.name, "0" * 32, 0, config.remote)]
    example = example_entry(input_example, config.remote) if input_example is not None else None

    def build(snap: Snapshot) -> Change:
        snap.check_place(model)
        described = snap.model(model)
        datasets.check_kind(model, described, kind)
        scheme = described.versioning if described is not None else versioning or "semver"
        existing = snap.versions(model)
        # a tag differing only in case is the same file on case-insensitive file systems
        tagged = registry.repo.tag_refs(tags.model_patterns(model), ignore_case=True)
        for name in tagged:
            event = tags.parse(name) or tags.parse(name.lower())  # Fraud@v1.0.1 takes 1.0.1 too
            if event and event.version and event.action == "register":
                with contextlib.suppress(UsageError):  # GTO allows build metadata; we do not
                    existing.append(Version.parse(event.version))
        if scheme == "date":
            if part is not None:
                raise UsageError(f"{model} is versioned by date: --bump does not apply")
            if requested is not None:
                check_date_version(requested)
            chosen = str(
                requested or date_version(datetime.datetime.fromtimestamp(created, datetime.UTC).date(), existing)
            )
            if requested in existing:
                raise ConflictError(f"{model} {chosen} is already registered")
        elif requested is None:
            chosen = str(next_version(existing, part or cast(Bump, config.default_bump)))
        else:
            chosen = str(requested)
            if requested in existing:
                raise ConflictError(f"{model} {chosen} is already registered")
        if wanted_parent is not None and Version.parse(wanted_parent) not in snap.versions(model):
            raise NotFoundError(f"parent {model} {wanted_parent} is not registered")
        event = tags.register(model, chosen)
        if event.name() in tagged or event.name().lower() in {t.lower() for t in tagged}:
            raise ConflictError(f"tag {event.name()} already exists")
        document = ModelVersion(
            model=model,
            version=chosen,
            created_at=timestamp(created),
            created_by=identity,
            artifact=stored[0],
            metrics=metrics or {},
            params=params or _merged_params(captured.params),
            metadata=metadata or {},
            labels=labels or {},
            description=description,
            lineage=captured.lineage,
            signature=signature,
            input_example=example,
            environment=environment,
            data=data,
            datasets=datasets.existing(snap, links),
        )
        files: dict[str, bytes | None] = dict(manifest.version_files(config.models_dir, document))
        current = snap.read_files([dvcyaml.PATH])[dvcyaml.PATH]
        files |= dvcyaml.registering(current, config.models_dir, [document])
        if described is None:
            model_file = layout.model_path(config.models_dir, model)
            files[model_file] = manifest.render(Model(name=model, type=kind, versioning=scheme), model_file)
        return Change(
            files,
            f"Register {model} {chosen}",
            {"Gitreg-Action": "register", "Gitreg-Model": model, "Gitreg-Version": chosen},
            tags=[TagSpec(event, chosen)],
            result=document,
        )

    build(snap)  # every check runs before any byte is stored
    stored[0] = store.push(prepared)
    if expected_md5 is not None and stored[0].md5 != expected_md5:
        from gitreg.errors import ArtifactError

        raise ArtifactError(
            f"{source.path.name} hashes to {stored[0].md5}, not the {expected_md5} its run recorded; nothing registered"
        )
    if input_example is not None:
        store_example(store, input_example)
    applied = registry.apply(build)
    notes = (*captured.notes, *environment_notes)
    return Registered(applied.change.result, applied.commit, applied.tag_names[0], applied.attempts, notes)


def example_entry(example: Example, remote: str) -> InputExample:
    """An input example's manifest entry, its hashes computed from its bytes."""
    data = example.data
    artifact = Artifact(
        example.file_name,
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        len(data),
        remote,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return InputExample(artifact, example.format, example.inputs, example.rows)


def store_example(store: artifacts.Store, example: Example) -> InputExample:
    """Push an input example's bytes beside the artifact; its manifest entry
    (the remote must report the hashes computed from the bytes)."""
    from gitreg.errors import ArtifactError

    entry = example_entry(example, store.remote_name)
    with tempfile.TemporaryDirectory(prefix="gitreg-example-") as folder:
        path = Path(folder) / example.file_name
        path.write_bytes(example.data)
        pushed = store.push(store.prepare(artifacts.check_source(path)))
    if (pushed.md5, pushed.sha256) != (entry.artifact.md5, entry.artifact.sha256):
        raise ArtifactError(f"storing the input example: the remote got {pushed.md5}, expected {entry.artifact.md5}")
    return entry


def _merged_params(by_file: Mapping[str, Any]) -> dict[str, Any]:
    """dvc.lock's params ({file: {name: value}}) as one mapping; a name found
    in two files keeps the first."""
    merged: dict[str, Any] = {}
    for values in by_file.values():
        if isinstance(values, Mapping):
            for key, value in values.items():
                merged.setdefault(str(key), value)
    return merged
