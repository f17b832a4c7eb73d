"""The Python API: one function per CLI command, with the same argument names.

``metrics``/``params`` take a mapping or a path to a JSON/YAML file; the
CLI's repeatable ``--metric``/``--metadata``/``--label k=v`` options arrive
here as the mappings ``metrics``/``metadata``/``labels``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gitreg import inputs
from gitreg.manifest import ModelVersion
from gitreg.registry import Initialised, Registry
from gitreg.snapshot import ModelSummary, VersionSummary

PathLike = str | os.PathLike[str]


def init(path: PathLike = ".", *, remote: str | None = None, models_dir: str = "models") -> Initialised:
    """Make ``path`` a registry (creating the folder and git repo if needed).

    Without ``remote`` artifacts go to a local folder, ``.gitreg/storage``;
    ``remote`` takes any DVC remote URL or path. Re-running is harmless.
    """
    return Registry.create(path, remote=remote, models_dir=models_dir)


def register(
    model: str,
    artifact: PathLike,
    *,
    version: str | None = None,
    bump: str | None = None,
    metrics: Mapping[str, float] | PathLike | None = None,
    params: Mapping[str, Any] | PathLike | None = None,
    metadata: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    description: str | None = None,
    registry: PathLike = ".",
) -> ModelVersion:
    """Store ``artifact`` and register it as a new version of ``model``.

    Without ``version`` the next ``bump`` (default: the registry's policy,
    patch) after the highest existing version is used; 1.0.0 for the first.
    """
    return (
        Registry.open(registry)
        .register(
            model,
            artifact,
            version=version,
            bump=bump,
            metrics=inputs.metrics(metrics),
            params=inputs.params(params),
            metadata=inputs.metadata(metadata),
            labels=inputs.labels(labels),
            description=inputs.description(description),
        )
        .version
    )


def list_models(*, registry: PathLike = ".") -> list[ModelSummary]:
    """Every model: latest version, version per stage, number of versions."""
    return Registry.open(registry).snapshot().summaries()


def list_versions(model: str, *, registry: PathLike = ".") -> list[VersionSummary]:
    """The versions of ``model``, newest first, with stage and metrics."""
    return Registry.open(registry).snapshot().version_summaries(model)


def show(ref: str, *, registry: PathLike = ".") -> ModelVersion:
    """The full manifest of ``MODEL@VERSION``, ``MODEL@STAGE`` or ``MODEL@latest``."""
    return Registry.open(registry).snapshot().resolve(ref)
