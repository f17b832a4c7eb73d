"""gitreg approve and the approval gates: distinct approvers counted by
promote and by `gitreg check --base`, from what the base already has."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import ConflictError, UsageError
from gitreg.operations.lifecycle import GateFailed
from tests.conftest import Cli, git, state
from tests.helpers import check, gto_view, messages, our_view, pointer, pr

BOB = {
    "GIT_AUTHOR_NAME": "Bob Reviewer",
    "GIT_AUTHOR_EMAIL": "bob@example.com",
    "GIT_COMMITTER_NAME": "Bob Reviewer",
    "GIT_COMMITTER_EMAIL": "bob@example.com",
}


def as_bob(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in BOB.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def staged(registry: Path, artifact: Path) -> Path:
    api.register("fraud", artifact, metrics={"auc": 0.9}, registry=registry)
    api.promote("fraud", "1.0.0", to="staging", registry=registry)
    return registry


def test_promotion_waits_for_distinct_approvers(staged: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("model", "set", "fraud", "--gate", "production:require_approvals=2", "-R", staged)
    out = cli("approve", "fraud", "1.0.0", "--for", "production", "--note", "RISK-142", "-R", staged).stdout
    assert "approved for production by Ada Tester <ada@example.com> (1 approver(s) for production)" in out
    with pytest.raises(GateFailed, match="require_approvals: 1 of 2 approvals for production"):
        api.promote("fraud", "1.0.0", to="production", registry=staged)
    before = state(staged)
    err = cli("approve", "fraud", "1.0.0", "--for", "production", "-R", staged, code=1).stderr
    assert "has already approved fraud 1.0.0 for production" in err  # the same person twice counts once
    assert state(staged) == before
    as_bob(monkeypatch)
    api.approve("fraud", "1.0.0", stage="production", registry=staged)
    moved = api.promote("fraud", "1.0.0", to="production", registry=staged)
    assert [g.reason for g in moved.plan.gates] == ["ok"]
    shown = api.show("fraud@1.0.0", registry=staged)
    assert [(a.by, a.stage, a.note) for a in shown.approvals] == [
        ("Ada Tester <ada@example.com>", "production", "RISK-142"),
        ("Bob Reviewer <bob@example.com>", "production", ""),
    ]
    assert cli("check", "-R", staged).exit_code == 0
    assert gto_view(staged) == our_view(staged, cli)


def test_owner_approvals_count_only_owners(staged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api.set_model(
        "fraud", owners=["BOB@example.com"], gates={"production": {"require_owner_approvals": 1}}, registry=staged
    )
    api.approve("fraud", "1.0.0", stage="production", registry=staged)  # Ada: not an owner
    with pytest.raises(GateFailed, match="0 of 1 owners' approvals"):
        api.promote("fraud", "1.0.0", to="production", registry=staged)
    as_bob(monkeypatch)
    api.approve("fraud", "1.0.0", stage="production", registry=staged)
    assert api.promote("fraud", "1.0.0", to="production", registry=staged).commit


def test_an_approval_in_the_same_pull_request_does_not_count(
    pr_registry: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.set_model("fraud", gates={"staging": {"require_approvals": 1}}, registry=pr_registry)
    git(pr_registry, "push", "-q", "origin", "main")
    git(pr_registry, "checkout", "-q", "-b", "approve-and-promote")
    api.approve("fraud", "1.0.2", stage="staging", registry=pr_registry)
    pointer(pr_registry, "staging", "1.0.2")
    git(pr_registry, "commit", "-qam", "promote by hand in the same PR")
    report = check(pr_registry, cli, 1)
    assert any("fails gate require_approvals for staging: 0 of 1 approvals" in m for m in messages(report)), report
    # the approval merged first, the promotion in its own pull request: it counts
    git(pr_registry, "checkout", "-q", "main")
    as_bob(monkeypatch)
    api.approve("fraud", "1.0.2", stage="staging", registry=pr_registry)
    git(pr_registry, "push", "-q", "origin", "main")
    pr(pr_registry, "promote", lambda r: pointer(r, "staging", "1.0.2"))
    assert check(pr_registry, cli, 0)["ok"] is True


def test_a_forged_or_rewritten_approval_fails_the_check(pr_registry: Path, cli: Cli) -> None:
    from tests.helpers import edit_yaml, path

    api.approve("fraud", "1.0.2", stage="staging", registry=pr_registry)
    git(pr_registry, "push", "-q", "origin", "main")
    pr(pr_registry, "drop", lambda r: edit_yaml(path(r, "fraud", "versions", "1.0.2.yaml"), approvals=[]))
    assert any("/approvals" in m for m in messages(check(pr_registry, cli, 1)))


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ("production:require_approvals=0", "takes a number of approvers (1-64)"),
        ("production:require_approvals=true", "takes a number of approvers (1-64)"),
        ("production:require_approvals=1.5", "takes a number of approvers (1-64)"),
        ("production:require_owner_approvals=65", "takes a number of approvers (1-64)"),
    ],
)
def test_bad_approval_gates_are_refused(staged: Path, cli: Cli, gate: str, message: str) -> None:
    before = state(staged)
    err = cli("model", "set", "fraud", "--gate", gate, "-R", staged, code=2).stderr
    assert message in err and err.count("\n") == 1
    assert state(staged) == before


def test_bad_approvals_write_nothing(staged: Path, cli: Cli) -> None:
    before = state(staged)
    with pytest.raises(UsageError, match="unknown stage 'prod' \\(did you mean 'production'\\?\\)"):
        api.approve("fraud", "1.0.0", stage="prod", registry=staged)
    assert "is not registered" in cli("approve", "fraud", "9.9.9", "--for", "production", "-R", staged, code=1).stderr
    assert "missing option '--for'" in cli("approve", "fraud", "1.0.0", "-R", staged, code=2).stderr.lower()
    assert state(staged) == before
    api.register("fraud", staged / ".." / "work" / "model.pkl", registry=staged)
    api.archive("fraud", "1.0.1", registry=staged)
    with pytest.raises(ConflictError, match="archived: it cannot be approved"):
        api.approve("fraud", "1.0.1", stage="production", registry=staged)
