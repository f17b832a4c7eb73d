"""``gitreg model set``: edit a model's model.yaml (description, owners,
labels, gates, signature policy, monitor threshold, auto-deploy) in one
commit."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot
from gitreg.core.transaction import Change
from gitreg.documents import layout, manifest, signatures
from gitreg.documents.manifest import AutoDeploy, Model, SignaturePolicy
from gitreg.documents.names import check_model_name
from gitreg.errors import InvalidDocumentError, NotFoundError, UsageError


@dataclass(frozen=True)
class ModelEdited:
    """``set_model``'s result: model.yaml as it now is, and the commit (None
    when nothing changed)."""

    model: Model
    commit: str | None


GateEdit = tuple[str, str, float | bool]  # (stage, gate key, threshold)


def set_model(
    registry: Registry,
    model: str,
    *,
    description: str | None = None,
    owners: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    gates: Sequence[GateEdit] = (),
    remove_gates: Sequence[tuple[str, str]] = (),
    monitor_threshold: float | None = None,
    auto_deploy: Mapping[str, Any] | bool | None = None,
    require_signature: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    remove_require_signature: Sequence[str] = (),
) -> ModelEdited:
    """Edit ``model.yaml`` (created if the model has none yet) in one
    commit; the commit is None when nothing changed. ``auto_deploy``:
    checked settings (``inputs.auto_deploy``), or False to remove them.
    ``require_signature``: {stage: policy} replacing those stages' policies,
    its key and certificate files already committed and readable;
    ``remove_require_signature``: stages whose policy goes."""
    check_model_name(model)
    policies = {stage: SignaturePolicy.from_doc(doc) for stage, doc in (require_signature or {}).items()}

    def build(snap: Snapshot) -> Change:
        deploys = [auto_deploy["stage"]] if isinstance(auto_deploy, Mapping) else []
        signed = [*policies, *remove_require_signature]
        for stage in [g[0] for g in gates] + [r[0] for r in remove_gates] + deploys + signed:
            snap.check_stage(stage)
        _check_policy_files(snap, policies.values())
        snap.check_place(model)
        current = snap.model(model) or Model(name=model)
        updated = edit_model(
            current, description=description, owners=owners, labels=labels, gates=gates, remove_gates=remove_gates
        )
        if monitor_threshold is not None:
            updated = dataclasses.replace(updated, monitor_threshold=monitor_threshold)
        if isinstance(auto_deploy, Mapping):
            updated = dataclasses.replace(updated, auto_deploy=AutoDeploy.from_doc(auto_deploy))
        elif auto_deploy is False:
            updated = dataclasses.replace(updated, auto_deploy=None)
        if policies or remove_require_signature:
            kept = {s: p for s, p in updated.require_signature.items() if s not in remove_require_signature}
            updated = dataclasses.replace(updated, require_signature={**kept, **policies})
        path = layout.model_path(snap.models_dir, model)
        files: dict[str, bytes | None] = {} if updated == snap.model(model) else {path: manifest.render(updated, path)}
        return Change(
            files, f"Update model {model}", {"Gitreg-Action": "set-model", "Gitreg-Model": model}, result=updated
        )

    change = build(registry.snapshot())
    if not change.files:
        return ModelEdited(change.result, None)
    applied = registry.apply(build)
    return ModelEdited(applied.change.result, applied.commit)


def _check_policy_files(snap: Snapshot, policies: Iterable[SignaturePolicy]) -> None:
    """A policy's keys and certificate authorities are committed and read as such."""
    for policy in policies:
        found = snap.read_files(list(policy.files()))
        for path in policy.files():
            data = found.get(path)
            if data is None:
                raise UsageError(f"{path} is not in the registry: commit the key or certificate there first")
            try:
                if path in policy.keys:
                    signatures.load_public_key(data, path)
                else:
                    signatures.load_certificates(data, path)
            except InvalidDocumentError as exc:
                raise UsageError(str(exc)) from None


def edit_model(
    current: Model,
    *,
    description: str | None = None,
    owners: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    gates: Sequence[GateEdit] = (),
    remove_gates: Sequence[tuple[str, str]] = (),
) -> Model:
    """``current`` with the given fields replaced, labels merged, gates set
    and removed (a stage left with no gates disappears)."""
    new_gates = {stage: dict(values) for stage, values in current.gates.items()}
    for stage, key in remove_gates:
        if key not in new_gates.get(stage, {}):
            raise NotFoundError(f"model {current.name!r} has no gate {key!r} for stage {stage!r}")
        del new_gates[stage][key]
    for stage, key, threshold in gates:
        new_gates.setdefault(stage, {})[key] = threshold
    return dataclasses.replace(
        current,
        description=current.description if description is None else description,
        owners=current.owners if owners is None else tuple(owners),
        labels={**current.labels, **(labels or {})},
        gates={stage: values for stage, values in new_gates.items() if values},
    )
