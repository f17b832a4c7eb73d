"""Retention policy, gitreg gc and the checker's view of removals, on real
registries with a real local DVC remote."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.core.registry import Registry
from gitreg.errors import NotFoundError
from gitreg.operations import gc as retention
from tests.conftest import Cli, Setup, git, state
from tests.helpers import gto_view, our_view

DAY = 86400


def policy(registry: Path, text: str) -> None:
    config = registry / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + text)
    git(registry, "commit", "-qam", "retention policy")


def objects(registry: Path) -> set[str]:
    """md5 ids of the objects in the local DVC remote."""
    root = registry / ".gitreg" / "storage" / "files" / "md5"
    return {p.parent.name + p.name for p in root.rglob("*") if p.is_file()}


def artifact(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "work" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _six_versions_two_holders(folder: Path, _: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    contents = [b"v0", b"v1", b"v2", b"v3", b"v0", b"v5"]
    for i, data in enumerate(contents):
        api.register("fraud", artifact(folder, f"m{i}.bin", data), metrics={"auc": 0.9}, registry=registry)
    for version in ("1.0.1", "1.0.2"):
        api.promote("fraud", version, to="staging", registry=registry)
        api.promote("fraud", version, to="production", registry=registry)
    api.promote("fraud", "1.0.3", to="staging", registry=registry)


@pytest.fixture
def reg(build_registry: Callable[[Setup], Path]) -> Path:
    """fraud 1.0.0..1.0.5 with distinct bytes, except 1.0.4 which shares the
    bytes of 1.0.0. 1.0.1 held production before 1.0.2 (the rollback target);
    1.0.3 holds staging."""
    return build_registry(_six_versions_two_holders)


def test_gc_never_removes_a_staged_version_or_its_artifact(reg: Path, cli: Cli, tmp_path: Path) -> None:
    policy(reg, "retention:\n  max_versions: 1\n")
    md5 = {v.version: v.artifact.md5 for v in (api.show(f"fraud@1.0.{i}", registry=reg) for i in range(6))}
    result = json.loads(cli("gc", "--remove-artifacts", "--json", "-R", reg).stdout)
    assert sorted(r["version"] for r in result["removed"]) == ["1.0.0", "1.0.4"]
    kept = {k["version"]: k["why"] for k in result["kept"]}
    assert kept["1.0.2"] == ["holds production", "rollback target for staging"]
    assert kept["1.0.3"] == ["holds staging"]
    assert kept["1.0.1"] == ["rollback target for production"] and kept["1.0.5"] == ["among the newest 1"]
    assert [v.version for v in api.list_versions("fraud", registry=reg)] == ["1.0.5", "1.0.3", "1.0.2", "1.0.1"]
    # 1.0.0 and 1.0.4 shared one object: nothing remaining uses it, so it went
    assert md5["1.0.0"] == md5["1.0.4"] and md5["1.0.0"] not in objects(reg)
    assert {md5[v] for v in ("1.0.1", "1.0.2", "1.0.3", "1.0.5")} <= objects(reg)
    assert all(r.ok for r in api.verify("fraud", remote=True, registry=reg))
    api.pull("fraud@production", output=tmp_path / "prod.bin", registry=reg)
    assert (tmp_path / "prod.bin").read_bytes() == b"v2"
    assert gto_view(reg) == our_view(reg, cli)  # GTO reads the deregistration tags the same way
    assert api.rollback("fraud", registry=reg).plan.version == "1.0.1"
    # the commit: one commit, deregistration tags, accepted by the checker, history keeps the files
    assert git(reg, "tag", "-l", "fraud@v1.0.0!") == "fraud@v1.0.0!"
    assert api.check(base="HEAD~2", registry=reg).ok
    assert "v0" not in git(reg, "ls-files") and git(reg, "log", "--format=%H", "--", "models/fraud/versions/1.0.0.yaml")


def test_gc_keeps_shared_bytes_and_labels_and_stages(reg: Path, tmp_path: Path) -> None:
    policy(reg, "retention:\n  max_versions: 1\n  keep_stages: [staging]\n  keep_labels: {pinned: 'yes'}\n")
    api.register(
        "fraud", artifact(tmp_path, "again.bin", b"v0"), labels={"pinned": "yes"}, metrics={"auc": 1}, registry=reg
    )
    done = api.gc(remove_artifacts=True, registry=reg)
    # 1.0.0 and 1.0.4 expire, but 1.0.6 (pinned, newest) has their bytes: that object stays
    assert sorted(v for _, v in done.removed) == ["1.0.0", "1.0.4", "1.0.5"]
    v0 = api.show("fraud@1.0.6", registry=reg).artifact.md5
    assert done.artifacts_shared == (v0,) and v0 in objects(reg)
    assert len(done.artifacts_removed) == 1 and done.artifacts_removed[0] not in objects(reg)  # 1.0.5's
    verdicts = {v.version: v.kept for v in done.verdicts}
    assert "held staging (keep_stages)" in verdicts["1.0.1"] and "label pinned=yes" in verdicts["1.0.6"]


def test_keep_days_counts_from_registration(reg: Path) -> None:
    policy(reg, "retention:\n  max_versions: 1\n  keep_days: 30\n")
    registry = Registry.open(reg)
    now = time.time()
    assert retention.gc(registry, dry_run=True, now=now).removed == ()  # all registered today
    later = retention.gc(registry, dry_run=True, now=now + 31 * DAY)
    assert sorted(v for _, v in later.removed) == ["1.0.0", "1.0.4"]
    reasons = {v.version: v.kept for v in retention.gc(registry, dry_run=True, now=now + 29 * DAY).verdicts}
    assert any("keep_days 30" in r for r in reasons["1.0.0"])


def test_dry_run_and_no_policy_write_nothing(reg: Path, cli: Cli) -> None:
    before = state(reg)
    assert "no retention policy" in cli("gc", "-R", reg, code=1).stderr
    assert state(reg) == before
    policy(reg, "retention:\n  max_versions: 1\n")
    before = state(reg)
    out = cli("gc", "--dry-run", "-R", reg).stdout
    assert "Would remove fraud 1.0.0" in out and "Keep fraud 1.0.2: holds production" in out
    assert state(reg) == before
    err = cli("gc", "--remove-artifacts", "--branch", "-R", reg, code=2).stderr
    assert "after the gc pull request is merged" in err
    assert state(reg) == before


def test_checker_accepts_only_the_removals_the_base_policy_allows(reg: Path, cli: Cli) -> None:
    base = git(reg, "rev-parse", "HEAD")
    git(reg, "rm", "-q", "models/fraud/versions/1.0.0.yaml", "models/fraud/versions/1.0.0.dvc")
    git(reg, "commit", "-qm", "remove by hand, no policy")
    report = api.check(base=base, registry=reg)
    assert [v.message for v in report.violations] == [
        "version files are never deleted or renamed (no retention policy allows it)"
    ]
    # loosening the policy in the same change does not help: the base's policy rules
    git(reg, "reset", "-q", "--hard", base)
    policy(reg, "retention:\n  max_versions: 1\n")
    git(reg, "rm", "-q", "models/fraud/versions/1.0.0.yaml", "models/fraud/versions/1.0.0.dvc")
    git(reg, "commit", "-qm", "remove with the new policy")
    assert not api.check(base=base, registry=reg).ok
    assert api.check(base="HEAD~1", registry=reg).ok  # with the policy in the base, 1.0.0 may go
    git(reg, "rm", "-q", "models/fraud/versions/1.0.1.yaml", "models/fraud/versions/1.0.1.dvc")
    git(reg, "commit", "-qm", "remove the rollback target")
    out = cli("check", "--base", "HEAD~2", "-R", reg, code=1).stdout
    assert "the retention policy keeps fraud 1.0.1: rollback target for production" in out


def test_gc_through_a_pull_request_then_sweep_after_merge(reg: Path, cli: Cli) -> None:
    policy(reg, "retention:\n  max_versions: 1\n")
    main = git(reg, "rev-parse", "HEAD")
    before_objects = objects(reg)
    out = cli("gc", "--branch", "review-gc", "-R", reg).stdout
    assert "on branch review-gc" in out
    assert git(reg, "rev-parse", "HEAD") == main and git(reg, "tag", "-l", "*!") == ""  # no tags on a PR
    assert api.check(base=main, head="review-gc", registry=reg).ok
    assert objects(reg) == before_objects
    git(reg, "merge", "-q", "--no-ff", "-m", "Merge gc", "review-gc")
    done = api.gc(remove_artifacts=True, registry=reg)
    assert done.removed == () and len(done.artifacts_removed) == 1  # v0's object, unused now
    with pytest.raises(NotFoundError):
        api.show("fraud@1.0.0", registry=reg)


def test_folder_artifacts_keep_shared_members(registry: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, extra in ((old, b"only old"), (new, b"only new")):
        folder.mkdir()
        (folder / "shared.bin").write_bytes(b"same in both")
        (folder / "own.bin").write_bytes(extra)
    api.register("tok", old, registry=registry)
    api.register("tok", new, registry=registry)
    policy(registry, "retention:\n  max_versions: 1\n")
    done = api.gc(remove_artifacts=True, registry=registry)
    assert done.removed == (("tok", "1.0.0"),)
    assert len(done.artifacts_removed) == 2 and len(done.artifacts_shared) == 1  # .dir + own.bin; shared.bin stays
    out = tmp_path / "pulled"
    api.pull("tok@latest", output=out, registry=registry)
    assert (out / "shared.bin").read_bytes() == b"same in both"


def test_gc_of_a_deprecated_version_keeps_its_deregistration_tag(registry: Path, artifact: Path) -> None:
    """Deprecation already wrote `fraud@v1.0.0!`; gc removes the file and writes no second tag."""
    from tests.conftest import git

    for _ in range(3):
        api.register("fraud", artifact, registry=registry)
    api.deprecate("fraud", "1.0.0", registry=registry)
    config = registry / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + "retention:\n  max_versions: 1\n")
    git(registry, "commit", "-qam", "keep one")
    collected = api.gc(registry=registry)
    assert {v for _, v in collected.removed} == {"1.0.0", "1.0.1"}
    assert git(registry, "tag", "-l", "fraud@v*!").splitlines() == ["fraud@v1.0.0!", "fraud@v1.0.1!"]
