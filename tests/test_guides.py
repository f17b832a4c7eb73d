"""The topic guides under docs/ run as written (each `sh` block, then each
`python` block, in the folder the commands leave)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gitreg import api
from tests.conftest import run_guide
from tests.helpers import build_mlflow_source, gto_registry, gto_view, onnx_model

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.stress
def test_the_migration_guide_runs_as_written(tmp_path: Path) -> None:
    build_mlflow_source(tmp_path)  # tmp_path/mlflow.db, made through MLflow's client
    gto_registry(tmp_path)  # tmp_path/gto-repo, made by GTO's own commands
    out = run_guide(DOCS / "migration.md", tmp_path).stdout
    registry = tmp_path / "registry"
    assert "Would import from mlflow" in out and "Verified: 12 of 12 artifact(s)" in out
    assert "Nothing to import." in out
    assert "Compared with MLflow again, field by field: 0 difference(s)" in out
    assert "Replayed 9 GTO event(s)" in out
    assert out.rstrip().endswith("Nothing to import.") and "GTO shows of the source: 0 difference(s)" in out
    team = tmp_path / "team-registry"
    assert gto_view(team) == gto_view(tmp_path / "gto-repo")
    assert api.resolve("fraud-detector@production", registry=registry).version == "4.0.0"
    assert api.check(registry=registry).ok


@pytest.mark.stress
def test_the_namespaces_guide_runs_as_written(tmp_path: Path) -> None:
    out = run_guide(DOCS / "namespaces.md", tmp_path).stdout
    registry = tmp_path / "registry"
    assert [m.name for m in api.list_models(namespace="risk", registry=registry)] == ["risk/aml", "risk/fraud"]
    # the namespace's listing, then its search: only risk's models
    assert re.search(r"\nMODEL .*\nrisk/aml .*\nrisk/fraud .*\nVERSION .*\n1\.0\.0 ", out), out
    assert "risk/fraud#staging#1" in out and "risk/fraud@v1.0.0" in out
    assert "/models/risk/ @acme/risk-team" in out
    assert api.check(registry=registry).ok


@pytest.mark.stress
def test_the_lifecycle_guide_runs_as_written(tmp_path: Path) -> None:
    page = DOCS / "lifecycle.md"
    out = run_guide(page, tmp_path).stdout
    registry = tmp_path / "registry"
    assert "monitor exit 4" in out and "promote exit 1" in out and "unapproved promote exit 1" in out
    assert "  - promote: 1.0.3 beats 1.0.0 by 0.06 auc" in out and "  - archive: 1.0.2 is degraded" in out
    logged = [json.loads(line)["event"] for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert logged == ["gitreg.monitor.start", "gitreg.performance_update", "gitreg.monitor.complete"]
    assert "less than the required 10%" in out
    assert "Auto-deploy (conservative) to staging: 1.0.4 not promoted: " in out and "0 of 1 approvals" in out
    assert "Auto-deploy (conservative) to staging: promoting 1.0.5 (1.0.5 beats 1.0.3 by 0.03 auc)" in out
    assert api.resolve("fraud@staging", registry=registry).version == "1.0.5"
    assert api.resolve("fraud@production", registry=registry).version == "1.0.0"
    shown = api.show("fraud@1.0.2", registry=registry)
    assert shown.state == "degraded" and [a.unset_labels for a in shown.annotations][:2] == [(), ("reviewed",)]
    (code,) = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    done = subprocess.run([sys.executable, "-c", code], cwd=registry, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['1.0.5', '1.0.0']"
    assert api.resolve("fraud@production", registry=registry).version == "1.0.0"
    cleared = api.show("fraud@1.0.2", registry=registry)
    assert cleared.state == "active" and cleared.annotations[-1].reason.startswith("forced onto production: ")
    assert api.check(registry=registry).ok


@pytest.mark.stress
def test_the_signing_guide_runs_as_written(tmp_path: Path) -> None:
    out = run_guide(DOCS / "signing.md", tmp_path).stdout
    registry = tmp_path / "registry"
    assert "unsigned promote exit 1" in out
    assert "Signed fraud 1.0.1 by certificate CN=release" in out
    assert api.resolve("fraud@staging", registry=registry).version == "1.0.1"
    assert len(list((registry / "models" / "fraud" / "signatures").rglob("*.sig"))) == 4
    assert "promote exit 1" in out  # 1.0.0 had no certificate signature yet
    assert "G ann@example.com" in out
    assert api.resolve("fraud@production", registry=registry).version == "1.0.0"
    assert api.check(registry=registry).ok


def test_the_site_guide_runs_as_written(tmp_path: Path) -> None:
    out = run_guide(DOCS / "site.md", tmp_path).stdout
    assert '"written": 0' in out and "model page written" in out
    before = (tmp_path / "site-before-rollback" / "models" / "fraud-detector" / "index.html").read_text()
    assert "rollback" not in before  # the last commit of the demo is the rollback
    assert "rollback" in (tmp_path / "site" / "models" / "fraud-detector" / "index.html").read_text()


def test_the_datasets_guide_runs_as_written(tmp_path: Path) -> None:
    out = run_guide(DOCS / "datasets.md", tmp_path).stdout
    registry = tmp_path / "registry"
    day = api.list_versions("transactions", registry=registry)[0].version
    assert re.fullmatch(r"20[0-9]{2}\.[1-9][0-9]?\.[1-9][0-9]?", day)
    assert "csv, 44 bytes in 1 file(s), 3 rows" in out and "amount: double (33.3% missing)" in out
    assert "schema: id: integer (required), amount: double" in out
    assert f"trained on transactions@{day}" in out and "evaluated on holdout@1.0.0" in out
    assert re.search(r"fraud +1\.0\.0 +eval +staging +active", out)
    assert "archive refused: exit 1" in out and "holdout 1.0.0 is now archived" in out
    assert re.search(rf"Last used: {re.escape(day)} at .* \(retrain fraud\)", out), out
    assert api.show("holdout@1.0.0", registry=registry).status == "archived"
    assert api.check(registry=registry).ok


def test_the_experiments_guide_runs_as_written(tmp_path: Path) -> None:
    page = DOCS / "experiments.md"
    out = run_guide(page, tmp_path).stdout
    registry = tmp_path / "registry"
    finished, failed = (r for r in sorted(api.list_runs(registry=registry), key=lambda r: r.status != "finished"))
    assert (finished.status, failed.status, failed.reason) == ("finished", "failed", "diverged after epoch 3")
    assert re.search(rf"\n{finished.id} +fraud-training +finished .* 0\.9 +0\.5\n", out), out
    assert re.search(r"! params\.lr +0\.1 +0\.02", out) and "metrics.auc   0.9               0.87 (-0.03)" in out
    assert f"run {finished.id}" in out and "Register fraud 1.0.0" in out  # the branch moved for the registration only
    assert out.count("refs/gitreg/runs/fraud-training/") >= 4  # listed here, then in the bare origin
    version = api.show("fraud@1.0.0", registry=registry)
    assert version.metrics == {"loss": 0.5, "auc": 0.9} and version.lineage["run"]["id"] == finished.id
    code = "\n".join(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    made = api.show_run(done.stdout.strip(), registry=registry)
    assert made.metrics == {"loss": 0.45, "auc": 0.91} and made.steps == {"loss": 3, "auc": 1}
    assert "model.bin" in made.artifacts and made.status == "finished"
    assert api.check(registry=registry).ok


def test_the_signatures_guide_runs_as_written(tmp_path: Path) -> None:
    w, b = onnx_model(tmp_path / "linear.onnx")  # what a training job exported
    page = DOCS / "signatures.md"
    out = run_guide(page, tmp_path).stdout
    registry = tmp_path / "registry"
    shown = json.loads(out[out.index("{") : out.index("\n}\n") + 2])
    assert shown["signature"]["inputs"][1] == {"name": "country", "dtype": "string", "required": False}
    assert shown["input_example"]["inputs"] == ["amount", "country"]
    assert shown["environment"] == {"source": "requirements", "requirements": ["numpy==2.1.0", "scikit-learn==1.5.0"]}
    assert (tmp_path / "example-pulled.csv").read_bytes() == (tmp_path / "example.csv").read_bytes()
    assert (tmp_path / "rebuild.txt").read_text().endswith("numpy==2.1.0\nscikit-learn==1.6.0\n")
    assert "- scikit-learn==1.6.0" in out and "#   ~ scikit-learn 1.5.0 -> 1.6.0" in out
    assert "Signature of 1.0.2: BREAKING for callers of 1.0.0" in out and "breaking promote exit 1" in out
    assert api.resolve("fraud@staging", registry=registry).version == "1.0.0"
    code = "\n".join(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))
    done = subprocess.run([sys.executable, "-c", code], cwd=registry, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    inferred, predicted = done.stdout.strip().split("\n", 1)
    assert inferred == str(
        {
            "inputs": [{"name": "0", "dtype": "float32", "shape": [None, 3]}],
            "outputs": [{"name": "0", "dtype": "float32", "shape": [None]}],
        }
    )
    expected = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]], dtype=np.float32) @ w + b
    assert predicted == str(expected)
    assert api.check(registry=registry).ok
