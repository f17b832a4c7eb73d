"""`gitreg import --from mlflow` of a local sqlite MLflow registry, beside
the floors measured in the same run: Python importing MLflow, and MLflow's
own client listing every version and downloading every artifact (what any
importer must do before writing anything).

    python benchmarks/mlflow_import.py [--models 10] [--versions 100] [--out FILE]

The source is built through MLflow's client (each version a run with two
metrics, two params and a 1 KiB model file, registered), then imported into
a new registry with a local DVC remote; a second import (nothing new) is
timed too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import GITREG, IDENTITY, emit, import_rows, timed

HERE = Path(__file__).resolve().parent

BUILD = """
import os, sys, warnings
warnings.simplefilter("ignore")
from mlflow import MlflowClient
root, models, versions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
uri = f"sqlite:///{root}/mlflow.db"
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
experiment = client.create_experiment("bench", artifact_location=f"file://{root}/artifacts")
os.makedirs(f"{root}/made", exist_ok=True)
for m in range(models):
    name = f"model {m:03d}"
    client.create_registered_model(name, tags={"team": "bench"})
    for v in range(versions):
        run = client.create_run(experiment).info.run_id
        client.log_metric(run, "auc", 0.5 + v / (2 * versions))
        client.log_metric(run, "loss", 1 - v / versions)
        client.log_param(run, "lr", "0.01")
        client.log_param(run, "seed", str(v))
        path = f"{root}/made/{m}-{v}.bin"
        with open(path, "wb") as out:
            out.write(bytes([m % 256, v % 256]) * 512)
        client.log_artifact(run, path, "model")
        client.create_model_version(name, f"file://{root}/artifacts/{run}/artifacts/model", run)
    client.set_registered_model_alias(name, "champion", str(versions))
"""

READ = """
import os, sys, tempfile, warnings
warnings.simplefilter("ignore")
os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
from mlflow import MlflowClient
import mlflow.artifacts
uri = sys.argv[1]
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
with tempfile.TemporaryDirectory() as scratch:
    for model in client.search_registered_models():
        for v in client.search_model_versions(f"name = '{model.name}'", max_results=1000):
            client.get_run(v.run_id)
            where = client.get_model_version_download_uri(model.name, v.version)
            folder = f"{scratch}/{model.name}/{v.version}"
            mlflow.artifacts.download_artifacts(artifact_uri=where, dst_path=folder, tracking_uri=uri)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.update(IDENTITY)
    with tempfile.TemporaryDirectory(prefix="gitreg-bench-mlflow-") as scratch:
        base = Path(scratch)
        source = base / "mlflow"
        source.mkdir()
        built = timed([sys.executable, "-c", BUILD, str(source), str(args.models), str(args.versions)], base)
        uri = f"sqlite:///{source}/mlflow.db"
        subprocess.run([GITREG, "init", str(base / "registry")], check=True, stdout=subprocess.DEVNULL)
        rows = [
            ["floor: Python imports MLflow", f"{timed([sys.executable, '-c', 'import mlflow'], base):.1f}"],
            [
                "floor: MLflow's client reads every version and downloads every artifact",
                f"{timed([sys.executable, '-c', READ, uri], base):.1f}",
            ],
            *import_rows("mlflow", uri, base / "registry"),
        ]
        count = args.models * args.versions
        intro = (
            f"MLflow registry (sqlite): {args.models} models × {args.versions} versions = {count:,} versions, "
            f"built through MLflow's client in {built:.0f} s; {os.cpu_count()} cores."
        )
        emit(intro, ["operation", "seconds"], rows, args.out)


if __name__ == "__main__":
    main()
