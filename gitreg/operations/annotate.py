"""Saying something about a version after its registration: labels,
description, and the degraded mark, as append-only records
(``manifest.Annotation``). The registered core never changes; ``gitreg
check`` accepts a version edit only when it is such an appended record
(``manifest.record_changes``)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, timestamp
from gitreg.core.transaction import Change
from gitreg.documents import inputs, manifest
from gitreg.documents.manifest import Annotation, ModelVersion
from gitreg.documents.names import Version, check_model_name
from gitreg.errors import ConflictError, NotFoundError, UsageError


def record(
    *,
    at: str,
    by: str,
    labels: Mapping[str, str] | None = None,
    unset_labels: Sequence[str] = (),
    description: str | None = None,
    degraded: bool | None = None,
    reason: str = "",
    evidence: str = "",
) -> Annotation:
    """One annotation, its inputs checked (a clear of the degraded mark needs
    a reason; a label is not both set and removed)."""
    labels = inputs.labels(labels)
    unset = tuple(inputs.check_key(key, "label") for key in dict.fromkeys(unset_labels))
    if description is not None:
        description = inputs.description(description)
    if len(reason) > 10000 or len(evidence) > 10000:
        raise UsageError("a reason or evidence is longer than 10000 characters")
    both = sorted(set(labels) & set(unset))
    if both:
        raise UsageError(f"label {both[0]!r} is both set and removed")
    if degraded is False and not reason.strip():
        raise UsageError("clearing the degraded mark needs a reason (--reason TEXT)")
    if not labels and not unset and description is None and degraded is None:
        raise UsageError("nothing to annotate: give --label, --unset-label, --description or --clear-degraded")
    return Annotation(at, by, reason, description, labels, unset, degraded, evidence)


def appended(snap: Snapshot, document: ModelVersion, note: Annotation) -> tuple[str, bytes, ModelVersion]:
    """The version's file with ``note`` appended and its labels and
    description as the note leaves them."""
    labels, description = note.apply(document.labels, document.description)
    updated = dataclasses.replace(
        document, labels=labels, description=description, annotations=(*document.annotations, note)
    )
    return (*manifest.version_file(snap.models_dir, updated), updated)


def annotate(
    registry: Registry,
    model: str,
    version: str,
    *,
    labels: Mapping[str, str] | None = None,
    unset_labels: Sequence[str] = (),
    description: str | None = None,
    clear_degraded: bool = False,
    reason: str = "",
) -> tuple[ModelVersion, str]:
    """Append one annotation to a version in one commit; returns the updated
    version and the commit."""
    check_model_name(model)
    wanted = str(Version.parse(version))
    note = record(
        at=timestamp(time.time()),
        by=registry.repo.identity(),
        labels=labels,
        unset_labels=unset_labels,
        description=description,
        degraded=False if clear_degraded else None,
        reason=reason,
    )

    def build(snap: Snapshot) -> Change:
        document = snap.version(model, wanted)
        if document is None:
            raise NotFoundError(f"{model} {wanted} is not registered")
        if clear_degraded and document.degraded is None:
            raise ConflictError(f"{model} {wanted} is not marked degraded")
        missing = [key for key in note.unset_labels if key not in document.labels]
        if missing:
            raise NotFoundError(f"{model} {wanted} has no label {missing[0]!r}")
        path, data, updated = appended(snap, document, note)
        trailers = {"Gitreg-Action": "annotate", "Gitreg-Model": model, "Gitreg-Version": wanted}
        if reason:
            trailers["Gitreg-Reason"] = " ".join(reason.split())
        return Change({path: data}, f"Annotate {model} {wanted}", trailers, result=updated)

    applied = registry.apply(build)
    return applied.change.result, applied.commit
