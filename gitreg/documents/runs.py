"""A training run as the experiment registry keeps it (``core.records``):
``run.yaml`` (kind ``Run``: params, the last value of each metric, logged
artifacts, lineage, environment, status) and ``metrics.tsv`` beside it,
every logged point of every metric, one per line (``metric``, ``step``,
``value``, milliseconds since the epoch), appended to, never rewritten."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from gitreg.documents import manifest
from gitreg.documents.manifest import API_VERSION, Artifact
from gitreg.documents.names import shown
from gitreg.errors import InvalidDocumentError, UsageError

RUN_FILE = "run.yaml"
POINTS_FILE = "metrics.tsv"
STATUSES = ("running", "finished", "failed", "killed")
ID_PATTERN = re.compile(r"[0-9a-f]{16}")
ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
METRIC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}")
MAX_POINTS = 1_000_000  # per run: metrics.tsv stays a few tens of MB at most


def new_id() -> str:
    return secrets.token_hex(8)


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Point:
    metric: str
    step: int
    value: float
    at: int  # milliseconds since the epoch

    def line(self) -> str:
        return f"{self.metric}\t{self.step}\t{self.value!r}\t{self.at}\n"


def check_metric(name: object, value: object) -> tuple[str, float]:
    """A metric's name and finite value, or UsageError."""
    if not isinstance(name, str) or not METRIC_NAME.fullmatch(name):
        raise UsageError(f"invalid metric name {shown(name)}: 1-128 of letters, digits, _ . : / -")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"metric {name} must be a finite number, not {shown(value)}")
    return name, float(value)


def parse_points(data: bytes, source: str) -> list[Point]:
    """The points of a ``metrics.tsv``; InvalidDocumentError on a line that is not one."""
    points = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        parts = line.split("\t")
        try:
            name, step, value, at = parts
            point = Point(name, int(step), float(value), int(at))
        except ValueError:
            raise InvalidDocumentError(f"{source}:{number}: not a metric point (name, step, value, time)") from None
        if not METRIC_NAME.fullmatch(name) or not math.isfinite(point.value) or point.step < 0:
            raise InvalidDocumentError(f"{source}:{number}: not a metric point (name, step, value, time)")
        points.append(point)
    return points


@dataclass(frozen=True)
class Run:
    id: str
    experiment: str
    status: str
    started_at: str
    started_by: str
    name: str = ""
    ended_at: str | None = None
    reason: str = ""
    labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    params: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))
    metrics: Mapping[str, float] = field(default_factory=lambda: _frozen(None))  # the last value of each
    steps: Mapping[str, int] = field(default_factory=lambda: _frozen(None))  # points logged of each
    artifacts: Mapping[str, Artifact] = field(default_factory=lambda: _frozen(None))
    lineage: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))
    environment: Mapping[str, Any] | None = None

    KIND = "Run"

    @property
    def ref(self) -> str:
        return f"refs/gitreg/runs/{self.experiment}/{self.id}"

    @property
    def points(self) -> int:
        return sum(self.steps.values())

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Run:
        return cls(
            id=doc["id"],
            experiment=doc["experiment"],
            status=doc["status"],
            started_at=doc["started_at"],
            started_by=doc["started_by"],
            name=doc.get("name", ""),
            ended_at=doc.get("ended_at"),
            reason=doc.get("reason", ""),
            labels=_frozen(doc.get("labels")),
            params=_frozen(doc.get("params")),
            metrics=_frozen(doc.get("metrics")),
            steps=_frozen(doc.get("steps")),
            artifacts=_frozen({k: Artifact.from_doc(v) for k, v in doc.get("artifacts", {}).items()}),
            lineage=_frozen(doc.get("lineage")),
            environment=_frozen(doc["environment"]) if "environment" in doc else None,
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": self.KIND,
            "id": self.id,
            "experiment": self.experiment,
            "status": self.status,
            "started_at": self.started_at,
            "started_by": self.started_by,
        }
        if self.name:
            doc["name"] = self.name
        if self.ended_at is not None:
            doc["ended_at"] = self.ended_at
        if self.reason:
            doc["reason"] = self.reason
        doc["labels"] = dict(self.labels)
        doc["params"] = _plain(self.params)
        doc["metrics"] = dict(self.metrics)
        doc["steps"] = dict(self.steps)
        doc["artifacts"] = {name: a.to_doc() for name, a in self.artifacts.items()}
        doc["lineage"] = _plain(self.lineage)
        if self.environment is not None:
            doc["environment"] = _plain(self.environment)
        return doc

    def moved_to(self, remote: Callable[[str], str]) -> Run:
        """This run with each artifact's DVC remote renamed by ``remote``."""
        moved = {name: replace(a, remote=remote(a.remote)) for name, a in self.artifacts.items()}
        return replace(self, artifacts=_frozen(moved))

    def logged(self, points: Sequence[Point]) -> Run:
        """This run after ``points``: each metric's last value and count."""
        metrics, steps = dict(self.metrics), dict(self.steps)
        for point in points:
            metrics[point.metric] = point.value
            steps[point.metric] = steps.get(point.metric, 0) + 1
        if sum(steps.values()) > MAX_POINTS:
            raise UsageError(f"run {self.id} would hold more than {MAX_POINTS:,} metric points: log fewer steps")
        return replace(self, metrics=_frozen(metrics), steps=_frozen(steps))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def render(run: Run) -> bytes:
    """``run.yaml``, validated against the schema first."""
    return manifest.render(run, f"{run.ref}:{RUN_FILE}")  # type: ignore[arg-type]


def parse(data: bytes, source: str) -> Run:
    run: Run = manifest.parse(data, Run, source)
    return run


def points_text(points: Iterable[Point]) -> bytes:
    return "".join(p.line() for p in points).encode()
