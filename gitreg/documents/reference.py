"""References to a version: what users type to name one.

gitreg's own form is ``MODEL@VERSION``, ``MODEL@STAGE`` or ``MODEL@latest``.
The spellings of the tools teams arrive from name the same things and are
read as such: GTO's ``MODEL@vX.Y.Z`` (its registration tag) and
``MODEL#STAGE``, and MLflow's model URIs ``models:/MODEL@ALIAS``,
``models:/MODEL/VERSION``, ``models:/MODEL/STAGE`` and ``models:/MODEL/latest``.
"""

from __future__ import annotations

from gitreg.errors import UsageError

MLFLOW_SCHEME = "models:/"


def split(ref: str) -> tuple[str, str]:
    """(model, what): ``what`` is a version (without GTO's ``v``), a stage,
    ``latest``, or "" for a bare model name. Names are not checked here."""
    text = ref
    if text.startswith(MLFLOW_SCHEME):
        rest = text[len(MLFLOW_SCHEME) :]
        model, sep, what = rest.partition("@") if "@" in rest else rest.rpartition("/")  # NAMESPACE/NAME/VERSION
        if not sep or not what or "/" in what:
            raise UsageError(f"{ref!r} is not a model URI: use models:/MODEL@STAGE or models:/MODEL/VERSION")
    elif "#" in text and "@" not in text:
        model, _, what = text.partition("#")
        if not what:
            raise UsageError(f"{ref!r} names no stage: use MODEL#STAGE")
    else:
        model, sep, what = text.partition("@")
        if sep and not what:
            raise UsageError(f"{ref!r} names no version: use MODEL@VERSION, MODEL@STAGE or MODEL@latest")
    if what[:1] == "v" and what[1:2].isdigit():
        what = what[1:]  # GTO's tag spelling of a version
    return model, what


def names_version(ref: str) -> bool:
    """Whether ``ref`` names one version (not a bare model)."""
    return bool(split(ref)[1])
