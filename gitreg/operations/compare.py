"""Versions of one model side by side: metrics with deltas, and the params
and metadata that differ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitreg.core.snapshot import Snapshot
from gitreg.documents import inputs
from gitreg.documents.manifest import ModelVersion
from gitreg.documents.names import Version, check_model_name
from gitreg.errors import NotFoundError, UsageError


@dataclass(frozen=True)
class Comparison:
    model: str
    versions: tuple[str, ...]
    metrics: Mapping[str, tuple[float | None, ...]]
    deltas: Mapping[str, tuple[float | None, ...]]  # against the first version
    params: Mapping[str, tuple[Any, ...]]  # only keys whose values differ (nested keys joined with '.')
    metadata: Mapping[str, tuple[Any, ...]]  # only keys whose values differ


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
    for text in versions:
        version = str(Version.parse(text))
        document = snap.version(model, version)
        if document is None:
            raise NotFoundError(f"{model} {version} is not registered")
        docs.append(document)
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
    )
