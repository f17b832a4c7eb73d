"""gitreg: a model registry whose database is a git repository.

The public API is imported lazily so that ``gitreg --help`` stays fast.
Every function of ``gitreg.api`` is here too: ``gitreg.register``,
``gitreg.promote``, ``gitreg.check``, one per command. The implementation
lives in sub-packages named for what they own (``storage``, ``documents``,
``core``, ``operations``, ``ci``); docs/design.md maps them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_TYPES = {
    "ModelVersion": "gitreg.documents.manifest",
    "Model": "gitreg.documents.manifest",
    "Artifact": "gitreg.documents.manifest",
    "StagePointer": "gitreg.documents.manifest",
    "RegistryConfig": "gitreg.documents.manifest",
    "ModelSummary": "gitreg.core.snapshot",
    "VersionSummary": "gitreg.core.snapshot",
    "Initialised": "gitreg.operations.init",
    "Registered": "gitreg.operations.register",
    "Signed": "gitreg.operations.sign",
    "ModelEdited": "gitreg.operations.model",
    "ModelList": "gitreg.core.snapshot",
    "GitregError": "gitreg.errors",
    "GateFailed": "gitreg.operations.lifecycle",
    "Use": "gitreg.operations.datasets",
    "Run": "gitreg.documents.runs",
    "ActiveRun": "gitreg.operations.runs",
}

if TYPE_CHECKING:
    from gitreg.api import (
        annotate,
        approve,
        archive,
        check,
        compare,
        compare_runs,
        demo,
        demote,
        deploy,
        deprecate,
        diagnose,
        diff,
        doctor,
        end_run,
        environment_differences,
        environment_file,
        evaluate,
        export_registry,
        gc,
        gc_runs,
        history,
        import_gto,
        import_mlflow,
        import_registry,
        init,
        lineage,
        list_models,
        list_runs,
        list_versions,
        load_artifact,
        load_input_example,
        load_model,
        log_run,
        metric_history,
        model_show,
        monitor,
        open_registry,
        promote,
        pull,
        register,
        register_dataset,
        resolve,
        rollback,
        run_points,
        set_model,
        show,
        show_run,
        sign,
        stages_held,
        start_run,
        status,
        sync,
        tags_sync,
        unassign,
        upgrade,
        used_by,
        verify,
    )
    from gitreg.core.snapshot import ModelList, ModelSummary, VersionSummary
    from gitreg.documents.manifest import Artifact, Model, ModelVersion, RegistryConfig, StagePointer
    from gitreg.documents.runs import Run
    from gitreg.errors import GitregError
    from gitreg.operations.datasets import Use
    from gitreg.operations.init import Initialised
    from gitreg.operations.lifecycle import GateFailed
    from gitreg.operations.model import ModelEdited
    from gitreg.operations.register import Registered
    from gitreg.operations.runs import ActiveRun
    from gitreg.operations.sign import Signed


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
    "ActiveRun",
    "Artifact",
    "GateFailed",
    "GitregError",
    "Initialised",
    "Model",
    "ModelEdited",
    "ModelList",
    "ModelSummary",
    "ModelVersion",
    "Registered",
    "RegistryConfig",
    "Run",
    "Signed",
    "StagePointer",
    "Use",
    "VersionSummary",
    "__version__",
    "annotate",
    "approve",
    "archive",
    "build_site",
    "check",
    "compare",
    "compare_runs",
    "demo",
    "demote",
    "deploy",
    "deprecate",
    "diagnose",
    "diff",
    "doctor",
    "end_run",
    "environment_differences",
    "environment_file",
    "evaluate",
    "export_registry",
    "gc",
    "gc_runs",
    "history",
    "import_gto",
    "import_mlflow",
    "import_registry",
    "init",
    "lineage",
    "list_models",
    "list_runs",
    "list_versions",
    "load_artifact",
    "load_input_example",
    "load_model",
    "log_run",
    "metric_history",
    "model_show",
    "monitor",
    "open_registry",
    "promote",
    "pull",
    "register",
    "register_dataset",
    "resolve",
    "rollback",
    "run_points",
    "serve_site",
    "set_model",
    "show",
    "show_run",
    "sign",
    "stages_held",
    "start_run",
    "status",
    "sync",
    "tags_sync",
    "unassign",
    "upgrade",
    "used_by",
    "verify",
]
_API = frozenset(__all__) - set(_TYPES) - {"__version__"}  # the functions, from gitreg.api
