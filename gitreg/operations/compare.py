"""Versions of one model side by side: metrics with deltas, the params and
metadata that differ, and how each later version's signature and
environment differ from the first's (a signature change that breaks
callers is flagged)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitreg.core.snapshot import Snapshot
from gitreg.documents import inputs, interface
from gitreg.documents.manifest import ModelVersion
from gitreg.documents.names import Version, check_model_name
from gitreg.errors import NotFoundError, UsageError
from gitreg.operations import environment


@dataclass(frozen=True)
class Comparison:
    model: str
    versions: tuple[str, ...]
    metrics: Mapping[str, tuple[float | None, ...]]
    deltas: Mapping[str, tuple[float | None, ...]]  # against the first version
    params: Mapping[str, tuple[Any, ...]]  # only keys whose values differ (nested keys joined with '.')
    metadata: Mapping[str, tuple[Any, ...]]  # only keys whose values differ
    # for each later version, against the first: signature changes, environment differences
    signatures: Mapping[str, tuple[interface.Change, ...]]
    environments: Mapping[str, tuple[environment.Difference, ...]]
    stages: Mapping[str, str] = dataclasses.field(default_factory=dict)  # a version named by its stage: that stage

    @property
    def breaking(self) -> dict[str, list[interface.Change]]:
        """The later versions whose signature breaks callers of the first's, and how."""
        found = {v: [c for c in changes if c.breaking] for v, changes in self.signatures.items()}
        return {v: changes for v, changes in found.items() if changes}


_MISSING = object()


def _differing(docs: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Any, ...]]:
    keys = list(dict.fromkeys(k for d in docs for k in d))
    rows = {k: tuple(d.get(k, _MISSING) for d in docs) for k in keys}
    return {
        k: tuple(None if v is _MISSING else v for v in values)
        for k, values in rows.items()
        if any(v != values[0] for v in values[1:])
    }


def compare(snap: Snapshot, model: str, versions: Sequence[str]) -> Comparison:
    check_model_name(model)
    if len(versions) < 2:
        raise UsageError("name at least two versions to compare")
    docs: list[ModelVersion] = []
    stages: dict[str, str] = {}
    for text in versions:  # a version, a stage (its holder) or latest
        if text[:1].isdigit():
            found = snap.version(model, str(Version.parse(text)))
            if found is None:
                raise NotFoundError(f"{model} {Version.parse(text)} is not registered")
            docs.append(found)
            continue
        docs.append(snap.resolve(f"{model}@{text}"))
        if text != "latest":
            stages[docs[-1].version] = text
    names = list(dict.fromkeys(m for d in docs for m in d.metrics))
    metrics = {m: tuple(d.metrics.get(m) for d in docs) for m in names}
    deltas = {
        m: tuple(None if v is None or values[0] is None else v - values[0] for v in values)
        for m, values in metrics.items()
    }
    return Comparison(
        model,
        tuple(d.version for d in docs),
        metrics,
        deltas,
        _differing([inputs.flatten(d.params) for d in docs]),
        _differing([dict(d.metadata) for d in docs]),
        {d.version: tuple(interface.changes(docs[0].signature, d.signature)) for d in docs[1:]},
        {d.version: tuple(environment.differences(docs[0].environment, d.environment)) for d in docs[1:]},
        stages,
    )
