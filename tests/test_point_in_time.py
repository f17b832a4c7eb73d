"""Reading the registry as it was (--at REV|DATE) and diffing two states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import NotFoundError, UsageError
from tests.conftest import Cli, git, state


def on(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    """Make the next commits carry this author and committer date."""
    monkeypatch.setenv("GIT_COMMITTER_DATE", when)
    monkeypatch.setenv("GIT_AUTHOR_DATE", when)


@pytest.fixture
def timeline(registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """1.0.0 in production from 15 February, 1.0.1 from 10 March 2026."""
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(b"first model")
    second.write_bytes(b"second model, better")
    on(monkeypatch, "2026-02-01T09:00:00Z")
    api.register("fraud", first, metrics={"auc": 0.90}, registry=registry)
    on(monkeypatch, "2026-02-15T09:00:00Z")
    api.promote("fraud", "1.0.0", to="staging", registry=registry)
    api.promote("fraud", "1.0.0", to="production", registry=registry)
    on(monkeypatch, "2026-03-05T09:00:00Z")
    api.register("fraud", second, metrics={"auc": 0.95}, registry=registry)
    api.set_model("fraud", gates={"production": {"min_auc": 0.85}}, registry=registry)
    on(monkeypatch, "2026-03-10T12:00:00Z")
    api.promote("fraud", "1.0.1", to="staging", registry=registry)
    api.promote("fraud", "1.0.1", to="production", registry=registry)
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    monkeypatch.delenv("GIT_AUTHOR_DATE")
    return registry


def test_at_a_date_between_two_promotions_answers_from_history(timeline: Path, cli: Cli) -> None:
    out = json.loads(cli("list", "--json", "--at", "2026-03-01", "-R", timeline).stdout)
    assert out == [
        {
            "model": "fraud",
            "type": "model",
            "latest": "1.0.0",
            "stages": {"production": "1.0.0", "staging": "1.0.0"},
            "versions": 1,
        }
    ]
    assert api.resolve("fraud@production", at="2026-03-09T23:59:59Z", registry=timeline).version == "1.0.0"
    assert api.resolve("fraud@production", at="2026-03-10", registry=timeline).version == "1.0.1"  # end of that day
    assert api.resolve("fraud@production", at="2026-03-10T11:59:59Z", registry=timeline).version == "1.0.0"
    assert api.resolve("fraud@production", at="2026-03-10T13:00:00+01:00", registry=timeline).version == "1.0.1"
    assert api.resolve("fraud@production", registry=timeline).version == "1.0.1"
    shown = json.loads(cli("show", "fraud@production", "--json", "--at", "2026-03-01", "-R", timeline).stdout)
    assert shown["version"] == "1.0.0"
    assert cli("model", "show", "fraud", "--json", "--at", "2026-03-01", "-R", timeline).stdout.count("min_auc") == 0
    assert "min_auc" in cli("model", "show", "fraud", "--json", "-R", timeline).stdout
    moves = api.history("fraud", stage="production", at="2026-03-01", registry=timeline)
    assert [(e.previous, e.version) for e in moves] == [(None, "1.0.0")]
    assert [v.version for v in api.list_versions("fraud", at="2026-03-06", registry=timeline)] == ["1.0.1", "1.0.0"]


def test_at_a_revision_and_a_pull_of_what_was_deployed(timeline: Path, cli: Cli, tmp_path: Path) -> None:
    assert api.resolve("fraud@production", at="HEAD~1", registry=timeline).version == "1.0.0"
    out = tmp_path / "deployed.bin"
    cli("pull", "fraud@production", "--at", "2026-03-01", "-o", out, "-R", timeline)
    assert out.read_bytes() == b"first model"
    assert "ok      fraud 1.0.0" in cli("verify", "--at", "2026-02-20", "-R", timeline).stdout
    assert cli("lineage", "fraud@production", "--at", "2026-03-01", "-R", timeline).stdout.startswith("fraud 1.0.0")
    compared = json.loads(cli("compare", "fraud", "1.0.0", "1.0.1", "--json", "--at", "HEAD", "-R", timeline).stdout)
    assert compared["metrics"]["auc"] == [0.9, 0.95]


def test_at_refuses_what_it_cannot_read(timeline: Path, cli: Cli) -> None:
    before = state(timeline)
    assert "no commits on or before 2020-01-01" in cli("list", "--at", "2020-01-01", "-R", timeline, code=1).stderr
    assert "invalid date '2026-13-01'" in cli("list", "--at", "2026-13-01", "-R", timeline, code=2).stderr
    assert "does not exist" in cli("list", "--at", "no-such-rev", "-R", timeline, code=1).stderr
    with pytest.raises(UsageError):
        api.list_models(at="2026-02-30", registry=timeline)
    with pytest.raises(NotFoundError):
        api.show("fraud@1.0.1", at="2026-03-01", registry=timeline)
    assert state(timeline) == before


def test_diff_between_two_dates(timeline: Path, cli: Cli) -> None:
    doc = json.loads(cli("diff", "2026-03-01", "2026-03-11", "--json", "-R", timeline).stdout)
    assert doc["versions_added"] == [{"model": "fraud", "version": "1.0.1"}]
    assert doc["pointers_moved"] == [
        {"model": "fraud", "stage": "production", "from": "1.0.0", "to": "1.0.1"},
        {"model": "fraud", "stage": "staging", "from": "1.0.0", "to": "1.0.1"},
    ]
    assert doc["gates_changed"] == [
        {"model": "fraud", "stage": "production", "gate": "min_auc", "before": None, "after": 0.85}
    ]
    assert doc["versions_removed"] == [] and doc["annotations_changed"] == [] and not doc["config_changed"]
    text = cli("diff", "2026-03-01", "-R", timeline).stdout
    assert "fraud production: 1.0.0 -> 1.0.1" in text and "fraud production.min_auc: - -> 0.85" in text
    assert cli("diff", "HEAD", "HEAD", "-R", timeline).stdout.endswith(": none.\n")


def test_diff_shows_annotations_removals_and_unreadable_files(timeline: Path, cli: Cli) -> None:
    start = git(timeline, "rev-parse", "HEAD")
    api.evaluate("fraud", "1.0.1", metrics={"auc": 0.93}, registry=timeline)
    api.set_model("fraud", description="Card fraud", registry=timeline)
    git(timeline, "rm", "-q", "models/fraud/versions/1.0.0.yaml")
    (timeline / "models" / "fraud" / "stages" / "staging.yaml").write_text("kind: [broken\n")
    git(timeline, "add", "-A")
    git(timeline, "commit", "-qm", "by hand")
    d = api.diff(start, registry=timeline)
    assert d.versions_removed == (("fraud", "1.0.0"),)
    assert [(f.what, f.field, f.before, f.after) for f in d.annotations] == [("fraud 1.0.1", "evaluations", 0, 1)]
    assert [(f.field, f.after) for f in d.models] == [("description", "Card fraud")]
    assert d.unreadable == ("models/fraud/stages/staging.yaml",)
    assert "Unreadable (run gitreg check)" in cli("diff", start, "-R", timeline).stdout
