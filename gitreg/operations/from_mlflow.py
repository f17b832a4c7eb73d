"""``gitreg import --from mlflow TRACKING_URI``: an MLflow model registry
brought into this registry through MLflow's own client (the optional
``gitreg[mlflow]`` extra), losing nothing MLflow stores that a registry
version can hold. The mapping, reversible and recorded in each manifest's
``lineage.mlflow``:

- a model name is lowercased, each run of characters outside ``a-z 0-9 . _
  -`` becomes ``-`` ("Fraud Detector" -> ``fraud-detector``); two MLflow
  names that map to one are refused (the second is skipped, reported);
- MLflow's version ``N`` is ``N.0.0``;
- legacy stages: ``Staging`` -> stage ``staging``, ``Production`` ->
  ``production``, ``Archived`` -> status ``archived``; an alias -> the stage
  of its own name, lowercased, unless ``stage_map`` says otherwise; a stage
  the registry lacks is added to its configuration; an alias wins over a
  legacy stage mapped to the same stage, the latest-updated version over
  others in one legacy stage (each reported);
- a version's tags, verbatim, in ``lineage.mlflow.tags``, a model's in
  its ``origin.mlflow.tags`` (with its MLflow name); those that fit also as
  labels; descriptions as they are, and one longer than a manifest's field
  (10,000 characters) whole in ``lineage.mlflow.description`` or
  ``origin.mlflow.description`` too, its start in the field (flagged);
- the run: ``run_id``, ``experiment_id``, whether it was deleted (flagged,
  never dropped), its params, its metrics (latest values): those a
  manifest's ``metrics`` cannot hold (a name outside its pattern, NaN or an
  infinity) in ``lineage.mlflow.metrics``, verbatim (flagged);
- a version whose manifest would still break the schema (MLflow allows
  more than the manifest holds somewhere else) is skipped, reported, before
  any byte is downloaded;
- the artifacts, downloaded through MLflow and stored in the registry's DVC
  remote, hashed on the way, verified after; the signature their
  ``MLmodel`` file records as the manifest's ``signature`` (columns and
  tensors as name, dtype and shape, -1 as null), the input example's path
  in ``lineage.mlflow.input_example``.

History is replayed in time order: one commit per version, dated at its
creation in MLflow and authored by its MLflow user; a commit per legacy
stage holder, dated at the version's last update; aliases last, dated now
(MLflow keeps no history of aliases or stage transitions). A run imports
only what the registry does not have yet, so a second run writes nothing;
after MLflow moved on it mirrors the holders (an import's pointer whose
alias or legacy stage MLflow dropped is released; one moved here since is
left alone) and archives what MLflow archived. Edits of versions already
imported are reported by ``compare``, never applied: a manifest's core
never changes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, epoch, timestamp
from gitreg.core.transaction import Change, TagSpec
from gitreg.documents import dvcyaml, examples, interface, layout, manifest, tags
from gitreg.documents.examples import Example
from gitreg.documents.inputs import KEY_PATTERN, TEXT_MAX
from gitreg.documents.manifest import Artifact, InputExample, Model, ModelVersion, RegistryConfig, StagePointer
from gitreg.documents.names import check_name, is_model_name, is_name, shown
from gitreg.errors import ConflictError, InvalidDocumentError, UsageError
from gitreg.operations import lifecycle
from gitreg.operations import register as registering
from gitreg.storage import credentials

LEGACY_STAGES = {"Staging": "staging", "Production": "production"}
_KEY = re.compile(KEY_PATTERN.replace("$", r"\Z"))
_NOT_NAME = re.compile(r"[^a-z0-9._-]+")
LABEL_VALUE_MAX = 1024


@dataclass(frozen=True)
class SourceVersion:
    """One MLflow model version as read, in plain values."""

    number: int
    created: float  # epoch seconds
    updated: float
    user: str
    description: str
    tags: Mapping[str, str]
    stage: str  # MLflow's legacy stage: None, Staging, Production, Archived
    source: str
    run_id: str
    model_id: str
    run: Mapping[str, Any] | None  # experiment_id, deleted, metrics, params; None: the run is gone
    download: str  # where MLflow serves its artifacts


@dataclass(frozen=True)
class SourceModel:
    name: str
    description: str
    tags: Mapping[str, str]
    aliases: Mapping[str, int]
    versions: tuple[SourceVersion, ...]


@dataclass(frozen=True)
class Report:
    """What an import did (or, in a dry run, would do)."""

    source: str
    models: tuple[tuple[str, str], ...]  # (MLflow name, gitreg name)
    versions: tuple[tuple[str, str, int], ...]  # (model, gitreg version, MLflow version) imported
    pointers: tuple[tuple[str, str, str, str], ...]  # (model, stage, version, from: "alias X" | "stage X")
    released: tuple[tuple[str, str, str, str], ...]  # (model, stage, version, why): an import's pointer MLflow dropped
    archived: tuple[tuple[str, str], ...]  # (model, version) imported before, Archived in MLflow since
    stages_added: tuple[str, ...]
    skipped: tuple[str, ...]  # what was not imported, and why
    flagged: tuple[str, ...]  # imported, with something to know
    already: int  # versions the registry already had from this source
    verified: tuple[tuple[str, str, bool], ...] = ()  # (model, version, artifact verified in the remote)
    differences: tuple[str, ...] | None = None  # with verify: every field the registry and MLflow disagree on
    commit: str | None = None
    commits: int = 0
    never_stored: tuple[str, ...] = (
        "MLflow keeps no history of aliases or stage transitions: each holder is imported as of now "
        "(legacy stages dated at the version's last update, aliases at the import)",
    )


@dataclass
class _Plan:
    config: RegistryConfig
    stages_added: list[str] = field(default_factory=list)
    models: dict[str, Model] = field(default_factory=dict)  # new model.yaml files
    versions: list[ModelVersion] = field(default_factory=list)  # their commits are dated and authored as created
    pointers: list[tuple[StagePointer, float, str]] = field(default_factory=list)  # (pointer, when, from)
    released: list[tuple[StagePointer, str]] = field(default_factory=list)  # pointers to remove, and why
    archived: list[ModelVersion] = field(default_factory=list)  # versions imported before, Archived in MLflow since
    skipped: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    already: int = 0
    names: dict[str, str] = field(default_factory=dict)


def gitreg_name(name: str) -> str:
    """The documented mapping of an MLflow model name to a gitreg one."""
    return _NOT_NAME.sub("-", name.lower()).strip("-._")[:64].strip("-._")


def stage_map(given: Mapping[str, str] | None) -> dict[str, str]:
    """``--stage-map ALIAS_OR_STAGE=STAGE`` checked: targets are stage names."""
    return {str(k): check_name(v, "stage name") for k, v in (given or {}).items()}


@contextlib.contextmanager
def _quiet(uri: str) -> Iterator[None]:
    """Around every call into MLflow: its warnings, log lines and progress
    bars are its own (the report says what matters), and its default
    tracking and registry URI is ``uri``, the store being read — MLflow 3
    otherwise falls back on ``sqlite:///mlflow.db`` for some calls (a file
    store's listing, say) and creates that database in the current folder."""
    settings = {
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_REGISTRY_URI": uri,
    }
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_store(uri: str) -> None:
    """A local store must exist: MLflow would create an empty one where none is."""
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
        if not path.is_file():
            raise UsageError(f"no MLflow database at {path} (from {credentials.redact(uri)})")
    elif uri.startswith("file:") or "://" not in uri:
        path = Path(uri.removeprefix("file://").removeprefix("file:"))
        if not path.is_dir():
            raise UsageError(f"no MLflow file store at {path}")


def _client(uri: str) -> Any:
    _check_store(uri)
    with _quiet(uri):
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise UsageError("importing from MLflow needs its client: pip install 'gitreg[mlflow]'") from None
        try:
            return MlflowClient(tracking_uri=uri, registry_uri=uri)
        except Exception as exc:
            raise UsageError(
                f"cannot read the MLflow registry at {credentials.redact(uri)}: {_first_line(exc)}"
            ) from None


@dataclass(frozen=True)
class SourceRun:
    """A run of an MLflow tracking server, as ``register --from-run`` takes it."""

    run_id: str
    experiment_id: str
    metrics: dict[str, float]  # last values; names gitreg takes, finite values
    params: dict[str, str]
    code: dict[str, Any]  # from MLflow's mlflow.source.git.* tags
    skipped: tuple[str, ...]  # metrics left out, and why
    artifacts: tuple[str, ...]  # the run's top-level artifact paths


def read_run(uri: str, run_id: str) -> SourceRun:
    """The run ``run_id`` of the tracking server at ``uri``."""
    client = _client(uri)
    with _quiet(uri):
        try:
            found = client.get_run(run_id)
            listed = tuple(f.path for f in client.list_artifacts(run_id))
        except Exception as exc:
            raise UsageError(
                f"cannot read MLflow run {shown(run_id)} at {credentials.redact(uri)}: {_first_line(exc)}"
            ) from None
    metrics, skipped = {}, []
    for name, value in dict(found.data.metrics).items():
        if not re.fullmatch(KEY_PATTERN, name) or not math.isfinite(value):
            skipped.append(f"metric {shown(name)}: not a name or finite number gitreg keeps")
        else:
            metrics[name] = float(value)
    tags = dict(found.data.tags)
    code: dict[str, Any] = {}
    if tags.get("mlflow.source.git.repoURL"):
        code["repo"] = credentials.strip(tags["mlflow.source.git.repoURL"])
    if re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", tags.get("mlflow.source.git.commit", "")):
        code["commit"] = tags["mlflow.source.git.commit"]
    return SourceRun(
        run_id, str(found.info.experiment_id), metrics, dict(found.data.params), code, tuple(skipped), listed
    )


def download_run_artifact(uri: str, run: SourceRun, path: str, folder: Path) -> Path:
    """The run's artifact ``path`` downloaded into ``folder``."""
    if path.startswith("/") or ".." in Path(path).parts:
        raise UsageError(f"invalid artifact path {shown(path)} in an MLflow run")
    with _quiet(uri):
        from mlflow import artifacts as mlflow_artifacts

        try:
            got = mlflow_artifacts.download_artifacts(
                run_id=run.run_id, artifact_path=path, dst_path=str(folder), tracking_uri=uri
            )
        except Exception as exc:
            raise UsageError(f"cannot download {shown(path)} of MLflow run {run.run_id}: {_first_line(exc)}") from None
    found = Path(got)
    if not found.resolve().is_relative_to(folder.resolve()):
        raise UsageError(f"MLflow put {shown(path)} outside the download folder")
    return found


def read(uri: str, wanted: Sequence[str] = (), known: frozenset[tuple[str, int]] = frozenset()) -> list[SourceModel]:
    """Every registered model (or those named ``wanted``) with its versions,
    as MLflow's client returns them; the runs of ``known`` versions (MLflow
    name, number: imported before) are not fetched."""
    client = _client(uri)
    found = []
    with _quiet(uri):
        try:
            listed = _all(lambda token: client.search_registered_models(max_results=1000, page_token=token))
        except Exception as exc:  # MLflow's errors are its own classes; any means the store is not readable
            raise UsageError(
                f"cannot read the MLflow registry at {credentials.redact(uri)}: {_first_line(exc)}"
            ) from None
        names = {m.name for m in listed}
        missing = [n for n in wanted if n not in names]
        if missing:
            raise UsageError(f"MLflow at {credentials.redact(uri)} has no registered model {missing[0]!r}")
        for model in sorted(listed, key=lambda m: m.name):
            if wanted and model.name not in wanted:
                continue
            versions = _all(
                lambda token, name=model.name: client.search_model_versions(
                    f"name = '{_quoted(name)}'", max_results=1000, page_token=token
                )
            )
            found.append(
                SourceModel(
                    model.name,
                    model.description or "",
                    dict(model.tags or {}),
                    {str(a): int(v) for a, v in (model.aliases or {}).items()},
                    tuple(
                        sorted(
                            (_version(client, v, (model.name, int(v.version)) in known) for v in versions),
                            key=lambda v: v.number,
                        )
                    ),
                )
            )
    return found


def _all(page: Any) -> list[Any]:
    items: list[Any] = []
    token = None
    while True:
        batch = page(token)
        items += list(batch)
        token = getattr(batch, "token", None)
        if not token:
            return items


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _version(client: Any, v: Any, known: bool) -> SourceVersion:
    run: dict[str, Any] | None = None
    if v.run_id and not known:
        try:
            found = client.get_run(v.run_id)
        except Exception:  # a run removed for good: the version is imported without it, flagged
            found = None
        if found is not None:
            run = {
                "experiment_id": str(found.info.experiment_id),
                "deleted": found.info.lifecycle_stage == "deleted",
                "metrics": dict(found.data.metrics),
                "params": dict(found.data.params),
            }
    return SourceVersion(
        number=int(v.version),
        created=(v.creation_timestamp or 0) / 1000,
        updated=(v.last_updated_timestamp or v.creation_timestamp or 0) / 1000,
        user=v.user_id or "",
        description=v.description or "",
        tags=dict(v.tags or {}),
        stage=v.current_stage or "None",
        source=v.source or "",
        run_id=v.run_id or "",
        model_id=getattr(v, "model_id", None) or "",
        run=run,
        download="" if known else client.get_model_version_download_uri(v.name, v.version),
    )


# -- the plan ---------------------------------------------------------------------


def _labels(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if _KEY.match(k) and len(v) <= LABEL_VALUE_MAX and "\n" not in v}


def _identity(user: str, fallback: str) -> str:
    if not user:
        return fallback
    clean = re.sub(r"[<>\n\r\x00]", "", user)
    return f"{clean} <{clean}>" if "@" in clean else f"{clean} <{clean}@mlflow>"


def plan(snap: Snapshot, uri: str, source: Sequence[SourceModel], mapping: Mapping[str, str], who: str) -> _Plan:
    """What to write for ``source`` on ``snap`` (pure)."""
    planned = _Plan(snap.config)
    taken: dict[str, str] = {}
    shown_uri = credentials.redact(uri)
    for model in source:
        name = gitreg_name(model.name)
        if not is_model_name(name):
            planned.skipped.append(f"model {model.name!r}: no gitreg name can be made of it")
            continue
        if name in taken:
            planned.skipped.append(f"model {model.name!r}: maps to {name!r}, as {taken[name]!r} does")
            continue
        taken[name] = model.name
        planned.names[model.name] = name
        if snap.model(name) is None:
            snap.check_place(name)
            origin: dict[str, Any] = {"name": model.name}
            if model.tags:
                origin["tags"] = dict(model.tags)
            description = _fitted(model.description, origin, planned.flagged, f"model {name}", "origin")
            made = Model(name=name, description=description, labels=_labels(model.tags), origin={"mlflow": origin})
            try:
                manifest.render(made, layout.model_path(snap.models_dir, name))
            except (InvalidDocumentError, UsageError) as exc:
                planned.skipped.append(f"model {model.name!r}: {exc}")
                del planned.names[model.name]
                continue
            planned.models[name] = made
        _plan_versions(snap, planned, shown_uri, model, name, who)
        _plan_pointers(snap, planned, model, name, mapping)
        _keep_held(snap, planned, name)
    return planned


def _plan_versions(snap: Snapshot, planned: _Plan, uri: str, model: SourceModel, name: str, who: str) -> None:
    aliased = set(model.aliases.values())
    for v in model.versions:
        version = f"{v.number}.0.0"
        existing = snap.version(name, version)
        if existing is not None:
            mark = existing.lineage.get("mlflow")
            if isinstance(mark, Mapping) and mark.get("model") == model.name and mark.get("version") == v.number:
                planned.already += 1
                if v.stage == "Archived" and v.number not in aliased and existing.status == "active":
                    planned.archived.append(existing)
            else:
                planned.skipped.append(f"{model.name} {v.number}: {name} {version} exists here, not from MLflow")
            continue
        lineage: dict[str, Any] = {"model": model.name, "version": v.number, "tracking_uri": uri}
        for key, value in (("run_id", v.run_id), ("model_id", v.model_id), ("source", v.source), ("user_id", v.user)):
            if value:
                lineage[key] = value
        if v.stage != "None":
            lineage["stage"] = v.stage
        if v.tags:
            lineage["tags"] = dict(v.tags)
        metrics: dict[str, float] = {}
        params: dict[str, Any] = {}
        if v.run is not None:
            lineage["experiment_id"] = v.run["experiment_id"]
            metrics, kept = _metrics(v.run["metrics"])
            params = dict(v.run["params"])
            if kept:
                lineage["metrics"] = kept
                planned.flagged.append(
                    f"{name} {version}: metric(s) {', '.join(map(repr, kept))} kept in lineage.mlflow.metrics "
                    "only: a name outside gitreg's metric names, or a value that is not finite"
                )
            if v.run["deleted"]:
                lineage["run_deleted"] = True
                planned.flagged.append(f"{name} {version}: its run {v.run_id} was deleted in MLflow")
        elif v.run_id:
            lineage["run_deleted"] = True
            planned.flagged.append(f"{name} {version}: its run {v.run_id} is gone from MLflow (no metrics, params)")
        archived = v.stage == "Archived" and v.number not in aliased
        if v.stage == "Archived" and not archived:
            planned.flagged.append(f"{name} {version}: Archived in MLflow but an alias names it: kept active")
        description = _fitted(v.description, lineage, planned.flagged, f"{name} {version}", "lineage")
        document = ModelVersion(
            model=name,
            version=version,
            created_at=timestamp(v.created),
            created_by=_identity(v.user, who),
            artifact=Artifact(v.download.rstrip("/").rsplit("/", 1)[-1] or "model", "0" * 32, 0, snap.config.remote),
            metrics=metrics,
            params=params,
            labels=_labels(v.tags),
            description=description,
            lineage={"run": {"id": v.run_id, "system": "mlflow"}, "mlflow": lineage}
            if v.run_id
            else {"mlflow": lineage},
            status="archived" if archived else "active",
        )
        try:  # what MLflow allows beyond what a manifest holds, caught before a byte is downloaded
            manifest.version_files(snap.models_dir, document)
        except (InvalidDocumentError, UsageError) as exc:
            planned.skipped.append(f"{model.name} {v.number}: {exc}")
            continue
        planned.versions.append(document)


def _fitted(text: str, record: dict[str, Any], flagged: list[str], what: str, where: str) -> str:
    """A description as a manifest's field holds it: a longer one is kept
    whole in ``record`` (``lineage.mlflow`` or ``origin.mlflow``), its start
    in the field."""
    if len(text) <= TEXT_MAX:
        return text
    record["description"] = text
    flagged.append(
        f"{what}: its description is {len(text):,} characters: the first {TEXT_MAX:,} in description, "
        f"the whole in {where}.mlflow.description"
    )
    return text[:TEXT_MAX]


def _metrics(found: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float | str]]:
    """A run's metrics split: those a manifest's ``metrics`` holds, and the
    rest as ``lineage.mlflow.metrics`` keeps them (a value that is not
    finite as NaN, Infinity or -Infinity)."""
    fits: dict[str, float] = {}
    kept: dict[str, float | str] = {}
    for key, value in found.items():
        if math.isfinite(value) and _KEY.match(key):
            fits[key] = value
        elif math.isfinite(value):
            kept[key] = value
        else:
            kept[key] = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    return fits, kept


def _wanted(
    model: SourceModel, name: str, mapping: Mapping[str, str], notes: list[str], skipped: list[str]
) -> dict[str, tuple[SourceVersion, str, float]]:
    """{stage: (version, from "alias X" | "stage X", when)}: the holders
    MLflow's aliases and legacy stages name now, with ``notes`` on the
    choices made and what ``skipped`` could not be a pointer."""
    wanted: dict[str, tuple[SourceVersion, str, float]] = {}
    for v in sorted(model.versions, key=lambda v: v.updated):
        stage = mapping.get(v.stage, LEGACY_STAGES.get(v.stage))
        if stage is None:
            continue
        if stage in wanted:
            notes.append(
                f"{name}: {wanted[stage][0].number} and {v.number} are both {v.stage} in MLflow; "
                f"{stage} goes to the latest updated, {v.number}.0.0"
            )
        wanted[stage] = (v, f"stage {v.stage}", v.updated)
    now = time.time()
    by_number = {v.number: v for v in model.versions}
    for alias, number in sorted(model.aliases.items()):
        stage = mapping.get(alias, alias.lower())
        if number not in by_number:
            skipped.append(f"{name}: alias {alias!r} names version {number}, which MLflow does not list")
            continue
        if not is_name(stage):
            skipped.append(f"{name}: alias {alias!r} (version {number}): not a stage name gitreg accepts")
            continue
        if stage in wanted and wanted[stage][1].startswith("stage"):
            notes.append(f"{name}: alias {alias} takes {stage} over MLflow's legacy stage {wanted[stage][1][6:]}")
        wanted[stage] = (by_number[number], f"alias {alias}", now)
    return wanted


def _left(model: SourceModel, current: Mapping[str, StagePointer], wanted: Mapping[str, object]) -> list[StagePointer]:
    """The pointers an import set (their reason says so) that MLflow no
    longer backs: it removed the alias, or moved every version out of the
    legacy stage. A pointer moved here since is not the import's; one whose
    alias MLflow still has, mapped to another stage by this run's
    ``stage_map``, is left as it is (flagged)."""
    return [
        pointer
        for stage, pointer in sorted(current.items())
        if stage not in wanted and pointer.reason.startswith(_REASON) and not _backed(model, pointer)
    ]


def _backed(model: SourceModel, pointer: StagePointer) -> bool:
    """Whether the alias or legacy stage that set ``pointer`` is still in MLflow."""
    origin = pointer.reason.removeprefix(_REASON).removesuffix(")")
    kind, _, what = origin.partition(" ")
    if kind == "alias":
        return what in model.aliases
    return any(v.stage == what for v in model.versions)


_REASON = "imported from MLflow ("


def _keep_held(snap: Snapshot, planned: _Plan, name: str) -> None:
    """A version MLflow archived since the import is archived here too,
    unless it still holds a stage here once this run's pointers moved."""
    held = {stage: p.version for stage, p in snap.pointers(name).items()}
    held |= {p.stage: p.version for p, _, _ in planned.pointers if p.model == name}
    for p, _ in planned.released:
        if p.model == name:
            held.pop(p.stage, None)
    for document in [d for d in planned.archived if d.model == name]:
        stages = sorted(stage for stage, version in held.items() if version == document.version)
        if stages:
            planned.archived.remove(document)
            planned.flagged.append(
                f"{name} {document.version}: Archived in MLflow since the import, but holds {', '.join(stages)} "
                "here: left active"
            )


def _plan_pointers(snap: Snapshot, planned: _Plan, model: SourceModel, name: str, mapping: Mapping[str, str]) -> None:
    wanted = _wanted(model, name, mapping, planned.flagged, planned.skipped)
    current = snap.pointers(name)
    for stage, (v, origin, when) in sorted(wanted.items(), key=lambda item: item[1][2]):
        version = f"{v.number}.0.0"
        if stage in current and current[stage].version == version:
            continue
        if stage not in planned.config.stages:
            planned.config = replace(planned.config, stages=(*planned.config.stages, stage))
            planned.stages_added.append(stage)
        pointer = StagePointer(name, stage, version, timestamp(when), _identity(v.user, "MLflow <mlflow@mlflow>"))
        planned.pointers.append((replace(pointer, reason=f"{_REASON}{origin})"), when, origin))
    for pointer in _left(model, current, wanted):
        origin = pointer.reason.removeprefix(_REASON).removesuffix(")")
        planned.released.append((pointer, f"MLflow no longer has {origin}"))
    planned.flagged += [
        f"{name} {stage}: holds {p.version}, set from MLflow's {p.reason.removeprefix(_REASON).removesuffix(')')}, "
        "which this run maps to another stage: left as it is (give the --stage-map of the import that set it)"
        for stage, p in sorted(current.items())
        if stage not in wanted and p.reason.startswith(_REASON) and _backed(model, p)
    ]


# -- what the model's MLmodel file says --------------------------------------------


@dataclass(frozen=True)
class Described:
    """What a model folder MLflow wrote says about itself: the signature its
    ``MLmodel`` records, its input example (the path inside the artifact,
    and the example when it reads and fits the signature), the environment
    its ``requirements.txt`` and ``python_env.yaml`` pin, and what could not
    be read."""

    signature: dict[str, Any] | None = None
    example_path: str | None = None
    example: Example | None = None
    environment: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()


def described(folder: Path) -> Described:
    """``Described`` of a downloaded model folder (nothing for a file)."""
    from gitreg.documents import yamlio

    path = folder / "MLmodel"
    if not path.is_file():
        return Described()
    try:
        doc = yamlio.load(path.read_bytes(), "MLmodel")
    except Exception as exc:
        return Described(notes=(f"its MLmodel file is unreadable ({_first_line(exc)}): no signature",))
    notes: list[str] = []
    signature: dict[str, Any] | None = None
    raw = doc.get("signature") if isinstance(doc, dict) else None
    if isinstance(raw, dict):
        try:
            signature = interface.read(raw)
        except interface.SignatureError as exc:
            notes.append(f"its MLmodel signature is not one gitreg reads ({exc}): left in the artifact")
    info = doc.get("saved_input_example_info") if isinstance(doc, dict) else None
    example_path = info.get("artifact_path") if isinstance(info, dict) else None
    if not isinstance(example_path, str):
        example_path = None
    elif not _inside(folder, example_path):
        notes.append(f"MLmodel names input example {example_path!r}, which is not in the artifact")
        example_path = None
    example = _example(folder, example_path, signature, notes) if example_path else None
    return Described(signature, example_path, example, _environment(folder, notes), tuple(notes))


def _fitting(
    models_dir: str, document: ModelVersion, name: str, value: dict[str, Any] | None, notes: list[str]
) -> dict[str, Any] | None:
    """``value`` for the manifest's field ``name`` if the manifest takes it;
    else None, with a note."""
    if value is None:
        return None
    try:
        fields: dict[str, Any] = {name: value}
        manifest.version_files(models_dir, replace(document, **fields))
    except (InvalidDocumentError, UsageError) as exc:
        notes.append(f"its MLmodel {name} does not fit the manifest ({exc}): left in the artifact")
        return None
    return value


def _inside(folder: Path, relpath: str) -> bool:
    target = (folder / relpath).resolve()
    return target.is_file() and target.is_relative_to(folder.resolve())


def _example(folder: Path, relpath: str, signature: dict[str, Any] | None, notes: list[str]) -> Example | None:
    """The input example MLflow saved, as gitreg stores one (a copy beside
    the artifact), when it reads and fits the signature; else a note."""
    try:
        example = examples.read_file(folder / relpath)
    except UsageError as exc:
        notes.append(f"its input example is not one gitreg stores ({exc}): left in the artifact")
        return None
    misfit = examples.misfits(example, signature)
    if misfit:
        notes.append(f"its input example does not fit its signature ({misfit[0]}): left in the artifact")
        return None
    return example


def _environment(folder: Path, notes: list[str]) -> dict[str, Any] | None:
    """The environment MLflow pinned: requirements.txt, with python_env.yaml's
    Python (else conda.yaml)."""
    from gitreg.documents import yamlio
    from gitreg.operations import environment

    try:
        if (folder / "requirements.txt").is_file():
            found = environment.read_requirements(folder / "requirements.txt")
            python_env = folder / "python_env.yaml"
            if python_env.is_file():
                pinned = yamlio.load(python_env.read_bytes(), "python_env.yaml")
                if isinstance(pinned, dict) and isinstance(pinned.get("python"), str | int | float):
                    found["python"] = str(pinned["python"])[:64]
            return found
        if (folder / "conda.yaml").is_file():
            return environment.read_conda(folder / "conda.yaml")
    except (UsageError, InvalidDocumentError) as exc:
        notes.append(f"its environment files do not read ({exc}): left in the artifact")
    return None


# -- the commits ------------------------------------------------------------------


Stored = Mapping[tuple[str, str], tuple[Artifact, Described, InputExample | None]]  # artifact, what it says, example


def _changes(snap: Snapshot, planned: _Plan, stored: Stored, uri: str) -> Change:
    """One commit per version in creation order, then one per pointer in time
    order. GTO reads a stage tag at its version's registration commit: an
    assignment of a version this import registers is tagged with that
    commit, of one registered before at its registration commit, and the
    holder it replaces gets its unassignment there too."""
    trail = {"Gitreg-Action": "import", "Gitreg-Source": f"mlflow {credentials.redact(uri)}"}
    new = {(d.model, d.version) for d in planned.versions}
    on_registration: dict[tuple[str, str], list[TagSpec]] = {}
    pointer_tags: list[list[TagSpec]] = []
    for pointer, _, _ in planned.pointers:
        assign = tags.TagEvent("assign", pointer.model, stage=pointer.stage)
        specs = []
        held = snap.pointers(pointer.model).get(pointer.stage)
        if held is not None and held.version != pointer.version:
            unassign = tags.TagEvent("unassign", pointer.model, stage=pointer.stage)
            specs += _at_registration(snap, unassign, held.version)
        if (pointer.model, pointer.version) in new:
            on_registration.setdefault((pointer.model, pointer.version), []).append(TagSpec(assign, pointer.version))
        else:
            specs += _at_registration(snap, assign, pointer.version)
        pointer_tags.append(specs)
    parts: list[Change] = []
    first: dict[str, bytes | None] = {}
    if planned.stages_added:
        first[layout.CONFIG_PATH] = manifest.render(planned.config, layout.CONFIG_PATH)
    written_models: set[str] = set()
    dvc_yaml = snap.read_files([dvcyaml.PATH])[dvcyaml.PATH]
    for planned_version in sorted(planned.versions, key=lambda d: epoch(d.created_at)):
        artifact, said, example = stored[(planned_version.model, planned_version.version)]
        document = replace(
            planned_version,
            artifact=artifact,
            signature=said.signature,
            input_example=example,
            environment=said.environment,
        )
        if said.example_path is not None:
            lineage = dict(document.lineage)
            lineage["mlflow"] = dict(lineage["mlflow"]) | {"input_example": said.example_path}
            document = replace(document, lineage=lineage)
        files = dict(first)
        first = {}
        if document.model in planned.models and document.model not in written_models:
            path = layout.model_path(snap.models_dir, document.model)
            files[path] = manifest.render(planned.models[document.model], path)
            written_models.add(document.model)
        files |= manifest.version_files(snap.models_dir, document)
        files |= dvcyaml.registering(dvc_yaml, snap.models_dir, [document])
        dvc_yaml = files.get(dvcyaml.PATH, dvc_yaml)
        trailers = trail | {"Gitreg-Model": document.model, "Gitreg-Version": document.version}
        summary = f"Import {document.model} {document.version} from MLflow"
        specs = [TagSpec(tags.register(document.model, document.version), document.version)]
        specs += on_registration.get((document.model, document.version), [])
        if document.status == "archived":  # GTO's deregistration, beside its registration
            specs.append(
                TagSpec(tags.TagEvent("deregister", document.model, version=document.version), document.version)
            )
        parts.append(
            Change(files, summary, trailers, tags=specs, when=epoch(document.created_at), author=document.created_by)
        )
    for (pointer, when, origin), specs in zip(planned.pointers, pointer_tags, strict=True):
        path = layout.stage_path(snap.models_dir, pointer.model, pointer.stage)
        files = dict(first) | {path: manifest.render(pointer, path)}
        first = {}
        trailers = trail | {"Gitreg-Model": pointer.model, "Gitreg-Version": pointer.version}
        trailers |= {"Gitreg-Stage": pointer.stage, "Gitreg-Reason": f"MLflow {origin}"}
        summary = f"Import {pointer.model} {pointer.stage}: {pointer.version} (MLflow {origin})"
        parts.append(Change(files, summary, trailers, tags=specs, when=when))
    for pointer, why in planned.released:
        files = dict(first) | {layout.stage_path(snap.models_dir, pointer.model, pointer.stage): None}
        first = {}
        trailers = trail | {"Gitreg-Model": pointer.model, "Gitreg-Stage": pointer.stage}
        trailers |= {"Gitreg-From": pointer.version, "Gitreg-Reason": why}
        unassign = tags.TagEvent("unassign", pointer.model, stage=pointer.stage)
        summary = f"Import {pointer.model} {pointer.stage}: released {pointer.version} ({why})"
        parts.append(Change(files, summary, trailers, tags=_at_registration(snap, unassign, pointer.version)))
    for document in planned.archived:
        path, data, specs = lifecycle.status_change(snap, document, "archived")
        files = dict(first) | {path: data}
        first = {}
        trailers = trail | {"Gitreg-Model": document.model, "Gitreg-Version": document.version}
        summary = f"Import {document.model} {document.version}: archived (MLflow stage Archived)"
        parts.append(Change(files, summary, trailers | {"Gitreg-Reason": "MLflow stage Archived"}, tags=specs))
    if first:  # only new model.yaml files or stages: nothing else to import
        parts.append(Change(first, "Import from MLflow", trail))
    *before, last = parts
    return replace(last, before=tuple(before))


def _at_registration(snap: Snapshot, event: tags.TagEvent, version: str) -> list[TagSpec]:
    """``event``'s GTO tag at the registration commit of ``version`` (none
    when that commit cannot be found: the tag would land elsewhere)."""
    registered = snap.registration_commit(event.model, version)
    return [TagSpec(event, version, registered)] if registered is not None else []


def import_mlflow(
    registry: Registry,
    uri: str,
    *,
    models: Sequence[str] = (),
    mapping: Mapping[str, str] | None = None,
    dry_run: bool = False,
    verify: bool = False,
) -> Report:
    """Read the MLflow registry at ``uri`` and land what this registry lacks
    (see the module's description); the report says what was done. With
    ``verify``, the source is read again afterwards (a dry run: now) and
    compared field by field with the registry (``Report.differences``)."""
    from gitreg.storage import artifacts

    if not uri.strip():
        raise UsageError("give the MLflow tracking URI, e.g. sqlite:///mlflow.db or http://127.0.0.1:5000")
    chosen = stage_map(mapping)
    who = registry.repo.identity()
    snap = registry.snapshot()
    source = read(uri, models, _imported(snap))
    planned = plan(snap, uri, source, chosen, who)
    if dry_run or not (
        planned.versions
        or planned.pointers
        or planned.released
        or planned.archived
        or planned.models
        or planned.stages_added
    ):
        report = _report(uri, planned)
        return replace(report, differences=compare(registry.snapshot(), uri, models, chosen)) if verify else report
    by_name = {gitreg_name(m.name): m for m in source}
    stored: dict[tuple[str, str], tuple[Artifact, Described, InputExample | None]] = {}
    store = artifacts.Store(registry.dvc_root(snap), snap.config.remote)
    with tempfile.TemporaryDirectory(prefix="gitreg-mlflow-") as scratch:
        for document in planned.versions:
            number = int(document.version.split(".")[0])
            origin = next(v for v in by_name[document.model].versions if v.number == number)
            folder = Path(scratch) / document.model.replace("/", "--") / document.version
            folder.mkdir(parents=True)
            with _quiet(uri):
                import mlflow.artifacts

                try:
                    path = mlflow.artifacts.download_artifacts(
                        artifact_uri=origin.download, dst_path=str(folder), tracking_uri=uri
                    )
                except Exception as exc:
                    raise ConflictError(
                        f"cannot download {origin.download} ({document.model} {document.version}) through MLflow: "
                        f"{_first_line(exc)}; nothing was imported"
                    ) from None
            said = described(Path(path))
            notes = list(said.notes)
            said = replace(
                said,
                signature=_fitting(snap.models_dir, document, "signature", said.signature, notes),
                environment=_fitting(snap.models_dir, document, "environment", said.environment, notes),
            )
            planned.flagged += [f"{document.model} {document.version}: {note}" for note in notes]
            artifact = store.push(store.prepare(artifacts.check_source(path)))
            example = registering.store_example(store, said.example) if said.example is not None else None
            stored[(document.model, document.version)] = (artifact, said, example)

    def build(tip: Snapshot) -> Change:
        again = plan(tip, uri, source, chosen, who)
        if {(d.model, d.version) for d in again.versions} - set(stored):
            raise ConflictError("the registry changed while importing: run the import again")
        return replace(_changes(tip, again, stored, uri), result=again)

    applied = registry.apply(build)
    done: _Plan = applied.change.result
    checked = tuple((d.model, d.version, not store.verify(stored[(d.model, d.version)][0])) for d in done.versions)
    done.flagged += [note for note in planned.flagged if note not in done.flagged]
    report = replace(
        _report(uri, done), verified=checked, commit=applied.commit, commits=len(applied.change.before) + 1
    )
    return replace(report, differences=compare(registry.snapshot(), uri, models, chosen)) if verify else report


def compare(snap: Snapshot, uri: str, models: Sequence[str], mapping: Mapping[str, str]) -> tuple[str, ...]:
    """Read the MLflow registry again and say every field where ``snap``
    differs from it: each model's tags and description; each version's
    presence, number, description, tags, labels, run metrics and params,
    creation time, status; each alias's and legacy stage's holder, and a
    pointer an import set that MLflow no longer backs (empty: they agree)."""
    found: list[str] = []
    for model in read(uri, models):
        name = gitreg_name(model.name)
        pointers = snap.pointers(name) if is_model_name(name) else {}
        document = snap.model(name) if is_model_name(name) else None
        record = document.origin.get("mlflow") if document is not None else None
        if document is not None and isinstance(record, Mapping) and record.get("name") == model.name:
            whole = record.get("description", document.description)  # a model.yaml the import wrote
            if whole != model.description:
                found.append(f"{name} description: {shown(whole)} here, {shown(model.description)} in MLflow")
            if dict(record.get("tags", {})) != dict(model.tags):
                found.append(
                    f"{name} tags: {shown(dict(record.get('tags', {})))} here, {shown(dict(model.tags))} in MLflow"
                )
        for v in model.versions:
            version = f"{v.number}.0.0"
            mine = snap.version(name, version) if is_model_name(name) else None
            if mine is None:
                found.append(f"{model.name} {v.number}: not in the registry ({name} {version})")
                continue
            found += [f"{name} {version} {what}" for what in _field_differences(mine, model, v)]
        wanted = _wanted(model, name, mapping, [], [])
        for stage, (v, origin, _) in sorted(wanted.items()):
            held = pointers.get(stage)
            if held is None or held.version != f"{v.number}.0.0":
                holder = held.version if held else "nothing"
                found.append(f"{name} {origin}: MLflow names {v.number}, {stage} here holds {holder}")
        for pointer in _left(model, pointers, wanted):
            origin = pointer.reason.removeprefix(_REASON).removesuffix(")")
            found.append(f"{name} {pointer.stage}: holds {pointer.version} here, set from {origin}, gone from MLflow")
    return tuple(found)


def _field_differences(mine: ModelVersion, model: SourceModel, v: SourceVersion) -> Iterator[str]:
    mark = mine.lineage.get("mlflow")
    mark = mark if isinstance(mark, Mapping) else {}
    archived = v.stage == "Archived" and v.number not in model.aliases.values()
    expected: dict[str, tuple[object, object]] = {
        "lineage.mlflow.model": (mark.get("model"), model.name),
        "status": (mine.status, "archived" if archived else "active"),
        "lineage.mlflow.version": (mark.get("version"), v.number),
        "lineage.mlflow.run_id": (mark.get("run_id", ""), v.run_id),
        "lineage.mlflow.tags": (dict(mark.get("tags", {})), dict(v.tags)),
        "description": (mark.get("description", mine.description), v.description),
        "labels": (dict(mine.labels), _labels(v.tags)),
        "created_at": (mine.created_at, timestamp(v.created)),
    }
    if v.run is not None:
        metrics, kept = _metrics(v.run["metrics"])
        expected["metrics"] = (dict(mine.metrics), metrics)
        expected["lineage.mlflow.metrics"] = (dict(mark.get("metrics", {})), kept)
        expected["params"] = (dict(mine.params), dict(v.run["params"]))
        expected["lineage.mlflow.run_deleted"] = (mark.get("run_deleted", False), v.run["deleted"])
    for what, (here, there) in expected.items():
        if here != there:
            yield f"{what}: {shown(here)} here, {shown(there)} in MLflow"


def _imported(snap: Snapshot) -> frozenset[tuple[str, int]]:
    """(MLflow name, number) of every version an earlier import brought."""
    return frozenset(
        (mark["model"], mark["version"])
        for _, mark in snap.marked("mlflow")
        if isinstance(mark.get("model"), str) and isinstance(mark.get("version"), int)
    )


def _report(uri: str, planned: _Plan) -> Report:
    return Report(
        source=f"mlflow {credentials.redact(uri)}",
        models=tuple(sorted(planned.names.items())),
        versions=tuple((d.model, d.version, int(d.version.split(".")[0])) for d in planned.versions),
        pointers=tuple((p.model, p.stage, p.version, origin) for p, _, origin in planned.pointers),
        released=tuple((p.model, p.stage, p.version, why) for p, why in planned.released),
        archived=tuple((d.model, d.version) for d in planned.archived),
        stages_added=tuple(planned.stages_added),
        skipped=tuple(planned.skipped),
        flagged=tuple(planned.flagged),
        already=planned.already,
    )
