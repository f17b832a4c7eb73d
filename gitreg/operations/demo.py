"""The main job on the embedded default, end to end: a local registry with a
local DVC remote; the training data registered as a dataset; three training
runs recorded in the experiment registry and registered as versions of a
small model, linked to the data; a promotion blocked by a gate; promotions
through staging to production; a rollback."""

from __future__ import annotations

import functools
import json
import math
import random
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from gitreg import api, render
from gitreg.core.registry import Registry
from gitreg.operations.lifecycle import GateFailed, Moved
from gitreg.storage.git import Repo

MODEL = "fraud-detector"
DATASET = "card-transactions"
EXPERIMENT = "fraud-training"
FEATURES = ("amount", "hour", "velocity")
Sample = tuple[list[float], int]
Echo = Callable[[str], None]

# (features used, epochs, artifact as a folder, approved by review, description)
RUNS = [
    (("amount", "velocity"), 40, False, True, "baseline: amount and velocity"),
    (("amount", "hour", "velocity"), 40, True, True, "all features"),
    (("hour",), 40, False, False, "feature pipeline bug: only the hour survives"),
]
GATES = {
    "staging": {"min_auc": 0.80},
    "production": {"min_auc": 0.85, "min_improvement_auc": 0.01, "require_approved": True},
}


def make_data(seed: int, n: int) -> list[Sample]:
    """Synthetic card transactions (amount, hour, velocity as z-scores) -> fraud."""
    rng = random.Random(seed)
    samples = []
    for _ in range(n):
        fraud = rng.random() < 0.3
        shift = 1.2 if fraud else 0.0
        x = [rng.gauss(shift, 1.0), rng.gauss(shift * 0.5, 1.0), rng.gauss(shift * 0.8, 1.0)]
        samples.append((x, int(fraud)))
    return samples


def select(data: list[Sample], features: Sequence[str]) -> list[Sample]:
    idx = [FEATURES.index(f) for f in features]
    return [([x[i] for i in idx], y) for x, y in data]


def _score(weights: list[float], x: list[float]) -> float:
    z = weights[0] + sum(w * v for w, v in zip(weights[1:], x, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def train(data: list[Sample], epochs: int, learning_rate: float = 0.5) -> list[float]:
    """Logistic regression by plain gradient descent."""
    weights = [0.0] * (len(data[0][0]) + 1)
    for _ in range(epochs):
        grad = [0.0] * len(weights)
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


def write_data(path: Path, data: list[Sample]) -> Path:
    """The training data as the CSV file a data team would publish."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [",".join((*FEATURES, "fraud"))] + [",".join([*(f"{v:.6f}" for v in x), str(y)]) for x, y in data]
    path.write_text("\n".join(rows) + "\n")
    return path


def _train_run(
    workdir: Path, features: Sequence[str], epochs: int, as_folder: bool
) -> tuple[Path, dict[str, float], dict[str, object]]:
    """Train, evaluate and write the artifact; its metrics and params."""
    params: dict[str, object] = {"epochs": epochs, "learning_rate": 0.5, "features": list(features)}
    weights = train(select(make_data(1, 600), features), epochs)
    metrics = evaluate(weights, select(make_data(2, 400), features))
    workdir.mkdir(parents=True, exist_ok=True)
    model = {"kind": "logistic-regression", "weights": weights, "features": list(features)}
    if as_folder:
        artifact = workdir / "model"
        artifact.mkdir(exist_ok=True)
        (artifact / "weights.json").write_text(json.dumps(model, indent=2) + "\n")
        (artifact / "threshold.json").write_text(json.dumps({"threshold": 0.5}) + "\n")
    else:
        artifact = workdir / "model.json"
        artifact.write_text(json.dumps(model, indent=2) + "\n")
    return artifact, metrics, params


def _ensure_identity(registry: Path) -> None:
    """A fresh machine may have no git identity: give the demo's own repo one."""
    repo = Repo(registry)
    if repo.run(["var", "GIT_COMMITTER_IDENT"], check=False)[0] != 0:
        repo.run(["config", "user.name", "gitreg demo"])
        repo.run(["config", "user.email", "demo@gitreg.invalid"])


def _move(echo: Echo, title: str, call: Callable[[], Moved]) -> None:
    echo(f"\n$ {title}")
    try:
        moved = call()
    except GateFailed as refused:
        echo(render.plan_text(refused.plan, commit=""))
        echo(f"-> refused, nothing written: {'; '.join(refused.plan.failures())}")
        return
    echo(render.plan_text(moved.plan, moved.commit))
    echo(f"-> commit {moved.commit[:10] if moved.commit else '-'}, tags {', '.join(moved.tags)}")


def run(directory: str | None, echo: Echo) -> Path:
    """Build the demo under ``directory`` (default: a new temporary folder)."""
    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="gitreg-demo-"))
    registry = base / "registry"
    echo(f"== gitreg demo in {base}")
    Repo.init(registry)
    _ensure_identity(registry)
    result = api.init(registry)
    echo(f"Registry: {result.root} (artifacts in DVC remote {result.remote!r}: {result.remote_url})")
    api.set_model(MODEL, description="Card fraud scoring", owners=["risk-team"], gates=GATES, registry=registry)
    echo(f"Gates for {MODEL}: {json.dumps(GATES)}")
    table = write_data(base / "data" / "transactions.csv", make_data(1, 600))
    data = api.register_dataset(DATASET, table, description="600 card transactions", registry=registry)
    shape = data.manifest.data or {}
    columns = len(shape.get("columns", ()))
    echo(f"Registered dataset {DATASET} {data.version}: {shape.get('rows')} rows, {columns} columns")
    training = base / "training"
    for number, (features, epochs, as_folder, approved, description) in enumerate(RUNS, start=1):
        with api.start_run(EXPERIMENT, params={"run": number}, code=training, registry=registry) as run:
            artifact, metrics, params = _train_run(training / f"run-{number}", features, epochs, as_folder)
            run.log_params(params)
            run.log_metrics(metrics)
            run.log_artifact(artifact)
        version = api.register(
            MODEL,
            from_run=run.id,
            datasets=[f"{DATASET}@{data.version}"],
            description=description,
            metadata={"framework": "pure-python", "approved": approved},
            labels={"team": "risk"},
            registry=registry,
        )
        echo(
            f"Training run {run.id} ({description}) -> registered {MODEL} {version.version}: "
            f"{dict(version.manifest.metrics)}, artifact {artifact.name} md5 {version.artifact.md5}"
        )
    _move(
        echo,
        f"gitreg promote {MODEL} 1.0.2 --to staging",
        lambda: api.promote(MODEL, "1.0.2", to="staging", registry=registry),
    )
    for candidate in ("1.0.0", "1.0.1"):
        for stage in ("staging", "production"):
            promote = functools.partial(
                api.promote, MODEL, candidate, to=stage, reason="gates passed", registry=registry
            )
            _move(echo, f"gitreg promote {MODEL} {candidate} --to {stage}", promote)
    registered = api.show(f"{MODEL}@production", registry=registry).metrics["auc"]
    for label, measured in (("healthy", registered * 0.99), ("degraded", registered * 0.8)):
        echo(f"\n$ gitreg monitor {MODEL} --metric auc={measured:.4f}   # {label} in production")
        watched = api.monitor(MODEL, metrics={"auc": round(measured, 4)}, registry=registry)
        echo(render.monitored_text(watched))
    echo("\n$ gitreg list")
    stages = Registry.open(registry).snapshot().config.stages
    echo(render.summaries_text(api.list_models(registry=registry), stages))
    echo(f"\n$ gitreg list {MODEL}")
    echo(render.versions_text(api.list_versions(MODEL, registry=registry)))
    echo(f"\n$ gitreg history {MODEL} --metrics")
    echo(render.trend_text(api.metric_history(MODEL, registry=registry)))
    echo(f"\n$ gitreg history {MODEL} --stage production")
    echo(render.events_text(api.history(MODEL, stage="production", registry=registry)))
    echo(f"\n$ gitreg status {MODEL}   # what to do next")
    echo(render.status_text(api.status(MODEL, registry=registry)))
    echo(f"\n$ gitreg runs list {EXPERIMENT}   # beside the registry branch, never on it")
    echo(render.runs_text(api.list_runs(EXPERIMENT, registry=registry)))
    used = f"{DATASET}@{data.version}"
    echo(f"\n$ gitreg lineage --used-by {used}")
    echo(render.uses_text(used, api.used_by(used, registry=registry)))
    echo(f"\nThe registry is a git repository: {registry}")
    echo(f"  git -C {registry} log --format='%h %s%n%(trailers:only,unfold)'")
    echo(f"  git -C {registry} tag -n1")
    echo(f"  gitreg resolve {MODEL}@production -R {registry}")
    return registry
