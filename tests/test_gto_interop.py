"""GTO reading the same repository sees the same registry: after every kind
of operation, `gto show --json` reports the latest version and the version in
each stage that `gitreg list --json` reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from gitreg import api
from tests.conftest import Cli

GTO = Path(sys.executable).parent / "gto"


def gto_view(registry: Path) -> dict[str, Any]:
    out = subprocess.run([str(GTO), "show", "--json"], cwd=registry, capture_output=True, text=True, check=True).stdout
    # GTO keeps a stage that once had a holder in its output, with null
    return {
        name: {"latest": a["version"], "stages": {s: v for s, v in a["stage"].items() if v is not None}}
        for name, a in json.loads(out).items()
    }


def our_view(registry: Path, cli: Cli) -> dict[str, Any]:
    models = json.loads(cli("list", "--json", "-R", registry).stdout)
    return {
        m["model"]: {"latest": f"v{m['latest']}", "stages": {s: f"v{v}" for s, v in m["stages"].items()}}
        for m in models
    }


def test_gto_agrees_through_a_whole_lifecycle(registry: Path, artifact: Path, cli: Cli) -> None:
    def agree() -> None:
        assert gto_view(registry) == our_view(registry, cli)

    for model, aucs in (("fraud", (0.80, 0.90, 0.95, 0.97)), ("churn-model", (0.7, 0.75))):
        for auc in aucs:
            api.register(model, artifact, registry=registry, metrics={"auc": auc})
    agree()
    steps = [
        lambda: api.promote("fraud", "1.0.1", to="staging", registry=registry),
        lambda: api.promote("fraud", "1.0.1", to="production", registry=registry),
        lambda: api.promote("fraud", "1.0.2", to="staging", registry=registry),
        lambda: api.promote("fraud", "1.0.2", to="production", registry=registry),
        lambda: api.rollback("fraud", registry=registry),
        lambda: api.promote("churn-model", "1.0.0", to="staging", registry=registry),
        lambda: api.promote("fraud", "1.0.3", to="staging", registry=registry),
        lambda: api.demote("fraud", "1.0.1", to="staging", registry=registry),
        lambda: api.rollback("fraud", stage="staging", to="1.0.2", registry=registry),
        lambda: api.archive("fraud", "1.0.0", registry=registry),
        lambda: api.deprecate("fraud", "1.0.3", registry=registry),
        lambda: api.unassign("churn-model", stage="staging", registry=registry),
        lambda: api.promote("fraud", "1.0.2", to="development", registry=registry),
        lambda: api.demote("fraud", "1.0.2", to="development", registry=registry),
        lambda: api.register("fraud", artifact, registry=registry, bump="minor"),
    ]
    for step in steps:
        step()
        agree()
    assert our_view(registry, cli)["fraud"] == {"latest": "v1.1.0", "stages": {"development": "v1.0.2"}}
