"""Runs kept by other tools, as sources for ``register --from-run``, so a
team keeps its tracking tool:

- ``dvc:NAME`` — a DVC experiment of the DVC project the current folder
  is in (``dvc exp show --json``: its params, metrics, the hashes of its
  dependencies, its outputs); the artifact is one of its outputs
  (``--artifact PATH``), read from DVC's cache at the experiment's commit
  and checked against the hash the experiment recorded;
- ``runs:/RUN_ID`` — a run of the MLflow tracking server
  ``MLFLOW_TRACKING_URI`` names (its last metrics, params, git tags); the
  artifact is one of the run's artifact paths (``runs:/RUN_ID/PATH``, or
  ``--artifact PATH``).

Each yields what ``runs.FromRun`` carries; the version's ``lineage.run``
names the source (``system``: ``dvc-exp`` or ``mlflow``)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gitreg.documents.inputs import KEY_PATTERN
from gitreg.documents.names import shown
from gitreg.errors import ArtifactError, NotFoundError, UsageError
from gitreg.operations import lineage
from gitreg.operations.runs import FromRun
from gitreg.storage import credentials


def names_external(ref: str) -> bool:
    return ref.startswith(("dvc:", "runs:/"))


@contextmanager
def source(ref: str, artifact: str | None) -> Iterator[FromRun]:
    if ref.startswith("dvc:"):
        with _dvc_experiment(ref.removeprefix("dvc:"), artifact) as found:
            yield found
    else:
        with _mlflow_run(ref.removeprefix("runs:/"), artifact) as found:
            yield found


# -- DVC experiments ------------------------------------------------------------------


def _project() -> Path:
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / ".dvc").is_dir():
            return folder
    raise UsageError("--from-run dvc:NAME reads the DVC project of the current folder, and there is none here")


def _experiments(project: Path) -> list[dict[str, Any]]:
    """What ``dvc exp show --json`` prints, read through DVC's own library."""
    from dvc.repo import Repo as DvcRepo

    try:
        with DvcRepo(str(project)) as repo:
            rows = [state.dumpd() for state in repo.experiments.show()]
    except Exception as exc:  # DVC's own errors: a broken project, say
        raise UsageError(f"cannot read the DVC experiments of {project}: {exc}") from None
    found = []
    for row in rows:
        for group in row.get("experiments") or []:
            found += [r for r in group.get("revs") or [] if isinstance(r, dict)]
    return found


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= _flat(value, f"{name}.")
        elif isinstance(value, int | float) and not isinstance(value, bool) and re.fullmatch(KEY_PATTERN, name):
            out[name] = float(value)
    return out


@contextmanager
def _dvc_experiment(name: str, artifact: str | None) -> Iterator[FromRun]:
    project = _project()
    matches = [
        e
        for e in _experiments(project)
        if name in (e.get("name"), e.get("rev")) or (str(e.get("rev", "")).startswith(name) and len(name) >= 7)
    ]
    if not matches:
        raise NotFoundError(f"no DVC experiment {shown(name)} in {project} (dvc exp show lists them)")
    experiment = matches[0]
    data = experiment.get("data") or {}
    params: dict[str, Any] = {}
    for entry in (data.get("params") or {}).values():
        for key, value in ((entry or {}).get("data") or {}).items():
            params.setdefault(str(key), value)
    metrics: dict[str, float] = {}
    for entry in (data.get("metrics") or {}).values():
        metrics |= _flat((entry or {}).get("data") or {})
    outs = {path: out for path, out in (data.get("outs") or {}).items() if isinstance(out, dict) and out.get("hash")}
    if artifact is None:
        if len(outs) != 1:
            raise UsageError(f"DVC experiment {name} has outputs {', '.join(sorted(outs))}: choose one with --artifact")
        artifact = next(iter(outs))
    if artifact not in outs:
        raise NotFoundError(f"DVC experiment {name} has no output {shown(artifact)} ({', '.join(sorted(outs))})")
    deps = [
        {"path": path, "md5": dep["hash"]} | ({"size": dep["size"]} if isinstance(dep.get("size"), int) else {})
        for path, dep in (data.get("deps") or {}).items()
        if isinstance(dep, dict)
        and isinstance(dep.get("hash"), str)
        and re.fullmatch(r"[0-9a-f]{32}(\.dir)?", dep["hash"])
    ]
    rev = str(experiment.get("rev"))
    workspace = lineage.capture(project).lineage.get("code") or {}
    code = {k: v for k, v in workspace.items() if k == "repo"}  # the experiment's commit, not the workspace's state
    code |= {"commit": rev} if re.fullmatch(r"[0-9a-f]{40}", rev) else {}
    found_lineage: dict[str, Any] = {
        "code": code,
        "run": {"system": "dvc-exp", "id": str(experiment.get("name") or rev)},
    }
    if deps:
        found_lineage["data"] = deps
    from dvc.api import DVCFileSystem

    with tempfile.TemporaryDirectory(prefix="gitreg-dvc-exp-") as folder:
        target = Path(folder) / Path(artifact).name
        try:
            DVCFileSystem(str(project), rev=rev).get(artifact, str(target), recursive=True)
        except Exception as exc:  # DVC's own errors: the output is not in its cache, say
            raise ArtifactError(f"cannot read {artifact} of DVC experiment {name}: {exc}") from None
        yield FromRun(target, metrics, params, found_lineage, None, md5=str(outs[artifact]["hash"]))


# -- MLflow runs ------------------------------------------------------------------------


@contextmanager
def _mlflow_run(text: str, artifact: str | None) -> Iterator[FromRun]:
    from gitreg.operations import from_mlflow

    run_id, _, path = text.partition("/")
    if not re.fullmatch(r"[0-9a-f]{32}", run_id):
        raise UsageError(f"invalid MLflow run {shown(run_id)}: use runs:/RUN_ID (32 hex digits) or runs:/RUN_ID/PATH")
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise UsageError("--from-run runs:/... reads the MLflow tracking server MLFLOW_TRACKING_URI names: set it")
    found = from_mlflow.read_run(uri, run_id)
    chosen = path or artifact
    if chosen is None:
        if len(found.artifacts) != 1:
            listed = ", ".join(found.artifacts) or "none"
            raise UsageError(f"MLflow run {run_id} has artifacts {listed}: choose one (runs:/{run_id}/PATH)")
        chosen = found.artifacts[0]
    run: dict[str, Any] = {"system": "mlflow", "id": run_id, "url": credentials.strip(uri)}
    recorded: dict[str, Any] = {"run": run} | ({"code": found.code} if found.code else {})
    with tempfile.TemporaryDirectory(prefix="gitreg-mlflow-run-") as folder:
        downloaded = from_mlflow.download_run_artifact(uri, found, chosen, Path(folder))
        yield FromRun(downloaded, found.metrics, found.params, recorded, None)
