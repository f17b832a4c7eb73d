"""Stage `train`: logistic regression by gradient descent; writes the model
and its evaluation metrics (held-out accuracy and AUC)."""

import csv
import json
import math
from pathlib import Path

import yaml

params = yaml.safe_load(Path("params.yaml").read_text())["train"]
with Path("data/transactions.csv").open(newline="") as source:
    rows = [[float(v) for v in r] for r in list(csv.reader(source))[1:]]
split = int(len(rows) * 0.7)
train, test = rows[:split], rows[split:]


def score(w, x):
    return 1 / (1 + math.exp(-(w[0] + sum(a * b for a, b in zip(w[1:], x, strict=True)))))


weights = [0.0] * 4
for _ in range(params["epochs"]):
    grad = [0.0] * 4
    for *x, y in train:
        err = score(weights, x) - y
        grad[0] += err
        for i, v in enumerate(x):
            grad[i + 1] += err * v
    weights = [w - params["learning_rate"] * g / len(train) for w, g in zip(weights, grad, strict=True)]

scored = sorted((score(weights, x), y) for *x, y in test)
positives = sum(y for _, y in scored)
negatives = len(scored) - positives
rank_sum = sum(rank for rank, (_, y) in enumerate(scored, 1) if y)
metrics = {
    "accuracy": round(sum((s >= 0.5) == bool(y) for s, y in scored) / len(scored), 4),
    "auc": round((rank_sum - positives * (positives + 1) / 2) / (positives * negatives), 4),
}
model = {"weights": weights, "features": ["amount", "hour", "velocity"]}
Path("model.json").write_text(json.dumps(model, indent=2) + "\n")
Path("metrics.json").write_text(json.dumps(metrics) + "\n")
