"""`gitreg check`: the rules hold however the registry is edited. Each case is
a pull-request-like branch of real commits, checked against a bare origin."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitreg import api
from gitreg.documents import yamlio
from tests.conftest import Cli, git
from tests.helpers import (
    BYPASSES,
    Edit,
    check,
    delete_version,
    edit_yaml,
    messages,
    path,
    pointer,
    pr,
    python_tag,
    stray_file,
)


@pytest.mark.parametrize(("case", "edit", "message"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_bypass_attempts_fail_with_a_named_reason(
    pr_registry: Path, cli: Cli, case: str, edit: Edit, message: str
) -> None:
    pr(pr_registry, "attempt", edit)
    report = check(pr_registry, cli, 1)
    assert report["ok"] is False
    assert any(message in m for m in messages(report)), messages(report)


def test_python_tag_is_refused_as_such(pr_registry: Path, cli: Cli) -> None:
    pr(pr_registry, "attempt", python_tag)
    assert any("YAML tags are not allowed" in m for m in messages(check(pr_registry, cli, 1)))


def test_every_violation_is_reported(pr_registry: Path, cli: Cli) -> None:
    def many(r: Path) -> None:
        delete_version(r)
        pointer(r, "production", "1.0.2")
        stray_file(r)

    pr(pr_registry, "attempt", many)
    rules = sorted(v["rule"] for v in check(pr_registry, cli, 1)["violations"])  # type: ignore[attr-defined]
    assert rules == ["deleted", "order", "unexpected"]


def test_a_promotion_branch_passes_and_merges(pr_registry: Path, cli: Cli, tmp_path: Path) -> None:
    out = cli(
        "promote", "fraud", "1.0.2", "--to", "staging", "--branch", "--pr-body", tmp_path / "pr.md", "-R", pr_registry
    ).stdout
    assert "on branch gitreg/promote-fraud-staging-1.0.2, pushed to origin" in out
    body = (tmp_path / "pr.md").read_text()
    assert "| min_auc | 0.85 | 0.95 | 0.9 | +0.05 | ✅ pass |" in body and "Merging this pull request" in body
    assert git(pr_registry, "ls-remote", "origin", "gitreg/promote-fraud-staging-1.0.2")
    assert api.list_models(registry=pr_registry)[1].stages == {"staging": "1.0.1"}  # main did not move
    assert git(pr_registry, "tag", "-l", "fraud#*") == "fraud#staging#1"  # no tags on a PR branch
    git(pr_registry, "checkout", "-q", "gitreg/promote-fraud-staging-1.0.2")
    markdown = cli("check", "--base", "origin/main", "--format", "markdown", "-R", pr_registry).stdout
    assert "## gitreg check: ✅ all rules hold" in markdown
    assert "### ✅ fraud: staging 1.0.1 → 1.0.2 (promotion)" in markdown
    assert "| min_auc | 0.85 | 0.95 | 0.9 | +0.05 | ✅ pass |" in markdown
    # merge (fast-forward), then the tags follow
    git(pr_registry, "checkout", "-q", "main")
    git(pr_registry, "merge", "-q", "--ff-only", "gitreg/promote-fraud-staging-1.0.2")
    git(pr_registry, "push", "-q", "origin", "main")
    result = api.tags_sync(registry=pr_registry)
    assert result.created == ("fraud#staging!#2", "fraud#staging#3")
    assert api.tags_sync(registry=pr_registry).created == ()  # idempotent
    from tests.helpers import gto_view

    assert gto_view(pr_registry)["fraud"]["stages"] == {"staging": "v1.0.2"}


def test_checking_a_branch_without_checking_it_out(pr_registry: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.2", to="staging", branch="pr-1", registry=pr_registry)
    report = json.loads(
        cli("check", "--base", "origin/main", "--head", "pr-1", "--format", "json", "-R", pr_registry).stdout
    )
    assert report["ok"] is True and report["moves"][0]["to"] == "1.0.2"


def test_a_refused_promotion_makes_no_branch(pr_registry: Path, cli: Cli) -> None:
    cli("promote", "fraud", "1.0.0", "--to", "staging", "--branch", "-R", pr_registry, code=1)
    assert git(pr_registry, "branch", "--list", "gitreg/*") == ""


def test_a_rollback_pr_passes(pr_registry: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.2", to="staging", registry=pr_registry)
    git(pr_registry, "push", "-q", "origin", "main")
    api.rollback("fraud", stage="staging", branch="rollback", registry=pr_registry)
    report = json.loads(
        cli("check", "--base", "origin/main", "--head", "rollback", "--format", "json", "-R", pr_registry).stdout
    )
    assert report["ok"] is True
    assert report["moves"][0] | {"gates": []} == {
        "path": "models/fraud/stages/staging.yaml",
        "model": "fraud",
        "stage": "staging",
        "from": "1.0.2",
        "to": "1.0.1",
        "rollback": True,
        "passed": True,
        "gates": [],
        "order": None,
    }


def test_a_git_revert_of_a_promotion_passes(pr_registry: Path, cli: Cli) -> None:
    api.set_model("fraud", gates={"staging": {"min_auc": 0.92}}, registry=pr_registry)  # 1.0.1 would fail it now
    api.promote("fraud", "1.0.2", to="staging", registry=pr_registry)
    git(pr_registry, "push", "-q", "origin", "main")
    git(pr_registry, "checkout", "-q", "-b", "revert")
    git(pr_registry, "revert", "--no-edit", "HEAD")
    report = check(pr_registry, cli, 0)
    assert report["moves"][0]["rollback"] is True  # type: ignore[index]


def test_a_pr_that_only_registers_passes(pr_registry: Path, cli: Cli, artifact: Path) -> None:
    git(pr_registry, "checkout", "-q", "-b", "new-versions")
    api.register("fraud", artifact, registry=pr_registry, metrics={"auc": 0.5})
    api.register("brand-new", artifact, registry=pr_registry)
    report = check(pr_registry, cli, 0)
    assert report["moves"] == [] and report["violations"] == []


def test_annotations_only_edits_pass(pr_registry: Path, cli: Cli) -> None:
    def annotate(r: Path) -> None:
        file = path(r, "fraud", "versions", "1.0.0.yaml")
        doc = yamlio.load(file.read_text(), "x")
        note = {
            "at": "2026-02-01T00:00:00Z",
            "by": "Ops <o@x.y>",
            "description": "superseded",
            "labels": {"note": "old"},
        }
        edit_yaml(
            file,
            description="superseded",
            labels={"note": "old"},
            annotations=[note],  # labels and description change by an appended record, as gitreg annotate writes
            status="archived",
            evaluations=[
                *doc["evaluations"],
                {
                    "at": "2026-02-01T00:00:00Z",
                    "by": "Ops <o@x.y>",
                    "environment": "production",
                    "metrics": {"auc": 0.79},
                },
            ],
        )

    pr(pr_registry, "annotate", annotate)
    check(pr_registry, cli, 0)
    git(pr_registry, "checkout", "-q", "-b", "rewrite-history")

    def drop_evaluation(r: Path) -> None:
        edit_yaml(path(r, "fraud", "versions", "1.0.0.yaml"), evaluations=[])

    drop_evaluation(pr_registry)
    git(pr_registry, "commit", "-qam", "drop")
    report = json.loads(cli("check", "--base", "annotate", "--format", "json", "-R", pr_registry, code=1).stdout)
    assert "models/fraud/versions/1.0.0.yaml /evaluations: evaluations can only be appended" in messages(report)


def test_whole_tree_check(pr_registry: Path, cli: Cli) -> None:
    assert "all rules hold" in cli("check", "-R", pr_registry).stdout
    pointer(pr_registry, "production", "9.9.9")
    (path(pr_registry, "fraud", "versions", "oops.yaml")).write_text("{}")
    git(pr_registry, "add", "-A")
    git(pr_registry, "commit", "-qm", "broken by hand")
    text = cli("check", "-R", pr_registry, code=1).stdout
    assert "models/fraud/stages/production.yaml /version: fraud 9.9.9 is not registered" in text
    assert "models/fraud/versions/oops.yaml: file name 'oops' is not a valid version" in text
    assert text.rstrip().endswith("2 violation(s)")


def test_github_annotations(pr_registry: Path, cli: Cli) -> None:
    pr(pr_registry, "attempt", lambda r: pointer(r, "production", "1.0.2"))
    out = cli("check", "--base", "origin/main", "--format", "github", "-R", pr_registry, code=1).stdout
    assert re.search(
        r"^::error file=models/fraud/stages/production\.yaml,title=gitreg check%3A order::/version: ", out, re.M
    )


def test_staged_check_for_pre_commit(pr_registry: Path, cli: Cli) -> None:
    pointer(pr_registry, "production", "1.0.2")
    git(pr_registry, "add", "-A")
    result = cli("check", "--staged", "-R", pr_registry, code=1)
    assert "never held staging, which production requires" in result.stdout
    git(pr_registry, "reset", "-q", "--hard")
    assert "all rules hold" in cli("check", "--staged", "-R", pr_registry).stdout


def test_check_reads_only_what_the_change_touches(pr_registry: Path, artifact: Path, cli: Cli) -> None:
    for i in range(15):
        api.register(f"model-{i}", artifact, registry=pr_registry)
    git(pr_registry, "push", "-q", "origin", "main")
    api.promote("fraud", "1.0.2", to="staging", branch="pr", registry=pr_registry)
    report = json.loads(
        cli("check", "--base", "origin/main", "--head", "pr", "--format", "json", "-R", pr_registry).stdout
    )
    assert report["ok"] is True
    assert report["files"] <= 6  # the pointer, its two versions, base model.yaml, config
    assert json.loads(cli("check", "--format", "json", "-R", pr_registry).stdout)["files"] > 30


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["check", "--base", "no-such-ref"], 1, "base revision 'no-such-ref' does not exist"),
        (["check", "--head", "no-such-ref"], 1, "revision 'no-such-ref' does not exist"),
        (["check", "--format", "xml"], 2, "Invalid value for '--format'"),
        (
            ["promote", "fraud", "1.0.2", "--to", "staging", "--branch", "bad..name"],
            2,
            "invalid branch name 'bad..name'",
        ),
    ],
)
def test_usage_errors(pr_registry: Path, cli: Cli, args: list[str], code: int, message: str) -> None:
    assert message in cli(*args, "-R", pr_registry, code=code).stderr


def test_an_existing_branch_is_not_overwritten(pr_registry: Path) -> None:
    git(pr_registry, "branch", "taken")
    before = git(pr_registry, "rev-parse", "taken")
    with pytest.raises(Exception, match="branch 'taken' already exists"):
        api.promote("fraud", "1.0.2", to="staging", branch="taken", registry=pr_registry)
    assert git(pr_registry, "rev-parse", "taken") == before


def test_parsing_in_two_processes_gives_what_one_gives(registry: Path, artifact: Path) -> None:
    """A big whole-tree check parses half its files in a forked process:
    documents and violations, in order, are the same as parsing them all here."""
    from gitreg.ci import check

    api.register("fraud", artifact, registry=registry, metrics={"auc": 0.9})
    api.promote("fraud", "1.0.0", to="staging", registry=registry)
    good = [
        (p.relative_to(registry).as_posix(), p.read_bytes())
        for p in sorted((registry / "models").rglob("*"))
        if p.is_file()
    ]
    bad = [
        ("models/fraud/versions/2.0.0.yaml", b"apiVersion: gitreg/v1\nkind: ModelVersion\n"),
        ("models/fraud/versions/not-a-version.yaml", good[1][1]),
        ("models/Bad Name/model.yaml", b"x: 1\n"),
        ("models/fraud/notes.txt", b"hello\n"),
        ("models/fraud/stages/staging.yaml", b"a: [unclosed\n"),
    ]
    items = (good + bad) * 3
    one = check.parse_files("models", items, parallel_from=len(items) + 1)
    two = check.parse_files("models", items, parallel_from=0)
    assert one == two
    assert sum(1 for _, document, _ in two if document is not None) == len(good) * 3
    assert sum(len(v) for _, _, v in two) == len(bad) * 3
