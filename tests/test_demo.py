from __future__ import annotations

from pathlib import Path

from gitreg import api
from tests.conftest import Cli, git


def test_demo_runs_end_to_end(tmp_path: Path, cli: Cli) -> None:
    out = cli("demo", "--dir", tmp_path / "demo").stdout
    registry = tmp_path / "demo" / "registry"
    assert f"The registry is a git repository: {registry}" in out
    assert "-> refused, nothing written: min_auc: 0.64 < 0.8" in out
    versions = api.list_versions("fraud-detector", registry=registry)
    assert [(v.version, v.stage) for v in versions] == [
        ("1.0.2", "development"),
        ("1.0.1", "staging"),
        ("1.0.0", "production"),
    ]
    assert "Healthy: measurement recorded." in out and "Rolled back production from 1.0.1 to 1.0.0: monitor:" in out
    assert len(api.show("fraud-detector@1.0.1", registry=registry).evaluations) == 2
    assert api.show("fraud-detector@1.0.1", registry=registry).artifact.nfiles == 2
    production = api.history("fraud-detector", stage="production", registry=registry)
    assert [(e.action, e.previous, e.version) for e in production] == [
        ("rollback", "1.0.1", "1.0.0"),
        ("promote", "1.0.0", "1.0.1"),
        ("promote", None, "1.0.0"),
    ]
    assert "fraud-detector#production#8" in git(registry, "tag").splitlines()
    # status says what to do about the degraded 1.0.1 that still holds staging
    assert "  - rollback: staging's holder 1.0.1 is marked degraded" in out
    assert git(registry, "status", "--porcelain") == ""
    # the data it was trained on is a dataset, each version came from a run of the experiment registry
    assert "Registered dataset card-transactions 1.0.0: 600 rows, 4 columns" in out
    runs = api.list_runs("fraud-training", registry=registry)
    assert len(runs) == 3 and all(r.status == "finished" and r.artifacts for r in runs)
    production = api.show("fraud-detector@production", registry=registry)
    assert [link.ref for link in production.datasets] == ["card-transactions@1.0.0"]
    assert production.lineage["run"]["system"] == "gitreg" and production.lineage["run"]["id"] in {r.id for r in runs}
    used = [(u.version, u.stages) for u in api.used_by("card-transactions@1.0.0", registry=registry)]
    assert used == [("1.0.2", ()), ("1.0.1", ("staging",)), ("1.0.0", ("production",))]
    assert "$ gitreg lineage --used-by card-transactions@1.0.0" in out
