"""GTO reading the same repository sees the same registry: after every kind
of operation, `gto show --json` reports the latest version and the version in
each stage that `gitreg list --json` reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitreg import api
from gitreg.documents import tags
from tests.conftest import Cli
from tests.helpers import GTO, dvc, gto, gto_registry, gto_stage_tag, gto_view, our_view


@pytest.mark.stress
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


@pytest.mark.stress
def test_tag_times_are_real_and_ordered_per_version(registry: Path, artifact: Path) -> None:
    """GTO orders a version's events of one stage (and its registrations) by
    tagger time at one-second resolution: each such tag is strictly later
    than the earlier ones, and never dated after the moment it was written
    (a quick series waits instead)."""
    from tests.conftest import git

    api.register("fraud", artifact, registry=registry)
    api.register("fraud", artifact, registry=registry)
    for i in range(8):
        api.promote("fraud", f"1.0.{i % 2}", to="staging", registry=registry)
    written = int(__import__("time").time())
    rows = git(registry, "for-each-ref", "--format=%(refname:strip=2) %(*objectname) %(taggerdate:unix)", "refs/tags")
    ordered: dict[tuple[str, str], list[int]] = {}
    for line in rows.splitlines():
        name, target, when = line.split()
        assert int(when) <= written, f"{name} is dated in the future"
        event = tags.parse(name)
        assert event is not None
        ordered.setdefault((target, event.stage or ""), []).append(int(when))
    assert max(len(times) for times in ordered.values()) >= 4  # versions moved in and out of staging, again and again
    for times in ordered.values():
        assert len(set(times)) == len(times), times  # distinct seconds where GTO orders


def test_deprecation_is_mirrored_as_gtos_deregistration(registry: Path, artifact: Path, cli: Cli) -> None:
    from tests.conftest import git

    for _ in range(3):
        api.register("fraud", artifact, registry=registry)
    api.deprecate("fraud", "1.0.2", registry=registry)
    assert git(registry, "tag", "-l", "fraud@v1.0.2!") == "fraud@v1.0.2!"
    assert gto_view(registry)["fraud"]["latest"] == "v1.0.1"
    # a deprecation that arrives by hand (a merged pull request) gets its tag from tags sync
    manifest = registry / "models" / "fraud" / "versions" / "1.0.1.yaml"
    manifest.write_text(manifest.read_text().replace("status: active", "status: archived"))
    git(registry, "commit", "-qam", "archive by hand")
    assert json.loads(cli("tags", "sync", "--json", "-R", registry).stdout)["created"] == ["fraud@v1.0.1!"]
    assert gto_view(registry)["fraud"]["latest"] == "v1.0.0"
    assert our_view(registry, cli)["fraud"]["latest"] == "v1.0.0"


def test_init_refuses_a_repository_gto_manages(tmp_path: Path, cli: Cli) -> None:
    from tests.conftest import git, state

    repo = tmp_path / "gto-repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "model.pkl").write_bytes(b"weights")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a model")
    gto(repo, "register", "fraud", "--version", "v5.0.0")
    gto(repo, "assign", "fraud", "--version", "v5.0.0", "--stage", "prod")
    before = state(repo)
    line = cli("init", repo, code=1).stderr
    assert "is managed by GTO (2 GTO tag(s), e.g. fraud" in line and len(line.splitlines()) == 1
    assert state(repo) == before


def test_gto_versions_without_manifests_are_never_unassigned(registry: Path, artifact: Path, cli: Cli) -> None:
    from tests.conftest import git

    api.register("fraud", artifact, registry=registry)
    git(registry, "commit", "-q", "--allow-empty", "-m", "GTO registers on a commit of its own")
    gto(registry, "register", "fraud", "HEAD", "--version", "v5.0.0")  # GTO's own, no manifest
    gto(registry, "assign", "fraud", "--version", "v5.0.0", "--stage", "prod")
    gto(registry, "register", "churn", "HEAD", "--version", "v1.0.0")  # a model gitreg has no folder for
    before = git(registry, "tag", "-l")
    synced = json.loads(cli("tags", "sync", "--json", "-R", registry).stdout)
    assert synced["created"] == []
    assert any(s.startswith("fraud 5.0.0: GTO tag fraud@v5.0.0 names a version") for s in synced["skipped"])
    assert any(s.startswith("churn 1.0.0: GTO tag churn@v1.0.0") for s in synced["skipped"])
    assert git(registry, "tag", "-l") == before
    assert json.loads(gto(registry, "show", "fraud", "--json"))[0]["stages"][0]["stage"] == "prod"
    doctor = cli("doctor", "-R", registry, code=1).stdout
    assert "have GTO tags but no manifest" in doctor and "GTO tags match the files" not in doctor


@pytest.mark.stress
def test_the_dvc_and_gto_guide_runs_as_written(tmp_path: Path, artifact: Path) -> None:
    """docs/dvc-gto.md: its commands, in order, with the real gto and dvc."""
    from tests.conftest import run_guide

    (tmp_path / "model.pkl").write_bytes(artifact.read_bytes())
    out = run_guide(Path(__file__).resolve().parent.parent / "docs" / "dvc-gto.md", tmp_path).stdout
    assert "fraud@v1.0.0!" in out and "ok  index:" in out and "ok  tags: GTO tags match the files" in out


@pytest.mark.stress
def test_a_gto_registry_is_adopted_in_place(tmp_path: Path, cli: Cli) -> None:
    from tests.conftest import git, state

    repo = gto_registry(tmp_path)
    before = gto_view(repo)
    assert before == {
        "churn": {"latest": "v0.1.0", "stages": {"dev": "v0.1.0"}},
        "fraud": {"latest": "v1.1.0", "stages": {"dev": "v1.1.0", "prod": "v1.1.0"}},
    }
    tags_before = git(repo, "tag", "-l")
    # without --adopt: refused, nothing written; with a colliding folder: refused too
    untouched = state(repo)
    assert "gitreg init --adopt" in cli("init", repo, code=1).stderr
    assert "--models-dir" in cli("init", repo, "--adopt", code=1).stderr
    assert state(repo) == untouched
    out = cli("init", repo, "--adopt", "--models-dir", "registry").stdout
    assert "Adopted 4 GTO version(s)" in out and "fraud dev 1.1.0" in out
    assert git(repo, "tag", "-l") == tags_before  # no tag moved, added or removed
    assert gto_view(repo) == before == our_view(repo, cli)
    cli("check", "--base", "HEAD~1", "-R", repo)  # the adoption commit, as CI judges it
    assert "already a gitreg registry" in cli("init", repo, "--adopt", code=1).stderr
    listed = {m["model"]: m for m in json.loads(cli("list", "--json", "-R", repo).stdout)}
    assert listed["fraud"]["stages"] == {"dev": "1.1.0", "prod": "1.1.0"}
    fraud = api.show("fraud@1.0.0", registry=repo)
    assert fraud.lineage["gto"]["tag"] == "fraud@v1.0.0" and fraud.description == "fraud detector"
    assert api.show("fraud@1.2.0", registry=repo).status == "deprecated"
    assert "0 with problems" in cli("verify", "--remote", "-R", repo).stdout
    cli("check", "-R", repo)
    # gitreg carries on where GTO stopped: its stage tags hang on GTO's commits
    cli("promote", "fraud", "1.0.0", "--to", "dev", "--reason", "retry", "-R", repo)
    cli("tags", "sync", "-R", repo)
    assert gto_view(repo) == our_view(repo, cli)
    assert gto_view(repo)["fraud"]["stages"]["dev"] == "v1.0.0"
    api.pull("churn@0.1.0", output=tmp_path / "churn", registry=repo)
    assert (tmp_path / "churn" / "weights.bin").read_bytes() == b"w1" * 1000
    got = tmp_path / "got"
    got.mkdir()
    for rev, data in (("v1.0.0", b"first\n"), ("v1.1.0", b"second\n")):  # DVC still reads GTO's commits
        subprocess.run(
            [sys.executable, "-m", "dvc", "artifacts", "get", str(repo), "fraud", "--rev", rev, "-o", rev],
            cwd=got,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert (got / rev).read_bytes() == data * 500


@pytest.mark.stress
def test_adoption_leaves_hostile_gto_versions_to_gto(tmp_path: Path, cli: Cli) -> None:
    """A registered version whose DVC entry names an object id that is a
    path, or whose annotated path leaves the repository, is not adopted:
    it is listed, its tags untouched, the rest adopted."""
    from tests.conftest import git

    repo = tmp_path / "gto-repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "store", str(tmp_path / "dvc-store"))
    (repo / "dvc.yaml").write_text(
        "artifacts:\n  evil:\n    path: evil.pkl\n  far:\n    path: ../../outside.pkl\n  good:\n    path: good.pkl\n"
    )
    (repo / "evil.pkl.dvc").write_text("outs:\n- md5: ../../../../etc/passwd\n  size: 1\n  path: evil.pkl\n")
    (repo / "good.pkl").write_bytes(b"good\n")
    dvc(repo, "add", "good.pkl")
    dvc(repo, "push")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "three models")
    for model in ("evil", "far"):
        gto(repo, "register", model, "--version", "v1.0.0")
    git(repo, "commit", "-q", "--allow-empty", "-m", "GTO allows one version of a model per commit")
    gto(repo, "register", "good", "--version", "v1.0.0")
    # imported into another registry, the same versions are refused, and said why
    other = tmp_path / "other"
    api.init(other)
    out = cli("import", "--from", "gto", repo, "-R", other).stdout
    assert "Skipped: evil v1.0.0:" in out and "md5" in out
    assert "Skipped: far v1.0.0: its annotated path '../../outside.pkl' is outside the repository" in out
    assert [m.name for m in api.list_models(registry=other)] == ["good"] and not (tmp_path / "outside.pkl").exists()
    tags_before = git(repo, "tag", "-l")
    out = cli("init", repo, "--adopt").stdout
    assert "Adopted 1 GTO version(s) of 1 model(s)" in out
    assert "left to GTO: evil v1.0.0:" in out and "md5" in out
    assert "left to GTO: far v1.0.0: its annotated path '../../outside.pkl' is outside the repository" in out
    assert sorted(p.name for p in (repo / "models").iterdir()) == ["good"]
    assert git(repo, "tag", "-l") == tags_before
    cli("check", "-R", repo)

    # a manifest cannot claim a GTO tag for other bytes: `far`'s tag stays GTO's
    import dataclasses

    from gitreg.documents import dvcyaml, manifest
    from gitreg.documents.manifest import Model

    good = api.show("good@1.0.0", registry=repo)
    far_commit = git(repo, "rev-parse", "far@v1.0.0^{commit}")
    claim = dataclasses.replace(good, model="far", lineage={"gto": {"tag": "far@v1.0.0", "commit": far_commit}})
    files = manifest.version_files("models", claim)
    files["models/far/model.yaml"] = manifest.render(Model(name="far"), "models/far/model.yaml")
    files |= dvcyaml.registering((repo / "dvc.yaml").read_bytes(), "models", [claim])
    for path, data in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(data or b"")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "claim far's tag")
    synced = json.loads(cli("tags", "sync", "--json", "-R", repo).stdout)
    assert any(s.startswith("far 1.0.0: tag far@v1.0.0 points at commit") for s in synced["skipped"])
    assert (
        "does not hold far 1.0.0 as registered"
        in cli("promote", "far", "1.0.0", "--to", "staging", "-R", repo, code=1).stderr
    )
    assert git(repo, "tag", "-l") == tags_before


def _gto_json(registry: Path, *args: str) -> Any:
    done = subprocess.run([str(GTO), *args, "--json"], cwd=registry, capture_output=True, text=True, check=False)
    return json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else []


def _counter(ref: str) -> int:
    return int(ref.rsplit("#", 1)[1])


def _agree_in_full(registry: Path, cli: Cli, removed: set[tuple[str, str]]) -> None:
    """Holders and latest (`gto show`), versions and deregistrations, and
    each stage's moves in order (`gto history`), as gitreg has them."""
    assert gto_view(registry) == our_view(registry, cli)
    for model in ("fraud", "churn"):
        ours = api.list_versions(model, registry=registry)
        active = {f"v{v.version}" for v in ours if v.status == "active"}
        assert {v["version"] for v in _gto_json(registry, "show", model)} == active
        events = _gto_json(registry, "history", model)
        dropped = {f"v{v.version}" for v in ours if v.status != "active"} | {f"v{v}" for m, v in removed if m == model}
        assert {e["version"] for e in events if e["event"] == "deregistration"} == dropped
        registered = {e["version"]: e["timestamp"] for e in events if e["event"] == "registration"}
        assert set(registered) == {f"v{v.version}" for v in ours} | {f"v{v}" for m, v in removed if m == model}
        trail = api.history(model, registry=registry)[::-1]
        order = [f"v{e.version}" for e in trail if e.action == "register"]
        assert [registered[v] for v in order] == sorted(registered[v] for v in order)  # GTO's clock agrees
        for stage in ("staging", "production"):
            theirs = sorted(
                (e for e in events if e["stage"] == stage and e["event"] in ("assignment", "unassignment")),
                key=lambda e: _counter(e["ref"]),
            )
            expected = []
            for move in api.history(model, stage=stage, registry=registry)[::-1]:
                if move.previous:
                    expected.append(("unassignment", f"v{move.previous}"))
                if move.version:
                    expected.append(("assignment", f"v{move.version}"))
            assert [(e["event"], e["version"]) for e in theirs] == expected, (model, stage)


@pytest.mark.stress
@pytest.mark.parametrize("seed", [1, 4, 9])  # each runs every kind of operation (asserted)
def test_a_random_sequence_of_operations_leaves_gto_and_gitreg_agreeing(
    registry: Path, tmp_path: Path, cli: Cli, seed: int
) -> None:
    import random

    from gitreg.errors import GitregError
    from tests.conftest import git

    config = registry / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + "retention:\n  max_versions: 2\n")
    git(registry, "commit", "-qam", "retention policy")
    rng = random.Random(seed)
    removed: set[tuple[str, str]] = set()
    done: list[str] = []
    for model in ("fraud", "churn"):
        (tmp_path / model).write_bytes(model.encode())
        api.register(model, tmp_path / model, registry=registry)
    ops = ["register"] * 3 + ["promote"] * 4 + ["deprecate", "archive", "rollback", "demote", "gc"]
    for step in range(50):
        model = rng.choice(["fraud", "churn"])
        summaries = api.list_versions(model, registry=registry)
        active = [v.version for v in summaries if v.status == "active"]
        idle = [v.version for v in summaries if v.status == "active" and not v.stages]
        in_production = [v.version for v in summaries if "production" in v.stages]
        op = rng.choice(ops)
        try:
            if op == "register" or not active:
                path = tmp_path / f"{model}-{step}.bin"
                path.write_bytes(rng.randbytes(64))
                api.register(model, path, registry=registry)
            elif op == "promote":
                stage = rng.choice(["staging", "production"])
                staged = [v.version for v in summaries if "staging" in v.stages]
                free = [v for v in (staged if stage == "production" else active) if v not in in_production]
                if not free:
                    continue
                api.promote(model, rng.choice(free), to=stage, registry=registry)
            elif op in ("deprecate", "archive") and idle:
                getattr(api, op)(model, rng.choice(idle), registry=registry)
            elif op == "rollback":
                api.rollback(model, stage=rng.choice(["staging", "production"]), registry=registry)
            elif op == "demote" and in_production:
                api.demote(model, in_production[0], to="staging", registry=registry)
            elif op == "gc":
                removed |= set(api.gc(registry=registry).removed)
            else:
                continue
            done.append(op)
        except GitregError:
            done.append(f"{op} refused")
    made = [d for d in done if not d.endswith("refused")]
    assert len(made) >= 30 and {"deprecate", "archive", "rollback", "demote", "gc"} <= set(made), done
    assert removed, "gc removed no version"
    _agree_in_full(registry, cli, removed)


@pytest.mark.stress
def test_a_gto_registry_in_another_repository_is_replayed(tmp_path: Path, registry: Path, cli: Cli) -> None:
    """`gitreg import --from gto`: every GTO event a commit here at GTO's time,
    the bytes copied between DVC remotes; GTO reads the same registry from
    either repository, and history replays the same order."""
    from tests.conftest import git, state

    repo = gto_registry(tmp_path)
    before = state(registry)
    plan = json.loads(cli("import", "--from", "gto", repo, "--dry-run", "--json", "-R", registry).stdout)
    assert plan["commit"] is None and state(registry) == before
    out = cli("import", "--from", "gto", repo, "-R", registry).stdout
    assert "Replayed 9 GTO event(s)" in out and "verified 4 of 4 artifact(s)" in out
    assert gto_view(registry) == gto_view(repo) == our_view(registry, cli)
    production = [(e.previous, e.version) for e in api.history("fraud", stage="prod", registry=registry)]
    assert production == [("1.0.0", "1.1.0"), (None, "1.0.0")]  # newest first, as GTO assigned them
    assert api.show("fraud@1.2.0", registry=registry).status == "deprecated"
    fraud = api.show("fraud@1.0.0", registry=registry)
    assert fraud.description == "fraud detector" and fraud.lineage["gto"]["source"] == str(repo.resolve())
    assert api.load_artifact("fraud@1.1.0", registry=registry).read_bytes() == b"second\n" * 500
    assert (api.load_artifact("churn@0.1.0", registry=registry) / "weights.bin").read_bytes() == b"w1" * 1000
    # the bytes copied here are sealed with SHA-256 as if registered here
    import hashlib

    assert api.show("fraud@1.1.0", registry=registry).artifact.sha256 == hashlib.sha256(b"second\n" * 500).hexdigest()
    churn = api.show("churn@0.1.0", registry=registry).artifact
    assert churn.files is not None and churn.files["weights.bin"] == hashlib.sha256(b"w1" * 1000).hexdigest()
    dates = git(registry, "log", "--format=%at", "-9").split()  # the replayed events, at GTO's times
    assert dates == sorted(dates, reverse=True) and git(registry, "log", "-1", "--format=%an") != ""
    assert cli("check", "-R", registry).exit_code == 0
    again = state(registry)
    out = cli("import", "--from", "gto", repo, "--verify", "-R", registry).stdout
    assert "Nothing to import." in out and "Compared with what GTO shows of the source: 0 difference(s)" in out
    assert "4 version(s) and 5 event(s) already here" in out and "Skipped" not in out
    assert state(registry) == again
    api.rollback("fraud", stage="prod", registry=registry)  # the registry moves on: verify says where
    out = cli("import", "--from", "gto", repo, "--verify", "--dry-run", "-R", registry, code=1).stdout
    assert "DIFFERS: fraud prod: 1.0.0 here, 1.1.0 in GTO" in out
    # a source git would read as an option runs nothing (SECURITY.md class 23)
    for hostile in ("--upload-pack=touch pwned", "-uupload"):
        assert "invalid GTO repository" in cli("import", "--from", "gto", "-R", registry, "--", hostile, code=2).stderr
    assert not (registry / "pwned").exists() and not Path("pwned").exists()
    ext = cli("import", "--from", "gto", "ext::sh -c touch% pwned", "-R", registry, code=2).stderr
    assert "transport 'ext' not allowed" in ext and not Path("pwned").exists()
    assert (
        "cannot fetch the GTO repository"
        in cli("import", "--from", "gto", tmp_path / "nope", "-R", registry, code=2).stderr
    )


@pytest.mark.stress
def test_a_second_gto_import_replays_only_what_the_source_gained(tmp_path: Path, registry: Path, cli: Cli) -> None:
    """After an import the GTO registry moves on: a new version, later
    assignments, an unassignment and a deregistration of versions brought
    before. The re-run writes those events and nothing else, each meeting the
    state it met in GTO."""
    import time

    from tests.conftest import git

    repo = gto_registry(tmp_path)
    cli("import", "--from", "gto", repo, "-R", registry)
    imported = git(registry, "rev-list", "--count", "HEAD")
    (repo / "models" / "model.pkl").write_bytes(b"fourth\n" * 500)
    dvc(repo, "add", "models/model.pkl")
    dvc(repo, "push")
    git(repo, "commit", "-qam", "fraud 1.3.0")
    gto(repo, "register", "fraud", "--version", "v1.3.0")
    now = int(time.time())
    gto_stage_tag(repo, "fraud", "v1.3.0", "prod", now + 1)  # replaces 1.1.0
    gto_stage_tag(repo, "churn", "v0.1.0", "prod", now + 2)  # an old version, a new stage event
    gto_stage_tag(repo, "fraud", "v1.1.0", "dev", now + 3, action="unassign")
    gto(repo, "deprecate", "fraud", "v1.0.0")  # deregisters a version brought before

    plan = json.loads(cli("import", "--from", "gto", repo, "--dry-run", "--json", "-R", registry).stdout)
    assert plan["already_imported"] == 4 and plan["events_already_imported"] == 5
    assert [(v["model"], v["version"]) for v in plan["versions"]] == [("fraud", "1.3.0")]
    assert len(plan["events"]) == 5, plan["events"]
    out = cli("import", "--from", "gto", repo, "--verify", "-R", registry).stdout
    assert "Replayed 5 GTO event(s)" in out and "0 difference(s)" in out, out
    assert int(git(registry, "rev-list", "--count", "HEAD")) == int(imported) + 5
    assert gto_view(registry) == gto_view(repo) == our_view(registry, cli)
    production = [(e.previous, e.version) for e in api.history("fraud", stage="prod", registry=registry)]
    assert production[0] == ("1.1.0", "1.3.0") and len(production) == 3
    assert api.show("fraud@1.0.0", registry=registry).status == "deprecated"
    holders = {m.name: dict(m.stages) for m in api.list_models(registry=registry)}
    assert "dev" not in holders["fraud"] and holders["churn"] == {"dev": "0.1.0", "prod": "0.1.0"}
    assert api.load_artifact("fraud@1.3.0", registry=registry).read_bytes() == b"fourth\n" * 500
    again = git(registry, "rev-parse", "HEAD")
    out = cli("import", "--from", "gto", repo, "-R", registry).stdout
    assert "Nothing to import." in out and "5 version(s) and 9 event(s) already here" in out
    assert git(registry, "rev-parse", "HEAD") == again
