"""`gitreg list --where`: a small grammar, parsed into data, never evaluated."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.documents import query
from gitreg.errors import UsageError
from tests.conftest import Cli, Setup


def _labelled_versions(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    api.register(
        "fraud",
        artifact,
        registry=registry,
        metrics={"auc": 0.85, "train.loss": 0.3},
        params={"opt": {"lr": 0.1}},
        labels={"team": "risk"},
        metadata={"approved": True},
    )
    api.register("fraud", artifact, registry=registry, metrics={"auc": 0.93}, labels={"team": "risk"})
    api.register("churn", artifact, registry=registry, metrics={"auc": 0.95}, labels={"team": "growth"})
    api.promote("fraud", "1.0.1", to="staging", registry=registry)


@pytest.fixture
def searchable(build_registry: Callable[[Setup], Path]) -> Path:
    """fraud 1.0.0 (nested params, metadata) and 1.0.1 (in staging), churn 1.0.0; teams as labels."""
    return build_registry(_labelled_versions)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (["metrics.auc > 0.9"], ["churn 1.0.0", "fraud 1.0.1"]),
        (["metrics.auc > 0.9 and labels.team == risk"], ["fraud 1.0.1"]),
        (["metrics.auc > 0.9", "labels.team == 'risk'"], ["fraud 1.0.1"]),
        (["metrics.train.loss <= 0.3"], ["fraud 1.0.0"]),
        (["params.opt.lr == 0.1"], ["fraud 1.0.0"]),
        (["metadata.approved == true"], ["fraud 1.0.0"]),
        (["stage == staging"], ["fraud 1.0.1"]),
        (["version >= 1.0.1"], ["fraud 1.0.1"]),
        (["created_by ~ Ada"], ["churn 1.0.0", "fraud 1.0.1", "fraud 1.0.0"]),
        (["created_at > 2000-01-01"], ["churn 1.0.0", "fraud 1.0.1", "fraud 1.0.0"]),
        (["metrics.auc > high"], []),  # a number never compares with text
        (["metrics.nothing > 0"], []),  # a missing field never matches
    ],
)
def test_where(searchable: Path, where: list[str], expected: list[str]) -> None:
    found = api.list_versions(where=where, registry=searchable)
    assert [f"{v.model} {v.version}" for v in found] == expected


def test_cli_search_with_labels(searchable: Path, cli: Cli) -> None:
    data = json.loads(
        cli("list", "--where", "metrics.auc > 0.9", "--label", "team=risk", "--json", "-R", searchable).stdout
    )
    assert [(d["model"], d["version"]) for d in data] == [("fraud", "1.0.1")]
    text = cli("list", "--where", "metrics.auc >= 0.85", "-R", searchable).stdout
    assert text.splitlines()[0].split()[:2] == ["MODEL", "VERSION"]
    assert cli("list", "fraud", "--where", "metrics.auc > 0.99", "-R", searchable).stdout == "No versions match.\n"


@pytest.mark.parametrize(
    "bad",
    ["auc > 0.9", "metrics.auc >> 1", "metrics.auc > 0.9 or stage == x", "__import__('os') == 1", "metrics.auc >", ""],
)
def test_bad_expressions_are_usage_errors(bad: str, searchable: Path, cli: Cli) -> None:
    with pytest.raises(UsageError, match="cannot read the condition"):
        query.parse(bad)
    result = cli("list", "--where", bad, "-R", searchable, code=2)
    assert result.stderr.startswith("gitreg: error: cannot read the condition") and result.stderr.count("\n") == 1
