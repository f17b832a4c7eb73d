"""promotion.transitions in .gitreg/config.yaml: which stages a version may
enter a stage from, and archiving the holder a move replaces; enforced by
promote, demote and `gitreg check --base`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.operations.lifecycle import GateFailed
from tests.conftest import Cli, Setup, git, init_with_origin, state
from tests.helpers import check, gto_view, messages, our_view, pointer, pr

RULES = """promotion:
  requires: {}
  transitions:
    staging: {from: [development, production]}
    production: {from: [staging], archive_replaced: true}
    development: {from: [staging]}
"""


def _ruled(folder: Path, artifact: Path) -> None:
    registry = init_with_origin(folder)
    config = registry / ".gitreg" / "config.yaml"
    text = config.read_text()
    assert text.rstrip().endswith("- staging")  # promotion: is the file's last section
    config.write_text(text[: text.index("promotion:")] + RULES)
    git(registry, "commit", "-qam", "transition rules")
    for _ in range(3):
        api.register("fraud", artifact, registry=registry)
    git(registry, "push", "-q", "-u", "origin", "main", "--tags")


@pytest.fixture
def ruled(build_registry: Callable[[Setup], Path]) -> Path:
    return build_registry(_ruled)


def test_the_rules_parse_and_check(ruled: Path, cli: Cli) -> None:
    config = (ruled / ".gitreg" / "config.yaml").read_text()
    assert "archive_replaced: true" in config and config.count("promotion:") == 1
    assert cli("check", "-R", ruled).exit_code == 0


def test_a_stage_is_entered_only_from_the_stages_it_names(ruled: Path, cli: Cli) -> None:
    before = state(ruled)
    with pytest.raises(GateFailed, match=r"transition: production may be entered from staging only"):
        api.promote("fraud", "1.0.0", to="production", registry=ruled)
    out = cli("promote", "fraud", "1.0.0", "--to", "production", "-R", ruled, code=1).stdout
    assert "refused by transition rule: production may be entered from staging only" in out
    assert state(ruled) == before
    api.promote("fraud", "1.0.0", to="staging", registry=ruled)
    api.promote("fraud", "1.0.0", to="production", registry=ruled)
    api.promote("fraud", "1.0.1", to="staging", registry=ruled)  # 1.0.0 is in production only now
    # production -> development is no transition these rules allow; production -> staging is
    with pytest.raises(GateFailed, match=r"demote of fraud 1\.0\.0 to development refused: transition"):
        api.demote("fraud", "1.0.0", to="development", registry=ruled)
    assert api.demote("fraud", "1.0.0", to="staging", registry=ruled).commit


def test_the_replaced_holder_is_archived_with_the_move(ruled: Path, cli: Cli) -> None:
    for version in ("1.0.0", "1.0.1"):
        api.promote("fraud", version, to="staging", registry=ruled)
        moved = api.promote("fraud", version, to="production", registry=ruled)
    assert moved.plan.archived == "1.0.0"
    assert api.show("fraud@1.0.0", registry=ruled).status == "archived"
    assert "fraud@v1.0.0!" in moved.tags  # GTO's deregistration, in the same commit
    assert git(ruled, "log", "-1", "--format=%s") == "Promote fraud 1.0.1 to production"
    assert gto_view(ruled) == our_view(ruled, cli)
    assert cli("check", "-R", ruled).exit_code == 0


def test_check_enforces_the_base_rules(ruled: Path, cli: Cli) -> None:
    pr(ruled, "skip-staging", lambda r: pointer(r, "production", "1.0.2"))
    report = check(ruled, cli, 1)
    assert any("fraud 1.0.2: production may be entered from staging only" in m for m in messages(report)), report


def test_unknown_stages_in_the_rules_are_refused(registry: Path, cli: Cli) -> None:
    config = registry / ".gitreg" / "config.yaml"
    config.write_text(
        config.read_text().replace("promotion:", "promotion:\n  transitions: {prod: {from: [staging]}}", 1)
    )
    git(registry, "commit", "-qam", "typo")
    report = cli("check", "-R", registry, code=1).stdout
    assert "prod" in report
