from __future__ import annotations

from pathlib import Path

from gitreg import api
from tests.conftest import Cli, git


def test_demo_runs_end_to_end(tmp_path: Path, cli: Cli) -> None:
    out = cli("demo", "--dir", tmp_path / "demo").stdout
    registry = tmp_path / "demo" / "registry"
    assert f"The registry is a git repository: {registry}" in out
    versions = api.list_versions("fraud-detector", registry=registry)
    assert [v.version for v in versions] == ["1.0.1", "1.0.0"]
    assert versions[0].metrics["auc"] >= versions[1].metrics["auc"]
    assert api.show("fraud-detector@1.0.1", registry=registry).artifact.nfiles == 2
    assert git(registry, "tag").splitlines() == ["fraud-detector@v1.0.0", "fraud-detector@v1.0.1"]
    assert git(registry, "status", "--porcelain") == ""
