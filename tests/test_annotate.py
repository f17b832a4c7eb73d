"""gitreg annotate: what is said about a version after its registration is
appended as a record, and `gitreg check` accepts that and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import ConflictError, NotFoundError, UsageError
from tests.conftest import Cli, git, state
from tests.helpers import check, edit_yaml, gto_view, our_view, path


def test_labels_and_description_after_registration(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, labels={"team": "risk", "tier": "1"}, description="first", registry=registry)
    out = cli(
        "annotate", "fraud", "1.0.0", "--label", "approved=yes", "--unset-label", "tier",
        "--description", "Retrained on June data", "--reason", "reviewed by risk", "-R", registry,
    ).stdout  # fmt: skip
    assert out.startswith("Recorded annotation 1 of fraud 1.0.0: approved=yes, -tier, description (reviewed by risk)")
    updated = api.annotate("fraud", "1.0.0", labels={"team": "fraud-ops"}, registry=registry)
    assert dict(updated.labels) == {"team": "fraud-ops", "approved": "yes"}
    assert updated.description == "Retrained on June data"
    shown = json.loads(cli("show", "fraud@1.0.0", "--json", "-R", registry).stdout)
    assert shown["labels"] == {"team": "fraud-ops", "approved": "yes"}
    first, second = shown["annotations"]
    assert first["unset_labels"] == ["tier"] and first["reason"] == "reviewed by risk"
    assert first["by"] == "Ada Tester <ada@example.com>" and second["labels"] == {"team": "fraud-ops"}
    assert git(registry, "log", "-1", "--format=%(trailers:key=Gitreg-Action,valueonly)") == "annotate"
    assert cli("check", "-R", registry).exit_code == 0
    # the labels an annotation sets are the ones queries see
    assert [v.version for v in api.list_versions("fraud", labels={"approved": "yes"}, registry=registry)] == ["1.0.0"]


def test_a_removed_label_stays_on_record(registry: Path, artifact: Path) -> None:
    api.register("fraud", artifact, labels={"approved": "yes"}, registry=registry)
    api.annotate("fraud", "1.0.0", unset_labels=["approved"], reason="approval withdrawn", registry=registry)
    now = api.show("fraud@1.0.0", registry=registry)
    assert dict(now.labels) == {}
    assert [(a.unset_labels, a.reason) for a in now.annotations] == [(("approved",), "approval withdrawn")]


def test_annotations_pass_the_checker_in_a_pull_request(pr_registry: Path, cli: Cli) -> None:
    git(pr_registry, "checkout", "-q", "-b", "annotate")
    api.annotate("fraud", "1.0.0", labels={"approved": "yes"}, description="ok", registry=pr_registry)
    api.annotate("fraud", "1.0.0", unset_labels=["approved"], registry=pr_registry)
    assert check(pr_registry, cli, 0)["ok"] is True


def test_a_rewritten_record_is_refused(pr_registry: Path, cli: Cli) -> None:
    api.annotate("fraud", "1.0.0", labels={"approved": "yes"}, registry=pr_registry)
    git(pr_registry, "push", "-q", "origin", "main")
    git(pr_registry, "checkout", "-q", "-b", "rewrite")
    file = path(pr_registry, "fraud", "versions", "1.0.0.yaml")
    edit_yaml(file, annotations=[], labels={})  # the record and its label erased together
    git(pr_registry, "commit", "-qam", "erase the record")
    report = check(pr_registry, cli, 1)
    assert any(v["field"] == "/annotations" for v in report["violations"]), report  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"unset_labels": ["nope"]}, NotFoundError, "has no label 'nope'"),
        ({}, UsageError, "nothing to annotate"),
        ({"clear_degraded": True}, UsageError, "needs a reason"),
        ({"clear_degraded": True, "reason": "fixed"}, ConflictError, "is not marked degraded"),
        ({"labels": {"a": "x"}, "unset_labels": ["a"]}, UsageError, "both set and removed"),
        ({"labels": {"a": "line\nbreak"}}, UsageError, "control characters"),
        ({"labels": {"../x": "y"}}, UsageError, "label"),
    ],
)
def test_bad_annotations_write_nothing(
    registry: Path, artifact: Path, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    api.register("fraud", artifact, registry=registry)
    before = state(registry)
    with pytest.raises(error, match=message):
        api.annotate("fraud", "1.0.0", registry=registry, **kwargs)  # type: ignore[arg-type]
    assert state(registry) == before


def test_cli_errors_are_one_line(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    before = state(registry)
    for args, code in [
        (["fraud", "9.9.9", "--label", "a=b"], 1),
        (["fraud", "1.0.0"], 2),
        (["fraud", "1.0.0", "--label", "novalue"], 2),
        (["fraud", "1.0.0", "--clear-degraded"], 2),
    ]:
        err = cli("annotate", *args, "-R", registry, code=code).stderr
        assert err.startswith("gitreg: error: ") and len(err.splitlines()) == 1, err
    assert state(registry) == before


def test_gto_agrees_after_annotations(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    api.promote("fraud", "1.0.0", to="staging", registry=registry)
    api.annotate("fraud", "1.0.0", labels={"approved": "yes"}, registry=registry)
    assert gto_view(registry) == our_view(registry, cli)
