"""The example training project, run exactly as its README says: a DVC
pipeline trains, then `gitreg register` records full lineage into a
separate registry, and `gitreg show` answers which code, which data, which
parameters and which run produced the model."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitreg import api
from tests.conftest import git

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fraud-training"


def readme_commands() -> str:
    text = (EXAMPLE / "README.md").read_text()
    (block,) = re.findall(r"```sh\n(.*?)```", text, re.S)
    return block


@pytest.mark.stress
def test_the_example_project_end_to_end(tmp_path: Path) -> None:
    project = tmp_path / "fraud-training"
    shutil.copytree(EXAMPLE, project)
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": "314",
        "GITHUB_REPOSITORY": "acme/fraud-training",
        "DVC_NO_ANALYTICS": "1",
    }
    result = subprocess.run(
        ["bash", "-e", "-c", readme_commands()], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    registry = tmp_path / "registry"
    version = api.show("fraud@latest", registry=registry)
    # which code
    assert version.lineage["code"]["commit"] == git(project, "rev-parse", "HEAD")
    assert version.lineage["code"]["dirty"] is False
    # which data
    assert version.lineage["stage"] == "train"
    data = {d["path"]: d for d in version.lineage["data"]}
    assert set(data) == {"train.py", "data/transactions.csv"}
    assert re.fullmatch(r"[0-9a-f]{32}", data["data/transactions.csv"]["md5"])
    # which parameters, and the metrics
    assert dict(version.params) == {"train.epochs": 40, "train.learning_rate": 0.5}  # as dvc.lock names them
    assert 0.8 < version.metrics["auc"] <= 1.0
    # which run
    assert dict(version.lineage["run"]) == {
        "system": "github-actions",
        "id": "314",
        "url": "https://github.com/acme/fraud-training/actions/runs/314",
    }
    assert "lineage" in result.stdout and "data/transactions.csv" in result.stdout  # `gitreg show` printed it
