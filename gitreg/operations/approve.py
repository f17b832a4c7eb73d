"""Approving a version for a stage: an append-only record in its manifest
(``manifest.Approval``: who by the git identity, when, an optional note),
which ``require_approvals`` / ``require_owner_approvals`` gates count.

An approval is as trustworthy as the commit that carries it: without signed
commits, the identity is what the approver's git configuration says. What
makes it count in CI is that ``gitreg check --base`` reads approvals as the
base branch has them, so an approval reaches a gate only through a change
the branch's protection (review, CODEOWNERS) has already let in, never in
the same pull request as the promotion it unlocks (docs/lifecycle.md)."""

from __future__ import annotations

import dataclasses
import time

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, timestamp
from gitreg.core.transaction import Change
from gitreg.documents import manifest
from gitreg.documents.manifest import Approval, ModelVersion
from gitreg.documents.names import Version, check_model_name
from gitreg.errors import ConflictError, NotFoundError, UsageError


def approve(registry: Registry, model: str, version: str, stage: str, note: str = "") -> tuple[ModelVersion, str]:
    """Append the caller's approval of ``version`` for ``stage`` in one
    commit; returns the updated version and the commit. One approval per
    person and stage."""
    check_model_name(model)
    wanted = str(Version.parse(version))
    if len(note) > 10000 or "\x00" in note:
        raise UsageError("the note is longer than 10000 characters or contains a NUL character")
    record = Approval(timestamp(time.time()), registry.repo.identity(), stage, note)

    def build(snap: Snapshot) -> Change:
        snap.check_stage(stage)
        document = snap.version(model, wanted)
        if document is None:
            raise (
                snap.unknown_model(model)
                if snap.model(model) is None
                else NotFoundError(f"{model} {wanted} is not registered")
            )
        if document.status != "active":
            raise ConflictError(f"{model} {wanted} is {document.status}: it cannot be approved for a stage")
        if record.by in document.approvers(stage):
            raise ConflictError(f"{record.by} has already approved {model} {wanted} for {stage}")
        updated = dataclasses.replace(document, approvals=(*document.approvals, record))
        path, data = manifest.version_file(snap.models_dir, updated)
        trailers = {"Gitreg-Action": "approve", "Gitreg-Model": model, "Gitreg-Version": wanted, "Gitreg-Stage": stage}
        return Change({path: data}, f"Approve {model} {wanted} for {stage}", trailers, result=updated)

    applied = registry.apply(build)
    return applied.change.result, applied.commit
