"""`gitreg check`: the rules hold however the registry is edited. Each case is
a pull-request-like branch of real commits, checked against a bare origin."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.documents import yamlio
from gitreg.documents.names import Quoted
from tests.conftest import Cli, git

Edit = Callable[[Path], None]


@pytest.fixture
def reg(tmp_path: Path, artifact: Path) -> Path:
    """A registry with a bare origin: fraud 1.0.0-1.0.3 (auc .80/.90/.95/.97),
    churn 1.0.0, 1.0.1 in staging, gates on both stages, all pushed."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    registry = tmp_path / "registry"
    api.init(registry)
    git(registry, "remote", "add", "origin", str(origin))
    for auc in (0.80, 0.90, 0.95, 0.97):
        api.register("fraud", artifact, registry=registry, metrics={"auc": auc}, metadata={"approved": True})
    api.register("churn", artifact, registry=registry, metrics={"auc": 0.7})
    api.set_model(
        "fraud",
        gates={"staging": {"min_auc": 0.85}, "production": {"min_improvement_auc": 0.01, "require_approved": True}},
        registry=registry,
    )
    api.promote("fraud", "1.0.1", to="staging", registry=registry)
    git(registry, "push", "-q", "-u", "origin", "main", "--tags")
    return registry


def path(reg: Path, *parts: str) -> Path:
    return reg.joinpath("models", *parts)


def edit_yaml(file: Path, **changes: object) -> None:
    doc = yamlio.load(file.read_text(), str(file))
    doc.update(changes)
    if "version" in doc:
        doc["version"] = Quoted(doc["version"])
    file.write_text(yamlio.dump(doc))


def pointer(reg: Path, stage: str, version: str, model: str = "fraud", folder: str = "fraud") -> None:
    file = path(reg, folder, "stages", f"{stage}.yaml")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(
        yamlio.dump(
            {
                "apiVersion": "gitreg/v1",
                "kind": "StagePointer",
                "model": model,
                "stage": stage,
                "version": Quoted(version),
                "promoted_at": "2026-01-01T00:00:00Z",
                "promoted_by": "Eve <e@x.y>",
                "reason": "by hand",
            }
        )
    )


def pr(reg: Path, name: str, edit: Edit) -> None:
    """A branch with the edit committed by hand, as a pull request would carry it."""
    git(reg, "checkout", "-q", "-b", name)
    edit(reg)
    git(reg, "add", "-A")
    git(reg, "commit", "-q", "-m", name)


def check(reg: Path, cli: Cli, code: int, *args: str) -> dict[str, object]:
    result = cli("check", "--base", "origin/main", "--format", "json", "-R", reg, *args, code=code)
    report: dict[str, object] = json.loads(result.stdout)
    return report


def messages(report: dict[str, object]) -> list[str]:
    return [f"{v['path']} {v['field']}: {v['message']}" for v in report["violations"]]  # type: ignore[attr-defined,index]


def edit_metrics(reg: Path) -> None:
    edit_yaml(path(reg, "fraud", "versions", "1.0.0.yaml"), metrics={"auc": 0.99})
    pointer(reg, "staging", "1.0.0")


def delete_version(reg: Path) -> None:
    path(reg, "fraud", "versions", "1.0.0.yaml").unlink()


def rename_version(reg: Path) -> None:
    old = path(reg, "fraud", "versions", "1.0.0.yaml")
    edit_yaml(old, version="1.0.9")
    old.rename(old.with_name("1.0.9.yaml"))


def archive_then_point(status: str) -> Edit:
    def edit(reg: Path) -> None:
        edit_yaml(path(reg, "fraud", "versions", "1.0.2.yaml"), status=status)
        pointer(reg, "staging", "1.0.2")

    return edit


def loosen_and_promote(reg: Path) -> None:
    edit_yaml(path(reg, "fraud", "model.yaml"), gates={"staging": {"min_auc": 0.5}})
    pointer(reg, "staging", "1.0.0")


def unknown_kind(reg: Path) -> None:
    (path(reg, "fraud", "versions", "1.0.9.yaml")).write_text("apiVersion: gitreg/v1\nkind: Backdoor\nmodel: fraud\n")


def python_tag(reg: Path) -> None:
    file = path(reg, "fraud", "versions", "1.0.3.yaml")
    file.write_text(file.read_text().replace("status: active", "status: !!python/object/apply:os.system ['id']"))


def stray_file(reg: Path) -> None:
    (path(reg, "fraud", "notes.yaml")).write_text("kind: Notes\n")


def name_disagrees(reg: Path) -> None:
    source = path(reg, "fraud", "versions", "1.0.3.yaml").read_text()
    path(reg, "fraud", "versions", "1.0.4.yaml").write_text(source)


BYPASSES: list[tuple[str, Edit, str]] = [
    (
        "edit a version's metrics so it passes",
        edit_metrics,
        "models/fraud/versions/1.0.0.yaml /metrics: metrics is part of the registered core and cannot change",
    ),
    (
        "delete a version",
        delete_version,
        "models/fraud/versions/1.0.0.yaml : version files are never deleted or renamed",
    ),
    (
        "rename a version",
        rename_version,
        "models/fraud/versions/1.0.0.yaml : version files are never deleted or renamed",
    ),
    (
        "point at a missing version",
        lambda r: pointer(r, "staging", "7.0.0"),
        "models/fraud/stages/staging.yaml /version: fraud 7.0.0 is not registered",
    ),
    ("point at an archived version", archive_then_point("archived"), "fraud 1.0.2 is archived: it cannot hold a stage"),
    (
        "point at a deprecated version",
        archive_then_point("deprecated"),
        "fraud 1.0.2 is deprecated: it cannot hold a stage",
    ),
    (
        "point at another model's version",
        lambda r: pointer(r, "staging", "1.0.0", model="churn"),
        "models/fraud/stages/staging.yaml /model: is 'churn' but the file's path says 'fraud'",
    ),
    ("loosen a gate and promote", loosen_and_promote, "fraud 1.0.0 fails gate min_auc for staging: 0.8 < 0.85"),
    (
        "skip staging",
        lambda r: pointer(r, "production", "1.0.2"),
        "fraud 1.0.2 never held staging, which production requires",
    ),
    (
        "a file of an unknown kind",
        unknown_kind,
        "models/fraud/versions/1.0.9.yaml /kind: expected 'ModelVersion', found 'Backdoor'",
    ),
    ("a !!python tag", python_tag, "models/fraud/versions/1.0.3.yaml line"),
    ("a stray YAML file", stray_file, "models/fraud/notes.yaml : not a registry file"),
    (
        "file name and version disagree",
        name_disagrees,
        "models/fraud/versions/1.0.4.yaml /version: is '1.0.3' but the file's path says '1.0.4'",
    ),
    (
        "a stage that is not configured",
        lambda r: pointer(r, "canary", "1.0.3"),
        "models/fraud/stages/canary.yaml : stage 'canary' is not configured",
    ),
]


@pytest.mark.parametrize(("case", "edit", "message"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_bypass_attempts_fail_with_a_named_reason(reg: Path, cli: Cli, case: str, edit: Edit, message: str) -> None:
    pr(reg, "attempt", edit)
    report = check(reg, cli, 1)
    assert report["ok"] is False
    assert any(message in m for m in messages(report)), messages(report)


def test_python_tag_is_refused_as_such(reg: Path, cli: Cli) -> None:
    pr(reg, "attempt", python_tag)
    assert any("YAML tags are not allowed" in m for m in messages(check(reg, cli, 1)))


def test_every_violation_is_reported(reg: Path, cli: Cli) -> None:
    def many(r: Path) -> None:
        delete_version(r)
        pointer(r, "production", "1.0.2")
        stray_file(r)

    pr(reg, "attempt", many)
    rules = sorted(v["rule"] for v in check(reg, cli, 1)["violations"])  # type: ignore[attr-defined]
    assert rules == ["deleted", "order", "unexpected"]


def test_a_promotion_branch_passes_and_merges(reg: Path, cli: Cli, tmp_path: Path) -> None:
    out = cli(
        "promote", "fraud", "1.0.2", "--to", "staging", "--branch", "--pr-body", tmp_path / "pr.md", "-R", reg
    ).stdout
    assert "on branch gitreg/promote-fraud-staging-1.0.2, pushed to origin" in out
    body = (tmp_path / "pr.md").read_text()
    assert "| min_auc | 0.85 | 0.95 | 0.9 | +0.05 | ✅ pass |" in body and "Merging this pull request" in body
    assert git(reg, "ls-remote", "origin", "gitreg/promote-fraud-staging-1.0.2")
    assert api.list_models(registry=reg)[1].stages == {"staging": "1.0.1"}  # main did not move
    assert git(reg, "tag", "-l", "fraud#*") == "fraud#staging#1"  # no tags on a PR branch
    git(reg, "checkout", "-q", "gitreg/promote-fraud-staging-1.0.2")
    markdown = cli("check", "--base", "origin/main", "--format", "markdown", "-R", reg).stdout
    assert "## gitreg check: ✅ all rules hold" in markdown
    assert "### ✅ fraud: staging 1.0.1 → 1.0.2 (promotion)" in markdown
    assert "| min_auc | 0.85 | 0.95 | 0.9 | +0.05 | ✅ pass |" in markdown
    # merge (fast-forward), then the tags follow
    git(reg, "checkout", "-q", "main")
    git(reg, "merge", "-q", "--ff-only", "gitreg/promote-fraud-staging-1.0.2")
    git(reg, "push", "-q", "origin", "main")
    result = api.tags_sync(registry=reg)
    assert result.created == ("fraud#staging!#2", "fraud#staging#3")
    assert api.tags_sync(registry=reg).created == ()  # idempotent
    from tests.test_gto_interop import gto_view

    assert gto_view(reg)["fraud"]["stages"] == {"staging": "v1.0.2"}


def test_checking_a_branch_without_checking_it_out(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.2", to="staging", branch="pr-1", registry=reg)
    report = json.loads(cli("check", "--base", "origin/main", "--head", "pr-1", "--format", "json", "-R", reg).stdout)
    assert report["ok"] is True and report["moves"][0]["to"] == "1.0.2"


def test_a_refused_promotion_makes_no_branch(reg: Path, cli: Cli) -> None:
    cli("promote", "fraud", "1.0.0", "--to", "staging", "--branch", "-R", reg, code=1)
    assert git(reg, "branch", "--list", "gitreg/*") == ""


def test_a_rollback_pr_passes(reg: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    git(reg, "push", "-q", "origin", "main")
    api.rollback("fraud", stage="staging", branch="rollback", registry=reg)
    report = json.loads(
        cli("check", "--base", "origin/main", "--head", "rollback", "--format", "json", "-R", reg).stdout
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


def test_a_git_revert_of_a_promotion_passes(reg: Path, cli: Cli) -> None:
    api.set_model("fraud", gates={"staging": {"min_auc": 0.92}}, registry=reg)  # 1.0.1 would fail it now
    api.promote("fraud", "1.0.2", to="staging", registry=reg)
    git(reg, "push", "-q", "origin", "main")
    git(reg, "checkout", "-q", "-b", "revert")
    git(reg, "revert", "--no-edit", "HEAD")
    report = check(reg, cli, 0)
    assert report["moves"][0]["rollback"] is True  # type: ignore[index]


def test_a_pr_that_only_registers_passes(reg: Path, cli: Cli, artifact: Path) -> None:
    git(reg, "checkout", "-q", "-b", "new-versions")
    api.register("fraud", artifact, registry=reg, metrics={"auc": 0.5})
    api.register("brand-new", artifact, registry=reg)
    report = check(reg, cli, 0)
    assert report["moves"] == [] and report["violations"] == []


def test_annotations_only_edits_pass(reg: Path, cli: Cli) -> None:
    def annotate(r: Path) -> None:
        file = path(r, "fraud", "versions", "1.0.0.yaml")
        doc = yamlio.load(file.read_text(), "x")
        edit_yaml(
            file,
            description="superseded",
            labels={"note": "old"},
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

    pr(reg, "annotate", annotate)
    check(reg, cli, 0)
    git(reg, "checkout", "-q", "-b", "rewrite-history")

    def drop_evaluation(r: Path) -> None:
        edit_yaml(path(r, "fraud", "versions", "1.0.0.yaml"), evaluations=[])

    drop_evaluation(reg)
    git(reg, "commit", "-qam", "drop")
    report = json.loads(cli("check", "--base", "annotate", "--format", "json", "-R", reg, code=1).stdout)
    assert "models/fraud/versions/1.0.0.yaml /evaluations: evaluations can only be appended" in messages(report)


def test_whole_tree_check(reg: Path, cli: Cli) -> None:
    assert "all rules hold" in cli("check", "-R", reg).stdout
    pointer(reg, "production", "9.9.9")
    (path(reg, "fraud", "versions", "oops.yaml")).write_text("{}")
    git(reg, "add", "-A")
    git(reg, "commit", "-qm", "broken by hand")
    text = cli("check", "-R", reg, code=1).stdout
    assert "models/fraud/stages/production.yaml /version: fraud 9.9.9 is not registered" in text
    assert "models/fraud/versions/oops.yaml: file name 'oops' is not a valid version" in text
    assert text.rstrip().endswith("2 violation(s)")


def test_github_annotations(reg: Path, cli: Cli) -> None:
    pr(reg, "attempt", lambda r: pointer(r, "production", "1.0.2"))
    out = cli("check", "--base", "origin/main", "--format", "github", "-R", reg, code=1).stdout
    assert re.search(
        r"^::error file=models/fraud/stages/production\.yaml,title=gitreg check%3A order::/version: ", out, re.M
    )


def test_staged_check_for_pre_commit(reg: Path, cli: Cli) -> None:
    pointer(reg, "production", "1.0.2")
    git(reg, "add", "-A")
    result = cli("check", "--staged", "-R", reg, code=1)
    assert "never held staging, which production requires" in result.stdout
    git(reg, "reset", "-q", "--hard")
    assert "all rules hold" in cli("check", "--staged", "-R", reg).stdout


def test_check_reads_only_what_the_change_touches(reg: Path, artifact: Path, cli: Cli) -> None:
    for i in range(15):
        api.register(f"model-{i}", artifact, registry=reg)
    git(reg, "push", "-q", "origin", "main")
    api.promote("fraud", "1.0.2", to="staging", branch="pr", registry=reg)
    report = json.loads(cli("check", "--base", "origin/main", "--head", "pr", "--format", "json", "-R", reg).stdout)
    assert report["ok"] is True
    assert report["files"] <= 6  # the pointer, its two versions, base model.yaml, config
    assert json.loads(cli("check", "--format", "json", "-R", reg).stdout)["files"] > 30


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
def test_usage_errors(reg: Path, cli: Cli, args: list[str], code: int, message: str) -> None:
    assert message in cli(*args, "-R", reg, code=code).stderr


def test_an_existing_branch_is_not_overwritten(reg: Path) -> None:
    git(reg, "branch", "taken")
    before = git(reg, "rev-parse", "taken")
    with pytest.raises(Exception, match="branch 'taken' already exists"):
        api.promote("fraud", "1.0.2", to="staging", branch="taken", registry=reg)
    assert git(reg, "rev-parse", "taken") == before


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
