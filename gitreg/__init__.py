"""gitreg: a model registry whose database is a git repository.

The public API is imported lazily so that ``gitreg --help`` stays fast.
Every function of ``gitreg.api`` is here too, except ``check``, ``compare``,
``deploy``, ``history`` and ``lineage``, whose names are modules of this
package: use ``gitreg.api.check`` and so on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = {
    "archive",
    "demote",
    "deprecate",
    "diagnose",
    "diff",
    "doctor",
    "evaluate",
    "export_registry",
    "gc",
    "import_registry",
    "init",
    "list_models",
    "list_versions",
    "load_artifact",
    "metric_history",
    "model_show",
    "monitor",
    "open_registry",
    "promote",
    "pull",
    "register",
    "resolve",
    "rollback",
    "set_model",
    "show",
    "sync",
    "tags_sync",
    "unassign",
    "upgrade",
    "verify",
}
_TYPES = {
    "ModelVersion": "gitreg.manifest",
    "Model": "gitreg.manifest",
    "Artifact": "gitreg.manifest",
    "StagePointer": "gitreg.manifest",
    "RegistryConfig": "gitreg.manifest",
    "ModelSummary": "gitreg.snapshot",
    "VersionSummary": "gitreg.snapshot",
    "Initialised": "gitreg.registry",
    "Registered": "gitreg.registry",
    "ModelEdited": "gitreg.registry",
    "ModelList": "gitreg.snapshot",
    "GitregError": "gitreg.errors",
}

if TYPE_CHECKING:
    from gitreg.api import (
        archive,
        demote,
        deprecate,
        diagnose,
        diff,
        doctor,
        evaluate,
        export_registry,
        gc,
        import_registry,
        init,
        list_models,
        list_versions,
        load_artifact,
        metric_history,
        model_show,
        monitor,
        open_registry,
        promote,
        pull,
        register,
        resolve,
        rollback,
        set_model,
        show,
        sync,
        tags_sync,
        unassign,
        upgrade,
        verify,
    )
    from gitreg.errors import GitregError
    from gitreg.manifest import Artifact, Model, ModelVersion, RegistryConfig, StagePointer
    from gitreg.registry import Initialised, ModelEdited, Registered
    from gitreg.snapshot import ModelList, ModelSummary, VersionSummary


def __dir__() -> list[str]:
    return sorted(set(globals()) | _API | set(_TYPES))


def __getattr__(name: str) -> Any:
    import importlib

    if name in _API:
        return getattr(importlib.import_module("gitreg.api"), name)
    if name in _TYPES:
        return getattr(importlib.import_module(_TYPES[name]), name)
    raise AttributeError(f"module 'gitreg' has no attribute {name!r}")


__all__ = [
    "Artifact",
    "GitregError",
    "Initialised",
    "Model",
    "ModelEdited",
    "ModelList",
    "ModelSummary",
    "ModelVersion",
    "Registered",
    "RegistryConfig",
    "StagePointer",
    "VersionSummary",
    "__version__",
    "archive",
    "demote",
    "deprecate",
    "diagnose",
    "diff",
    "doctor",
    "evaluate",
    "export_registry",
    "gc",
    "import_registry",
    "init",
    "list_models",
    "list_versions",
    "load_artifact",
    "metric_history",
    "model_show",
    "monitor",
    "open_registry",
    "promote",
    "pull",
    "register",
    "resolve",
    "rollback",
    "set_model",
    "show",
    "sync",
    "tags_sync",
    "unassign",
    "upgrade",
    "verify",
]
