"""The main job on the embedded default, end to end: a local registry with a
local DVC remote, a tiny model trained twice, both versions registered."""

from __future__ import annotations

import json
import math
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from gitreg import api, render
from gitreg.git import Repo

MODEL = "fraud-detector"
Sample = tuple[list[float], int]


def make_data(seed: int, n: int) -> list[Sample]:
    """Synthetic transactions: (amount z-score, hour z-score, velocity) -> fraud."""
    rng = random.Random(seed)
    samples = []
    for _ in range(n):
        fraud = rng.random() < 0.3
        shift = 1.2 if fraud else 0.0
        x = [rng.gauss(shift, 1.0), rng.gauss(shift * 0.5, 1.0), rng.gauss(shift * 0.8, 1.0)]
        samples.append((x, int(fraud)))
    return samples


def _score(weights: list[float], x: list[float]) -> float:
    z = weights[0] + sum(w * v for w, v in zip(weights[1:], x, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def train(data: list[Sample], epochs: int, learning_rate: float) -> list[float]:
    """Logistic regression by plain gradient descent."""
    weights = [0.0] * 4
    for _ in range(epochs):
        grad = [0.0] * 4
        for x, y in data:
            err = _score(weights, x) - y
            grad[0] += err
            for i, v in enumerate(x):
                grad[i + 1] += err * v
        weights = [w - learning_rate * g / len(data) for w, g in zip(weights, grad, strict=True)]
    return weights


def evaluate(weights: list[float], data: list[Sample]) -> dict[str, float]:
    scored = sorted((_score(weights, x), y) for x, y in data)
    accuracy = sum((s >= 0.5) == bool(y) for s, y in scored) / len(scored)
    positives = sum(y for _, y in scored)
    negatives = len(scored) - positives
    rank_sum = sum(rank for rank, (_, y) in enumerate(scored, start=1) if y)
    auc = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
    return {"accuracy": round(accuracy, 4), "auc": round(auc, 4)}


def _train_version(workdir: Path, epochs: int, as_folder: bool) -> tuple[Path, Path, Path]:
    params = {"epochs": epochs, "learning_rate": 0.5, "features": ["amount", "hour", "velocity"]}
    weights = train(make_data(1, 600), epochs, params["learning_rate"])  # type: ignore[arg-type]
    metrics = evaluate(weights, make_data(2, 400))
    workdir.mkdir(parents=True, exist_ok=True)
    model = {"kind": "logistic-regression", "weights": weights, "features": params["features"]}
    if as_folder:
        artifact = workdir / "model"
        artifact.mkdir(exist_ok=True)
        (artifact / "weights.json").write_text(json.dumps(model, indent=2) + "\n")
        (artifact / "threshold.json").write_text(json.dumps({"threshold": 0.5}) + "\n")
    else:
        artifact = workdir / "model.json"
        artifact.write_text(json.dumps(model, indent=2) + "\n")
    (workdir / "metrics.json").write_text(json.dumps(metrics) + "\n")
    (workdir / "params.json").write_text(json.dumps(params) + "\n")
    return artifact, workdir / "metrics.json", workdir / "params.json"


def _ensure_identity(registry: Path) -> None:
    """A fresh machine may have no git identity: give the demo's own repo one."""
    repo = Repo(registry)
    if repo.run(["var", "GIT_COMMITTER_IDENT"], check=False)[0] != 0:
        repo.run(["config", "user.name", "gitreg demo"])
        repo.run(["config", "user.email", "demo@gitreg.invalid"])


def run(directory: str | None, echo: Callable[[str], None]) -> Path:
    """Build the demo under ``directory`` (default: a new temporary folder)."""
    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="gitreg-demo-"))
    registry = base / "registry"
    echo(f"== gitreg demo in {base}")
    Repo.init(registry)
    _ensure_identity(registry)
    result = api.init(registry)
    echo(f"1. Registry created: {result.root} (artifacts in DVC remote {result.remote!r}: {result.remote_url})")
    for step, (epochs, as_folder) in enumerate([(3, False), (40, True)], start=2):
        artifact, metrics, params = _train_version(base / "training" / f"run-{step - 1}", epochs, as_folder)
        version = api.register(
            MODEL,
            artifact,
            metrics=metrics,
            params=params,
            metadata={"framework": "pure-python"},
            labels={"team": "risk"},
            description=f"logistic regression, {epochs} epochs",
            registry=registry,
        )
        kind = "folder" if as_folder else "file"
        echo(
            f"{step}. Trained {epochs} epochs -> registered {MODEL} {version.version} "
            f"({kind} {artifact.name}, md5 {version.artifact.md5}) with metrics {dict(version.metrics)}"
        )
    echo("")
    echo("$ gitreg list")
    snap_models = api.list_models(registry=registry)
    from gitreg.registry import Registry

    echo(render.summaries_text(snap_models, Registry.open(registry).snapshot().config.stages))
    echo("")
    echo(f"$ gitreg list {MODEL}")
    echo(render.versions_text(api.list_versions(MODEL, registry=registry)))
    echo("")
    echo(f"The registry is a git repository: {registry}")
    echo(f"  git -C {registry} log --format='%h %s%n%(trailers:only,unfold)'")
    echo(f"  git -C {registry} tag -n1")
    echo(f"  gitreg show {MODEL}@latest -R {registry}")
    return registry
