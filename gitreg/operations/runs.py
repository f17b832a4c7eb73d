"""The experiment registry: training runs recorded beside the registry
branch (``core.records``, ``refs/gitreg/runs/<experiment>/<id>``), each
with its params, every logged point of its metrics, the artifacts it stored
in the registry's DVC remote, the code it ran from and its environment.

A run is written as it goes: ``start`` makes its ref, every ``log`` and
``end`` (and a Python run's ``flush``) adds a commit holding the whole
``run.yaml`` and the metric points appended so far. A version registered
``--from-run`` takes the run's metrics, params, artifact, code lineage and
environment, and names the run in ``lineage.run``; ``gc`` keeps those runs."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from gitreg import lazy
from gitreg.core.records import Records, Tip
from gitreg.core.registry import Registry
from gitreg.core.snapshot import timestamp
from gitreg.documents import query
from gitreg.documents.manifest import Artifact
from gitreg.documents.names import check_model_name, shown
from gitreg.documents.runs import (
    ARTIFACT_NAME,
    ID_PATTERN,
    POINTS_FILE,
    RUN_FILE,
    STATUSES,
    Point,
    Run,
    check_metric,
    new_id,
    parse,
    parse_points,
    points_text,
    render,
)
from gitreg.errors import ConflictError, InvalidDocumentError, NotFoundError, UsageError

if TYPE_CHECKING:
    from gitreg.operations import lineage
    from gitreg.storage import artifacts
else:
    lineage = lazy.module("gitreg.operations.lineage")
    artifacts = lazy.module("gitreg.storage.artifacts")

PREFIX = "refs/gitreg/runs/"
FIELDS = ("id", "experiment", "name", "status", "started_at", "started_by", "ended_at")


def _ms() -> int:
    return int(time.time() * 1000)


def _read(records: Records, commit: str, where: str) -> Run:
    data = records.read(commit, [RUN_FILE])[RUN_FILE]
    if data is None:
        raise InvalidDocumentError(f"{where}: no {RUN_FILE}")
    return parse(data, f"{where}:{RUN_FILE}")


def _update(records: Records, ref: str, change: Callable[[Run], Run], points: Sequence[Point], message: str) -> Run:
    """One commit on the run's ref: ``change`` applied to the run as its
    tip has it, ``points`` appended to its metrics file."""
    done: list[Run] = []

    def build(tip: str | None) -> Mapping[str, bytes]:
        if tip is None:
            raise NotFoundError(f"run {ref.removeprefix(PREFIX)} does not exist")
        files = records.read(tip, [RUN_FILE, POINTS_FILE])
        if files[RUN_FILE] is None:
            raise InvalidDocumentError(f"{ref}: no {RUN_FILE}")
        updated = change(parse(files[RUN_FILE] or b"", f"{ref}:{RUN_FILE}")).logged(points)
        done[:] = [updated]
        return {RUN_FILE: render(updated), POINTS_FILE: (files[POINTS_FILE] or b"") + points_text(points)}

    records.write(ref, build, message)
    return done[0]


def start(
    registry: Registry,
    experiment: str,
    *,
    name: str = "",
    params: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    environment: Mapping[str, Any] | None = None,
    where: Path | None = None,
) -> Run:
    """A new run of ``experiment``, its code lineage read from the git
    repository ``where`` (default: the current folder) sits in."""
    check_model_name(experiment)
    if len(name) > 256 or any(not c.isprintable() for c in name):
        raise UsageError(f"invalid run name {shown(name)}: at most 256 printable characters")
    captured = lineage.capture(where or Path.cwd())
    run = Run(
        id=new_id(),
        experiment=experiment,
        status="running",
        started_at=timestamp(time.time()),
        started_by=registry.repo.identity(),
        name=name,
        labels=dict(labels or {}),
        params=dict(params or {}),
        lineage={k: v for k, v in captured.lineage.items() if k in ("code", "run")},
        environment=environment,
    )
    render(run)  # every check before anything is written
    records = Records(registry)
    records.write(run.ref, lambda tip: _first(run, tip), f"Start run {run.id} of {experiment}")
    return run


def _first(run: Run, tip: str | None, points: bytes = b"") -> Mapping[str, bytes]:
    if tip is not None:
        raise ConflictError(f"run {run.id} already exists")
    return {RUN_FILE: render(run), POINTS_FILE: points}


def write_run(records: Records, run: Run, points: bytes, message: str) -> None:
    """A whole run as a new ref (an import): refused if the ref exists."""
    records.write(run.ref, lambda tip: _first(run, tip, points), message)


def with_points(registry: Registry, found: Sequence[Run]) -> list[tuple[Run, bytes]]:
    """Each run with its metrics file's bytes (for an export)."""
    records = Records(registry)
    tips = {t.ref: t.commit for t in _tips(records)}
    commits = [tips[run.ref] for run in found if run.ref in tips]
    points = registry.repo.read_commits_path(commits, POINTS_FILE)
    return [(run, points.get(tips.get(run.ref, ""), None) or b"") for run in found]


# -- finding runs ------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    run: Run
    commit: str


def _tips(records: Records, experiment: str | None = None) -> list[Tip]:
    prefix = PREFIX + (f"{experiment}/" if experiment else "")
    return [t for t in records.tips(prefix) if ID_PATTERN.fullmatch(t.ref.rsplit("/", 1)[-1])]


def tip_of(records: Records, ref: str) -> Tip:
    """The run ``ref`` names: its id, a unique prefix of at least 6 of its
    digits, or ``EXPERIMENT/ID``."""
    text = ref.strip()
    experiment, _, wanted = text.rpartition("/")
    if not 6 <= len(wanted) <= 16 or not all(c in "0123456789abcdef" for c in wanted):
        raise UsageError(f"invalid run {shown(ref)}: give its id (16 hex digits, or at least the first 6)")
    if experiment:
        check_model_name(experiment)
    found = [t for t in _tips(records, experiment or None) if t.ref.rsplit("/", 1)[-1].startswith(wanted)]
    if not found:
        raise NotFoundError(f"no run {shown(ref)} in {records.registry.name}")
    if len(found) > 1:
        raise UsageError(f"run {shown(ref)} is ambiguous: {', '.join(t.ref.rsplit('/', 1)[-1] for t in found[:5])}")
    return found[0]


def find(registry: Registry, ref: str) -> Found:
    records = Records(registry)
    tip = tip_of(records, ref)
    return Found(_read(records, tip.commit, tip.ref), tip.commit)


def listed(registry: Registry, experiment: str | None = None, where: Sequence[str] = ()) -> list[Run]:
    """Every run (of ``experiment``), newest first, those ``where`` holds for."""
    if experiment is not None:
        check_model_name(experiment)
    conditions = [c for expression in where for c in query.parse(expression, FIELDS)]
    records = Records(registry)
    tips = _tips(records, experiment)
    blobs = registry.repo.read_commits_path([t.commit for t in tips], RUN_FILE)
    found = []
    for tip in tips:
        data = blobs.get(tip.commit)
        if data is None:
            continue
        run = parse(data, f"{tip.ref}:{RUN_FILE}")
        if query.matches(conditions, run.to_doc()):
            found.append(run)
    return sorted(found, key=lambda r: (r.started_at, r.id), reverse=True)


def points(registry: Registry, found: Found) -> list[Point]:
    data = Records(registry).read(found.commit, [POINTS_FILE])[POINTS_FILE] or b""
    return parse_points(data, f"{found.run.ref}:{POINTS_FILE}")


# -- a run in progress ---------------------------------------------------------------


def check_status(status: str) -> str:
    if status not in STATUSES[1:]:
        raise UsageError(f"invalid status {status!r}: use finished, failed or killed")
    return status


def _check_step(step: int | None) -> None:
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise UsageError(f"invalid step {shown(step)}: a whole number from 0")


def _added(params: Mapping[str, Any], labels: Mapping[str, str], files: Mapping[str, Artifact]) -> Callable[[Run], Run]:
    """The change that adds params, labels and stored files to a run."""

    def change(run: Run) -> Run:
        return dataclasses.replace(
            run,
            params={**run.params, **params},
            labels={**run.labels, **labels},
            artifacts={**run.artifacts, **files},
        )

    return change


def _ended(status: str, reason: str) -> Callable[[Run], Run]:
    """The change that ends a running run."""
    check_status(status)

    def change(run: Run) -> Run:
        if run.status != "running":
            raise ConflictError(f"run {run.id} has already ended ({run.status})")
        return dataclasses.replace(run, status=status, ended_at=timestamp(time.time()), reason=reason)

    return change


def log(
    registry: Registry,
    ref: str,
    *,
    metrics: Mapping[str, float] | None = None,
    step: int | None = None,
    params: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    files: Sequence[str | os.PathLike[str]] = (),
) -> Run:
    """One commit adding metric points (at ``step``: by default each
    metric's next), params, labels and stored files to a run."""
    _check_step(step)
    records = Records(registry)
    tip = tip_of(records, ref)
    current = _read(records, tip.commit, tip.ref)
    now = _ms()
    logged = []
    for name, value in (metrics or {}).items():
        metric, number = check_metric(name, value)
        logged.append(Point(metric, current.steps.get(metric, 0) if step is None else step, number, now))
    stored = {_artifact_name(Path(file)): file for file in files}
    entries = {name: store(registry, Path(file)) for name, file in stored.items()}
    change = _added(params or {}, labels or {}, entries)
    return _update(records, tip.ref, change, logged, f"Log run {current.id}")


def end(registry: Registry, ref: str, status: str = "finished", reason: str = "") -> Run:
    change = _ended(status, reason)
    records = Records(registry)
    tip = tip_of(records, ref)
    return _update(records, tip.ref, change, (), f"End run {tip.ref.rsplit('/', 1)[-1]} ({status})")


def _artifact_name(path: Path, name: str | None = None) -> str:
    chosen = name or path.name
    if not ARTIFACT_NAME.fullmatch(chosen):
        raise UsageError(f"invalid artifact name {shown(chosen)}: 1-128 of letters, digits, '.', '_', '-'")
    return chosen


def store(registry: Registry, path: Path) -> Artifact:
    """Store a file or folder in the registry's DVC remote, as a version's artifact is."""
    snap = registry.snapshot()
    source = artifacts.check_source(path)
    store = artifacts.Store(registry.dvc_root(snap), snap.config.remote)
    return store.push(store.prepare(source))


class ActiveRun:
    """A run being written from Python (``gitreg.start_run``): metrics and
    params are kept and written on ``flush``, on ``log_artifact`` and at
    the end; leaving the ``with`` block by an exception ends it ``failed``
    (``killed`` for an interrupt), else ``finished``."""

    def __init__(self, registry: Registry, run: Run) -> None:
        self._registry = registry
        self._records = Records(registry)
        self._run = run
        self._points: list[Point] = []
        self._params: dict[str, Any] = {}
        self._labels: dict[str, str] = {}
        self._files: dict[str, Artifact] = {}
        self._counts: dict[str, int] = {}

    @property
    def id(self) -> str:
        return self._run.id

    @property
    def experiment(self) -> str:
        return self._run.experiment

    @property
    def run(self) -> Run:
        """The run as last written."""
        return self._run

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        self.log_metrics({name: value}, step)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Points of metrics at ``step`` (by default each metric's next)."""
        _check_step(step)
        now = _ms()
        for name, value in metrics.items():
            metric, number = check_metric(name, value)
            seen = self._run.steps.get(metric, 0) + self._counts.get(metric, 0)
            self._points.append(Point(metric, seen if step is None else step, number, now))
            self._counts[metric] = self._counts.get(metric, 0) + 1

    def log_param(self, name: str, value: Any) -> None:
        self.log_params({name: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        from gitreg.documents import inputs

        self._params |= inputs.params(dict(params))

    def set_labels(self, labels: Mapping[str, str]) -> None:
        from gitreg.documents import inputs

        self._labels |= inputs.labels(labels)

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Artifact:
        """Store a file or folder now (the registry's DVC remote) and record it."""
        source = Path(path)
        chosen = _artifact_name(source, name)
        self._files[chosen] = store(self._registry, source)
        return self.flush().artifacts[chosen]

    def flush(self) -> Run:
        """Write what was logged since the last write (one commit)."""
        if self._points or self._params or self._labels or self._files:
            self._write(lambda run: run, f"Log run {self._run.id}")
        return self._run

    def end(self, status: str = "finished", reason: str = "") -> Run:
        """Write what is left and the end, in one commit."""
        return self._write(_ended(status, reason), f"End run {self._run.id} ({status})")

    def _write(self, then: Callable[[Run], Run], message: str) -> Run:
        added = _added(self._params, self._labels, self._files)
        self._run = _update(self._records, self._run.ref, lambda run: then(added(run)), self._points, message)
        self._points, self._params, self._labels, self._files, self._counts = [], {}, {}, {}, {}
        return self._run

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._run.status != "running":
            return
        if error is None:
            self.end("finished")
        else:
            status = "killed" if isinstance(error, KeyboardInterrupt) else "failed"
            self.end(status, f"{type(error).__name__}: {error}"[:2000])


# -- comparing, registering from, and retention ------------------------------------


@dataclass(frozen=True)
class RunComparison:
    runs: tuple[Run, ...]
    params: Mapping[str, tuple[Any, ...]]  # name -> each run's value (None: not set)
    metrics: Mapping[str, tuple[float | None, ...]]  # name -> each run's last value
    deltas: Mapping[str, tuple[float | None, ...]]  # name -> each run's value minus the first run's

    @property
    def differing(self) -> list[str]:
        """The params whose values are not all the same."""
        return [name for name, values in self.params.items() if len({repr(v) for v in values}) > 1]


def compare(registry: Registry, refs: Sequence[str]) -> RunComparison:
    if len(refs) < 2:
        raise UsageError("compare needs at least two runs")
    runs = tuple(find(registry, ref).run for ref in refs)
    params = sorted({name for run in runs for name in run.params})
    metrics = sorted({name for run in runs for name in run.metrics})
    values = {name: tuple(run.metrics.get(name) for run in runs) for name in metrics}
    deltas = {
        name: tuple(None if v is None or found[0] is None else v - found[0] for v in found)
        for name, found in values.items()
    }
    return RunComparison(runs, {n: tuple(r.params.get(n) for r in runs) for n in params}, values, deltas)


@dataclass(frozen=True)
class FromRun:
    """What a registration takes from a run: the artifact pulled (and
    verified) into a temporary folder, metrics, params, lineage, environment."""

    path: Path
    metrics: Mapping[str, float]
    params: Mapping[str, Any]
    lineage: Mapping[str, Any]
    environment: Mapping[str, Any] | None
    md5: str | None = None  # what the source recorded of the bytes: the stored artifact must hash to it


@contextmanager
def registration_source(registry: Registry, ref: str, artifact: str | None) -> Iterator[FromRun]:
    """What ``register --from-run`` takes from ``ref``: a run of this
    registry, or of DVC or MLflow (``run_sources``)."""
    from gitreg.operations import run_sources

    if run_sources.names_external(ref):
        with run_sources.source(ref, artifact) as taken:
            yield taken
        return
    found = find(registry, ref).run
    if not found.artifacts:
        raise NotFoundError(f"run {found.id} logged no artifact to register")
    if artifact is None:
        if len(found.artifacts) > 1:
            raise UsageError(f"run {found.id} logged {', '.join(sorted(found.artifacts))}: choose one with --artifact")
        artifact = next(iter(found.artifacts))
    entry = found.artifacts.get(artifact)
    if entry is None:
        raise NotFoundError(
            f"run {found.id} logged no artifact {shown(artifact)} ({', '.join(sorted(found.artifacts))})"
        )
    snap = registry.snapshot()
    store = artifacts.Store(registry.dvc_root(snap), entry.remote)
    with tempfile.TemporaryDirectory(prefix="gitreg-from-run-") as folder:
        path = store.pull(entry, Path(folder) / entry.path)
        run = {"system": "gitreg", "id": found.id, "experiment": found.experiment}
        yield FromRun(path, found.metrics, found.params, {**found.lineage, "run": run}, found.environment)


def used_by_versions(registry: Registry) -> set[str]:
    """The ids of runs a registered version came from (``lineage.run``)."""
    snap = registry.snapshot()
    return {
        str(found["id"])
        for _version, found in snap.marked("run")
        if found.get("system") == "gitreg" and isinstance(found.get("id"), str)
    }


@dataclass(frozen=True)
class RunsCollected:
    removed: tuple[Run, ...]
    kept: int
    dry_run: bool


def gc(registry: Registry, keep: int, *, experiment: str | None = None, dry_run: bool = False) -> RunsCollected:
    """Keep the newest ``keep`` ended runs of each experiment (and every
    running one, and every one a version came from); remove the rest."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise UsageError(f"invalid keep {shown(keep)}: a whole number from 0")
    runs = listed(registry, experiment)
    wanted = used_by_versions(registry)
    seen: dict[str, int] = {}
    removed = []
    for run in runs:  # newest first
        if run.status == "running" or run.id in wanted:
            continue
        seen[run.experiment] = seen.get(run.experiment, 0) + 1
        if seen[run.experiment] > keep:
            removed.append(run)
    if not dry_run and removed:
        records = Records(registry)
        by_ref = {t.ref: t for t in _tips(records, experiment)}
        records.delete([by_ref[r.ref] for r in removed if r.ref in by_ref])
    return RunsCollected(tuple(removed), len(runs) - len(removed), dry_run)
