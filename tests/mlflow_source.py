"""Build a real MLflow model registry through MLflow's own client (run by the
tests as a script, so MLflow's warnings stay in its process):

    python tests/mlflow_source.py FOLDER [--more] [--file]

FOLDER/mlflow.db (sqlite) and FOLDER/artifacts: three models, 12 versions,
aliases, legacy stages, tags, descriptions, a version whose run was deleted,
file and folder artifacts. ``--more`` adds one version to "Fraud Detector"
(a source that gained a version since the last import); ``--moved``, after
it, moves the holders on (an alias removed, one moved, the Production
version archived); ``--odd`` adds a
model whose values reach MLflow's own limits, past what a manifest's fields
hold (long texts and tags, metric names with spaces, NaN and infinite
metrics, parameters with spaces in their names; and a version whose tags
make more than a manifest may be); ``--file`` uses
MLflow's file store, FOLDER/mlruns, instead of sqlite (MLflow 3 opens one
only with MLFLOW_ALLOW_FILE_STORE=true)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import numpy as np  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.models import Model, ModelSignature  # noqa: E402
from mlflow.types import ColSpec, Schema, TensorSpec  # noqa: E402

root = Path(sys.argv[1]).resolve()
root.mkdir(parents=True, exist_ok=True)
uri = f"file://{root}/mlruns" if "--file" in sys.argv else f"sqlite:///{root}/mlflow.db"  # a file store, or sqlite
os.environ["MLFLOW_TRACKING_URI"] = os.environ["MLFLOW_REGISTRY_URI"] = uri  # no mlflow.db in the current folder
client = MlflowClient(tracking_uri=uri, registry_uri=uri)


def run(experiment: str, number: int, folder: bool) -> tuple[str, str]:
    """A run with metrics, params and a model artifact (a file, or a folder of two)."""
    made = client.create_run(experiment)
    run_id = made.info.run_id
    client.log_metric(run_id, "auc", 0.8 + number / 100)
    client.log_metric(run_id, "val.loss", 0.5 - number / 100)
    client.log_param(run_id, "lr", str(0.01 * number))
    client.log_param(run_id, "layers", str(number % 4 + 1))
    local = root / "made" / run_id
    local.mkdir(parents=True)
    if folder:  # a model folder as MLflow writes one: its MLmodel (signature, input example) and files
        (local / "weights.bin").write_bytes(bytes([number]) * 3000)
        (local / "sub").mkdir()
        (local / "sub" / "vocab.txt").write_text(f"vocabulary {number}\n")
        inputs = Schema([ColSpec("double", "amount"), ColSpec("string", "country")])
        outputs = Schema([TensorSpec(np.dtype("float32"), (-1, 2), "score")])
        described = Model(signature=ModelSignature(inputs=inputs, outputs=outputs))
        described.saved_input_example_info = {"artifact_path": "input_example.json", "type": "dataframe"}
        described.save(str(local / "MLmodel"))
        (local / "input_example.json").write_text('{"columns": ["amount", "country"], "data": [[12.5, "FR"]]}')
        # the environment files MLflow writes beside a logged model
        (local / "requirements.txt").write_text(f"mlflow==3.1.0\nscikit-learn==1.{number}.0\n")
        python_env = "python: 3.11.7\nbuild_dependencies: [pip]\ndependencies: [-r requirements.txt]\n"
        (local / "python_env.yaml").write_text(python_env)
        client.log_artifacts(run_id, str(local), "model")
    else:
        (local / "model.pkl").write_bytes(bytes(range(number, number + 50)) * 20)
        client.log_artifact(run_id, str(local / "model.pkl"), "model")
    client.set_terminated(run_id)
    return run_id, f"{made.info.artifact_uri}/model"


def version(model: str, experiment: str, number: int, folder: bool = False, **tags: str) -> str:
    run_id, source = run(experiment, number, folder)
    made = client.create_model_version(model, source, run_id, tags=tags, description=f"{model} trained {number}")
    return str(made.version)


if "--more" in sys.argv:
    experiment = client.get_experiment_by_name("fraud").experiment_id
    version("Fraud Detector", experiment, 9, owner="bob")
    sys.exit(0)

if "--moved" in sys.argv:  # after --more: the holders move on
    client.delete_registered_model_alias("Fraud Detector", "challenger")
    client.transition_model_version_stage("Fraud Detector", "2", "Archived")  # Production has no holder now
    client.set_registered_model_alias("Fraud Detector", "champion", "6")
    sys.exit(0)

if "--odd" in sys.argv:
    experiment = client.create_experiment("odd", artifact_location=f"file://{root}/artifacts/odd")
    long_tag = "t" * 50_000  # MLflow takes registry tag values up to 100,000 characters
    client.create_registered_model(
        "Edge Cases", tags={"cost center": "42", "notes": long_tag}, description="M" * 12_000
    )
    made = client.create_run(experiment)
    run_id = made.info.run_id
    for name, value in (("val loss", 0.25), ("nan", float("nan")), ("inf", float("inf")), ("ok", 1.0)):
        client.log_metric(run_id, name, value)
    client.log_param(run_id, "batch size", "32")
    client.log_param(run_id, "prompt", "p" * 6000)
    local = root / "made" / run_id
    local.mkdir(parents=True)
    (local / "model.pkl").write_bytes(b"odd" * 100)
    client.log_artifact(run_id, str(local / "model.pkl"), "model")
    client.set_terminated(run_id)
    client.create_model_version(
        "Edge Cases",
        f"{made.info.artifact_uri}/model",
        run_id,
        tags={"big": long_tag, "odd key": "1"},
        description="V" * 15_000,
    )
    # eleven tags at MLflow's limit: more than the 1 MiB a manifest may be
    client.create_model_version(
        "Edge Cases", f"{made.info.artifact_uri}/model", run_id, tags={f"t{n}": long_tag * 2 for n in range(11)}
    )
    sys.exit(0)

fraud = client.create_experiment("fraud", artifact_location=f"file://{root}/artifacts/fraud")
churn = client.create_experiment("churn", artifact_location=f"file://{root}/artifacts/churn")
client.create_registered_model("Fraud Detector", tags={"team": "risk", "cost center": "42"}, description="Card fraud")
for n in range(1, 6):
    version("Fraud Detector", fraud, n, owner="ann", note="x" * 2000 if n == 5 else "short")
client.transition_model_version_stage("Fraud Detector", "1", "Archived")
client.transition_model_version_stage("Fraud Detector", "2", "Production")
client.transition_model_version_stage("Fraud Detector", "4", "Staging")
client.set_registered_model_alias("Fraud Detector", "champion", "4")
client.set_registered_model_alias("Fraud Detector", "challenger", "5")
deleted = client.get_model_version("Fraud Detector", "3").run_id
client.delete_run(deleted)

client.create_registered_model("churn", description="Who leaves")
for n in range(1, 5):
    version("churn", churn, n, folder=True, dataset="2026-06")
client.set_registered_model_alias("churn", "prod", "3")

client.create_registered_model("ranker.v2")
for n in range(1, 4):
    version("ranker.v2", churn, n)
client.transition_model_version_stage("ranker.v2", "2", "Production")
client.transition_model_version_stage("ranker.v2", "3", "Production")  # two in Production: MLflow allows it
print(uri)
