"""The trust chain (SECURITY.md, "Classes of attack"): nothing reaches
production, a deploy host or the audit trail except through the rules. One
test or table per class, each through the real CLI against real git
repositories (and, where a pull request is involved, a bare origin and
`gitreg check --base origin/main` exactly as the generated workflow runs it)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gitreg import api
from gitreg.documents import manifest
from gitreg.documents.manifest import Artifact, ModelVersion
from tests.conftest import Cli, git, state
from tests.helpers import check, edit_yaml, messages, path, pointer, pr


def _one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gitreg: error: "), output
    assert "Traceback" not in output
    return lines[0]


def storage(registry: Path) -> Path:
    return registry / ".gitreg" / "storage" / "files" / "md5"


def store_object(registry: Path, data: bytes, suffix: str = "") -> str:
    oid = hashlib.md5(data, usedforsecurity=False).hexdigest() + suffix
    obj = storage(registry) / oid[:2] / oid[2:]
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(data)
    return oid


def forge_folder_version(registry: Path, entries: list[dict[str, str]], model: str = "evil") -> str:
    """Commit by hand a folder version whose listing (stored in the remote
    under its true hash) holds ``entries``; the listing's id."""
    listing_oid = store_object(registry, json.dumps(entries).encode(), ".dir")
    forged = ModelVersion(
        model, "1.0.0", "2026-01-01T00:00:00Z", "Eve <e@x.y>", Artifact("weights", listing_oid, 6, "storage", 1)
    )
    path = registry / "models" / model / "versions" / "1.0.0.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(manifest.render(forged, str(path)))
    (registry / "models" / model / "model.yaml").write_text(f"apiVersion: gitreg/v1\nkind: Model\nname: {model}\n")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "forged")
    return listing_oid


# -- 1. listings naming paths outside the cache or remote ------------------------

HOSTILE_HASHES = {
    "climbing": "../../../../victim",
    "absolute": "/tmp/victim",
    "uppercase hex": "D41D8CD98F00B204E9800998ECF8427E",
    "a listing id": "d41d8cd98f00b204e9800998ecf8427e.dir",
    "short": "d41d8cd9",
    "trailing newline": "d41d8cd98f00b204e9800998ecf8427e\n",
}


@pytest.mark.parametrize("md5", HOSTILE_HASHES.values(), ids=HOSTILE_HASHES.keys())
def test_a_listing_hash_that_is_not_32_hex_digits_names_no_file(
    md5: str, registry: Path, tmp_path: Path, cli: Cli
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    victim.chmod(0o600)
    forge_folder_version(registry, [{"md5": md5, "relpath": "w.bin"}])
    os.chdir(tmp_path)
    for args in (["pull", "evil@1.0.0", "-o", tmp_path / "out"], ["verify", "evil", "--remote"]):
        result = cli(*args, "-R", registry, code=1)
        assert "is not 32 hex digits" in _one_line_error(result.stderr), result.stderr
    with pytest.raises(Exception, match="is not 32 hex digits"):
        api.load_artifact("evil@1.0.0", registry=registry)
    assert victim.read_text() == "keep me" and (victim.stat().st_mode & 0o777) == 0o600
    assert not (tmp_path / "out").exists()


def test_gc_remove_artifacts_never_deletes_outside_the_remote(registry: Path, tmp_path: Path, cli: Cli) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    forge_folder_version(registry, [{"md5": "../../../../../victim", "relpath": "w.bin"}])
    config = registry / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + "retention:\n  max_versions: 5\n")
    git(registry, "rm", "-q", "models/evil/versions/1.0.0.yaml")
    git(registry, "commit", "-qam", "removed, as a reviewed gc would")
    result = cli("gc", "--remove-artifacts", "-R", registry, code=1)
    assert "is not 32 hex digits" in result.stderr
    assert victim.read_text() == "keep me"


def test_object_paths_are_proven_inside_their_database(tmp_path: Path) -> None:
    from gitreg.errors import ArtifactError
    from gitreg.storage.artifacts import Folder, object_path

    folder = Folder(str(tmp_path / "remote"))
    good = "d41d8cd98f00b204e9800998ecf8427e"
    assert object_path(folder, good) == str(tmp_path / "remote" / "files" / "md5" / "d4" / good[2:])
    for bad in ("../" * 8 + "etc/passwd", good[:30] + "/.", good + ".dir/..", ""):
        with pytest.raises(ArtifactError):
            object_path(folder, bad)


# -- 2. a pull must not plant dot-folders ----------------------------------------


def test_a_hidden_artifact_name_is_refused_at_registration(registry: Path, tmp_path: Path, cli: Cli) -> None:
    for name in (".git", ".gitreg", ".dvc", ".hidden.pkl"):
        source = tmp_path / "src" / name
        source.mkdir(parents=True)
        (source / "config").write_text("[core]\n\tfsmonitor = touch /tmp/pwned\n")
        before = state(registry)
        line = _one_line_error(cli("register", "fraud", "-a", source, "-R", registry, code=2).stderr)
        assert "starts with '.'" in line or "a .git folder" in line
        assert state(registry) == before


def test_a_git_folder_inside_a_folder_artifact_is_refused(registry: Path, tmp_path: Path, cli: Cli) -> None:
    source = tmp_path / "model"
    (source / "sub" / ".GIT").mkdir(parents=True)
    (source / "weights.bin").write_bytes(b"w")
    (source / "sub" / ".GIT" / "config").write_text("x")
    line = _one_line_error(cli("register", "fraud", "-a", source, "-R", registry, code=2).stderr)
    assert ".git folder" in line


def test_a_hand_committed_dot_name_fails_the_checker_and_is_never_pulled(
    registry: Path, artifact: Path, tmp_path: Path, cli: Cli
) -> None:
    api.register("fraud", artifact, registry=registry)
    file = registry / "models" / "fraud" / "versions" / "1.0.0.yaml"
    file.write_text(file.read_text().replace("path: model.pkl", "path: .git"))
    git(registry, "commit", "-qam", "by hand")
    assert "/artifact/path" in cli("check", "-R", registry, code=1).output
    work = tmp_path / "deploy"
    work.mkdir()
    os.chdir(work)
    cli("pull", "fraud@1.0.0", "-R", registry, code=1)
    assert not (work / ".git").exists()


def test_a_listing_entry_inside_dot_git_is_refused(registry: Path, tmp_path: Path, cli: Cli) -> None:
    hook = store_object(registry, b"#!/bin/sh\ntouch pwned\n")
    forge_folder_version(registry, [{"md5": hook, "relpath": ".git/hooks/post-checkout"}])
    result = cli("pull", "evil@1.0.0", "-o", tmp_path / "out", "-R", registry, code=1)
    assert ".git folder" in _one_line_error(result.stderr)
    assert not (tmp_path / "out").exists()


def test_a_pull_never_writes_a_dot_git_destination(registry: Path, artifact: Path, tmp_path: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    for destination in (tmp_path / ".git", tmp_path / "repo" / ".git" / "hooks" / "pre-commit", tmp_path / ".Git"):
        line = _one_line_error(cli("pull", "fraud@1.0.0", "-o", destination, "-R", registry, code=2).stderr)
        assert ".git folder" in line
        assert not destination.exists()
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("keep")
    line = _one_line_error(
        cli("pull", "fraud@1.0.0", "-o", tmp_path / ".dvc", "--force", "-R", registry, code=2).stderr
    )
    assert "hidden folder" in line and (tmp_path / ".dvc" / "config").read_text() == "keep"


# -- 13. leftovers after a kill ---------------------------------------------------


def test_a_killed_pull_leaves_nothing_behind_after_the_next_run(registry: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    api.register("big", big, registry=registry)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "GITREG_FAILPOINT": "during-pull"}
    code = "from gitreg.cli import main; main(prog_name='gitreg')"
    killed = subprocess.run(
        [sys.executable, "-c", code, "pull", "big@1.0.0", "-o", str(out / "big.bin"), "-R", str(registry)],
        env=env,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    assert [p.name for p in out.iterdir() if p.name.startswith(".big.bin.gitreg-")], "the kill left no scratch"
    api.pull("big@1.0.0", output=out / "big.bin", registry=registry)
    assert sorted(p.name for p in out.iterdir()) == ["big.bin"]
    cache = registry / ".dvc" / "cache" / "files" / "md5"
    assert not [p for p in cache.rglob("*") if ".gitreg-partial-" in p.name]


# -- 15. a stored object is not trusted by its name ------------------------------


def test_registration_replaces_a_damaged_object_instead_of_reusing_it(
    registry: Path, artifact: Path, tmp_path: Path, cli: Cli
) -> None:
    md5 = hashlib.md5(artifact.read_bytes(), usedforsecurity=False).hexdigest()
    planted = storage(registry) / md5[:2] / md5[2:]
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"corrupted")  # the wrong size
    cli("register", "fraud", "-a", artifact, "-R", registry)
    assert planted.read_bytes() == artifact.read_bytes()
    same_size = bytes(len(artifact.read_bytes()))  # the right size, the wrong bytes
    planted.chmod(0o644)
    planted.write_bytes(same_size)
    cli("register", "fraud", "-a", artifact, "-R", registry)
    assert planted.read_bytes() == artifact.read_bytes()
    assert "0 with problems" in cli("verify", "--remote", "-R", registry).stdout


def test_a_folder_registration_replaces_damaged_members(registry: Path, tmp_path: Path, cli: Cli) -> None:
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "w.bin").write_bytes(os.urandom(10_000))
    md5 = hashlib.md5((folder / "w.bin").read_bytes(), usedforsecurity=False).hexdigest()
    planted = storage(registry) / md5[:2] / md5[2:]
    planted.parent.mkdir(parents=True)
    planted.write_bytes(os.urandom(10_000))
    cli("register", "bert", "-a", folder, "-R", registry)
    assert planted.read_bytes() == (folder / "w.bin").read_bytes()


def test_verify_repair_heals_the_remote_from_a_clone_with_good_bytes(
    registry: Path, artifact: Path, tmp_path: Path, cli: Cli
) -> None:
    md5 = api.register("fraud", artifact, registry=registry).artifact.md5
    api.pull("fraud@1.0.0", output=tmp_path / "copy.pkl", registry=registry)  # the clone's cache holds good bytes
    stored = storage(registry) / md5[:2] / md5[2:]
    stored.chmod(0o644)
    stored.write_bytes(b"bit rot")
    out = cli("verify", "--remote", "--repair", "-R", registry).stdout
    assert f"CORRUPTED fraud 1.0.0: model.pkl (expected md5 {md5}, got " in out and "-> repaired" in out
    assert stored.read_bytes() == artifact.read_bytes()
    assert "0 with problems" in cli("verify", "--remote", "-R", registry).stdout
    stored.chmod(0o644)
    stored.unlink()
    (registry / ".dvc" / "cache").rename(tmp_path / "cache-away")  # nothing good left here
    out = cli("verify", "--remote", "--repair", "-R", registry, code=1).stdout
    assert "MISSING" in out and "repaired" not in out


# -- checker classes: pull-request branches against a bare origin ----------------


def _merge(pr_registry: Path, branch: str, *options: str) -> None:
    git(pr_registry, "checkout", "-q", "main")
    git(pr_registry, "merge", "-q", *options, branch, "-m", f"Merge {branch}")
    git(pr_registry, "push", "-q", "origin", "main")


# -- 3. the check judges the repository it runs in -------------------------------


def test_a_pull_request_cannot_point_the_check_at_another_repository(
    pr_registry: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = tmp_path / "decoy"
    api.init(clean)

    def attack(r: Path) -> None:
        pointer(r, "staging", "1.0.0")  # auc 0.80 fails min_auc 0.85
        git(r, "clone", "-q", "--bare", str(clean), str(r / "decoy.git"))
        (r / "gitreg.toml").write_text('registry = "decoy.git"\n')

    pr(pr_registry, "attack", attack)
    monkeypatch.chdir(pr_registry)
    for env in ({}, {"GITREG_REGISTRY": str(pr_registry / "decoy.git")}):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = cli("check", "--base", "origin/main", "--format", "json", code=1)
        report = json.loads(result.stdout)
        assert any("fails gate min_auc" in m for m in messages(report)), report
        assert {"path": "gitreg.toml", "reason": "names the registry that gitreg commands read and write"} in report[
            "review"
        ]
    assert not api.check(base="origin/main").ok  # the Python API too


# -- 4. a rollback is a return to a rightful holder -------------------------------


@pytest.mark.parametrize("merge", [("--no-ff",), ("--ff-only",)], ids=["merge commit", "fast-forward"])
def test_a_version_set_and_set_back_inside_a_merged_pull_request_never_held_the_stage(
    pr_registry: Path, cli: Cli, merge: tuple[str, ...]
) -> None:
    git(pr_registry, "checkout", "-q", "-b", "first")
    pointer(pr_registry, "staging", "1.0.0")  # fails min_auc: never checked on its own
    git(pr_registry, "commit", "-qam", "set")
    pointer(pr_registry, "staging", "1.0.1")
    git(pr_registry, "commit", "-qam", "set back")
    _merge(pr_registry, "first", *merge)
    pr(pr_registry, "second", lambda r: pointer(r, "staging", "1.0.0"))
    report = check(pr_registry, cli, 1)
    assert [m["rollback"] for m in report["moves"]] == [False]  # type: ignore[index]
    assert any("fails gate min_auc for staging" in m for m in messages(report))


def test_gitreg_rollback_never_restores_a_version_that_never_rightfully_held_the_stage(
    pr_registry: Path, cli: Cli
) -> None:
    git(pr_registry, "checkout", "-q", "-b", "first")
    pointer(pr_registry, "staging", "1.0.0")  # fails min_auc: set, then set back, in one pull request
    git(pr_registry, "commit", "-qam", "set")
    pointer(pr_registry, "staging", "1.0.1")
    git(pr_registry, "commit", "-qam", "set back")
    _merge(pr_registry, "first", "--ff-only")
    line = _one_line_error(cli("rollback", "fraud", "--stage", "staging", "-R", pr_registry, code=1).stderr)
    assert "nothing to roll back to" in line
    before = state(pr_registry)
    line = _one_line_error(
        cli("rollback", "fraud", "--stage", "staging", "--to", "1.0.0", "-R", pr_registry, code=1).stderr
    )
    assert "refused: min_auc" in line  # not a rollback: the stage's gates judge it, as a promotion
    assert state(pr_registry) == before


def test_a_version_removed_and_written_again_is_no_rollback(pr_registry: Path, cli: Cli, artifact: Path) -> None:
    api.promote("fraud", "1.0.2", to="staging", registry=pr_registry)  # 1.0.1 held staging rightly before
    git(pr_registry, "push", "-q", "origin", "main")

    def rewrite(r: Path) -> None:
        edit_yaml(path(r, "fraud", "versions", "1.0.1.yaml"), metrics={"auc": 0.5})
        pointer(r, "staging", "1.0.1")

    pr(pr_registry, "rewrite", rewrite)
    report = check(pr_registry, cli, 1)
    assert [m["rollback"] for m in report["moves"]] == [False]  # type: ignore[index]
    assert any("fails gate min_auc" in m for m in messages(report))


def test_a_true_rollback_still_skips_the_gates(pr_registry: Path, cli: Cli) -> None:
    api.promote("fraud", "1.0.2", to="staging", registry=pr_registry)
    api.evaluate("fraud", "1.0.1", metrics={"auc": 0.5}, registry=pr_registry)  # appended since: still the same version
    git(pr_registry, "push", "-q", "origin", "main")
    pr(pr_registry, "back", lambda r: pointer(r, "staging", "1.0.1"))
    edit_yaml(path(pr_registry, "fraud", "model.yaml"), gates={"staging": {"min_auc": 0.99}})
    git(pr_registry, "commit", "-qam", "tighten (not read: gates come from the base)")
    report = check(pr_registry, cli, 0)
    assert [m["rollback"] for m in report["moves"]] == [True]  # type: ignore[index]


# -- 5. type changes and entries that are not regular files ----------------------


def _gitlink(pr_registry: Path, file: Path) -> None:
    relative = file.relative_to(pr_registry).as_posix()
    file.unlink()
    git(pr_registry, "rm", "-q", "--cached", relative)
    commit = git(pr_registry, "rev-parse", "HEAD")
    git(pr_registry, "update-index", "--add", "--cacheinfo", f"160000,{commit},{relative}")


ENTRIES = {
    "version file turned into a gitlink": (
        lambda r: _gitlink(r, path(r, "fraud", "versions", "1.0.2.yaml")),
        ["submodule (gitlink)", "never replaced", "never deleted"],
    ),
    "version file turned into a symlink": (
        lambda r: (
            path(r, "fraud", "versions", "1.0.0.yaml").unlink(),
            path(r, "fraud", "versions", "1.0.0.yaml").symlink_to("1.0.1.yaml"),
        ),
        ["symbolic link", "never replaced"],
    ),
    "executable pointer": (
        lambda r: path(r, "fraud", "stages", "staging.yaml").chmod(0o755),
        ["executable bit"],
    ),
    "a new symlink to a version": (
        lambda r: path(r, "fraud", "versions", "1.0.9.yaml").symlink_to("1.0.3.yaml"),
        ["symbolic link"],
    ),
    "a newline in a file name": (
        lambda r: path(r, "fraud", "versions", "1.0.9\n.yaml").write_text("x"),
        ["control character"],
    ),
    "an escape in a config file name": (
        lambda r: (r / ".gitreg" / "a\x1b[2Jb").write_text("x"),
        ["control character"],
    ),
}


@pytest.mark.parametrize(("edit", "expected"), ENTRIES.values(), ids=ENTRIES.keys())
def test_entries_that_are_not_regular_files_are_violations(
    pr_registry: Path, cli: Cli, edit: object, expected: list[str]
) -> None:
    git(pr_registry, "checkout", "-q", "-b", "attempt")
    edit(pr_registry)  # type: ignore[operator]
    git(pr_registry, "add", "-A", "--", ".", ":(exclude)models/fraud/versions/1.0.2.yaml")  # keeps a gitlink staged
    git(pr_registry, "commit", "-qm", "attempt")
    found = messages(check(pr_registry, cli, 1))
    for text in expected:
        assert any(text in m for m in found), found
    whole = json.loads(cli("check", "--format", "json", "-R", pr_registry, code=1).stdout)
    assert any(expected[0] in v["message"] for v in whole["violations"]), whole
    assert "\x1b" not in cli("check", "-R", pr_registry, code=1).stdout


# -- 6. moving models_dir --------------------------------------------------------


def test_moving_models_dir_is_refused(pr_registry: Path, cli: Cli) -> None:
    def move(r: Path) -> None:
        git(r, "mv", "models", "registry-models")
        config = r / ".gitreg" / "config.yaml"
        config.write_text(config.read_text().replace("models_dir: models", "models_dir: registry-models"))
        edit_yaml(r / "registry-models" / "fraud" / "versions" / "1.0.1.yaml", metrics={"auc": 0.2})

    pr(pr_registry, "move", move)
    report = check(pr_registry, cli, 1)
    assert any("/models_dir: models_dir moved from 'models'" in m for m in messages(report))


# -- 10. steering files need the owners' review ----------------------------------


def test_steering_files_are_reported_for_review(pr_registry: Path, cli: Cli) -> None:
    config = pr_registry / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + "events:\n  - on: gitreg.*\n    command: [./scripts/notify.sh]\n")
    (pr_registry / "scripts").mkdir()
    (pr_registry / "scripts" / "notify.sh").write_text("#!/bin/sh\n")
    git(pr_registry, "add", "-A")
    git(pr_registry, "commit", "-qm", "subscribe")
    git(pr_registry, "push", "-q", "origin", "main")

    def steer(r: Path) -> None:
        (r / ".dvc" / "config").write_text(
            (r / ".dvc" / "config").read_text().replace(".gitreg/storage", "/tmp/elsewhere")
        )
        (r / "scripts" / "notify.sh").write_text("#!/bin/sh\ncurl evil\n")
        (r / "gitreg.toml").write_text('registry = "."\n')
        (r / ".github").mkdir(exist_ok=True)
        (r / ".github" / "CODEOWNERS").write_text("* @nobody\n")
        edit_yaml(path(r, "fraud", "model.yaml"), description="new words")

    pr(pr_registry, "steer", steer)
    report = check(pr_registry, cli, 0)  # no rule is broken ...
    reviewed = {r["path"] for r in report["review"]}  # type: ignore[union-attr]
    assert reviewed == {
        ".dvc/config",
        "scripts/notify.sh",
        "gitreg.toml",
        ".github/CODEOWNERS",
        "models/fraud/model.yaml",
    }
    markdown = cli("check", "--base", "origin/main", "--format", "markdown", "-R", pr_registry).stdout
    assert "👀 needs owners' review" in markdown.splitlines()[0] and "`.dvc/config`" in markdown
    github = cli("check", "--base", "origin/main", "--format", "github", "-R", pr_registry).stdout
    assert "::warning file=.dvc/config,title=gitreg check%3A needs owners' review::" in github
    assert "needs owners' review: scripts/notify.sh" in cli("check", "--base", "origin/main", "-R", pr_registry).stdout


# -- 11. every whole-tree rule holds for a change -------------------------------


def test_deleting_model_yaml_fails_the_change_check(pr_registry: Path, cli: Cli) -> None:
    pr(pr_registry, "ungated", lambda r: path(r, "fraud", "model.yaml").unlink())
    assert any(
        "models/fraud/model.yaml : missing: every model needs a model.yaml" in m
        for m in messages(check(pr_registry, cli, 1))
    )


# -- 12. numbers that break readers ---------------------------------------------


def test_a_huge_integer_metric_is_refused_everywhere(pr_registry: Path, cli: Cli, artifact: Path) -> None:
    def huge(r: Path) -> None:
        file = path(r, "fraud", "versions", "1.0.4.yaml")
        file.write_text(path(r, "fraud", "versions", "1.0.3.yaml").read_text().replace('"1.0.3"', '"1.0.4"'))
        file.write_text(file.read_text().replace("auc: 0.97", "auc: " + "9" * 400))
        pointer(r, "staging", "1.0.4")

    pr(pr_registry, "huge", huge)
    assert any("out of range" in m for m in messages(check(pr_registry, cli, 1)))
    assert "out of range" in cli("check", "-R", pr_registry, code=1).stdout
    for args in (
        ["compare", "fraud", "1.0.3", "1.0.4"],
        ["list", "--where", "metrics.auc > 1"],
        ["history", "fraud", "--metrics"],
        ["deploy", "fraud", "--strategy", "best", "--dry-run", "--metric", "auc"],
    ):
        result = cli(*args, "-R", pr_registry, code=1)
        assert "Traceback" not in result.output and "out of range" in result.stderr, (args, result.output)
    for metrics in ({"auc": 10**400}, {"auc": -(10**301)}):
        with pytest.raises(Exception, match="out of range"):
            api.register("fraud", artifact, metrics=metrics, registry=pr_registry)
    result = cli("register", "fraud", "-a", artifact, "--metric", "auc=" + "9" * 5000, "-R", pr_registry, code=2)
    assert "Traceback" not in result.output


# -- 16. a report's verdict comes from the violations it prints -----------------


@pytest.mark.parametrize("output", ["markdown", "github", "text", "json"])
def test_a_report_never_says_rules_hold_beside_a_violation(pr_registry: Path, cli: Cli, output: str) -> None:
    pr(pr_registry, "ghost", lambda r: pointer(r, "staging", "9.9.9"))
    text = cli("check", "--base", "origin/main", "--format", output, "-R", pr_registry, code=1).stdout
    assert "fraud 9.9.9 is not registered" in text
    assert "✅" not in text and "rules hold" not in text
    if output == "json":
        assert json.loads(text)["moves"][0]["passed"] is False
    whole = cli("check", "--format", "markdown", "-R", pr_registry, code=1).stdout
    assert "Checked the whole registry at `" in whole


def test_hostile_inputs_exit_2_with_one_line(
    registry: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = state(registry)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "big.json").write_text('{"auc": ' + "9" * 5000 + "}")
    cases = [
        (["register", "fraud", "-a", registry / ".git"], "is, or is inside, a .git folder"),
        (["register", "fraud", "-a", registry / ".git" / "objects"], "is, or is inside, a .git folder"),
        (["import", tmp_path / "deep.json"], "nested too deeply"),
        (["register", "fraud", "-a", tmp_path / "big.json", "--metrics", tmp_path / "big.json"], "out of range"),
    ]
    for args, message in cases:
        assert message in _one_line_error(cli(*args, "-R", registry, code=2).stderr)
    (tmp_path / "gitreg.toml").write_text("registry = " + "[" * 5000 + "]" * 5000 + "\n")
    monkeypatch.chdir(tmp_path)
    assert "nested too deeply" in _one_line_error(cli("list", code=2).stderr)
    assert state(registry) == before


# -- 7. registration tags are verified against the files -------------------------


def test_a_hand_pushed_registration_tag_on_another_commit_is_not_trusted(
    registry: Path, artifact: Path, tmp_path: Path, cli: Cli
) -> None:
    api.register("fraud", artifact, registry=registry, metrics={"auc": 0.9})
    other = tmp_path / "other.pkl"
    other.write_bytes(b"other weights")
    api.register("fraud", other, registry=registry, metrics={"auc": 0.1})  # 1.0.1
    registered_at = git(registry, "rev-list", "-n1", "fraud@v1.0.0")
    git(registry, "checkout", "-q", "-b", "forgery")  # a commit off the branch, with another 1.0.0
    file = registry / "models" / "fraud" / "versions" / "1.0.0.yaml"
    file.write_text(file.read_text().replace("auc: 0.9", "auc: 0.99"))
    git(registry, "commit", "-qam", "forged manifest")
    forged = git(registry, "rev-parse", "HEAD")
    git(registry, "checkout", "-q", "main")
    git(registry, "tag", "-f", "fraud@v1.0.0", forged)
    git(registry, "tag", "-f", "fraud@v1.0.1", registered_at)  # a commit without 1.0.1 at all
    resolved = json.loads(cli("resolve", "fraud@1.0.0", "--json", "-R", registry).stdout)
    assert resolved["version_commit"] == registered_at  # the file's own history, not the tag
    before = state(registry)
    line = _one_line_error(cli("promote", "fraud", "1.0.0", "--to", "staging", "-R", registry, code=1).stderr)
    assert "does not hold fraud 1.0.0 as registered" in line
    assert state(registry) == before
    doctor = cli("doctor", "-R", registry, code=1).stdout
    assert "contradict the files" in doctor and "GTO tags match the files" not in doctor
    synced = json.loads(cli("tags", "sync", "--json", "-R", registry).stdout)
    assert any("fraud 1.0.0: tag fraud@v1.0.0 points at commit" in s for s in synced["skipped"]), synced
    assert any("fraud 1.0.1: tag fraud@v1.0.1" in s for s in synced["skipped"]), synced


# -- 9. credentials are never committed, printed or logged -----------------------


def test_a_remote_url_with_credentials_is_refused_and_never_printed(tmp_path: Path, cli: Cli) -> None:
    for url in ("https://user:s3cr3t@dvc.example.com/store", "s3://bucket/x?access_token=s3cr3t"):
        result = cli("init", tmp_path / "registry", "--remote", url, code=2)
        assert "carries credentials" in _one_line_error(result.stderr)
        assert "s3cr3t" not in result.output
        assert not (tmp_path / "registry").exists()


def test_a_run_url_with_a_query_token_is_committed_without_it(registry: Path, artifact: Path, cli: Cli) -> None:
    url = "https://ci.example.com/jobs/7?access_token=s3cr3t&tab=log"
    out = cli("register", "fraud", "-a", artifact, "--run-url", url, "--json", "-R", registry).output
    assert "s3cr3t" not in out
    assert "s3cr3t" not in git(registry, "log", "-p", "--all")
    assert api.show("fraud@1.0.0", registry=registry).lineage["run"]["url"] == "https://ci.example.com/jobs/7?tab=log"


# -- 8. free text cannot forge trailers or drive a terminal ----------------------

FORGED = "x\n\nGitreg-Action: promote\nGitreg-Stage: production\nGitreg-Version: 9.9.9"
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"


def _trailers(registry: Path, rev: str = "HEAD") -> list[str]:
    return git(registry, "log", "-1", "--format=%(trailers:only,unfold)", rev).splitlines()


def test_free_text_cannot_add_trailers(registry: Path, artifact: Path, tmp_path: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    cli("promote", "fraud", "1.0.0", "--to", "staging", "--reason", FORGED, "-R", registry)
    assert [t for t in _trailers(registry) if t.startswith("Gitreg-Stage")] == ["Gitreg-Stage: staging"]
    exported = json.loads(cli("export", "-R", registry).stdout)
    exported["source"]["registry"] = FORGED
    (tmp_path / "export.json").write_text(json.dumps(exported))
    target = tmp_path / "target"
    api.init(target)
    cli("import", tmp_path / "export.json", "-R", target)
    for rev in ("HEAD", "HEAD~1"):
        trailers = _trailers(target, rev)
        assert not any(t.startswith(("Gitreg-Version: 9.9.9", "Gitreg-Action: promote")) for t in trailers), trailers
        assert [t for t in trailers if t.startswith("Gitreg-Source")] == [f"Gitreg-Source: {' '.join(FORGED.split())}"]


def test_escape_codes_in_text_are_shown_not_run(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry, description="weights " + ESCAPES)
    cli("promote", "fraud", "1.0.0", "--to", "staging", "--reason", "because " + ESCAPES, "-R", registry)
    pointer = registry / "models" / "fraud" / "stages" / "staging.yaml"
    model_yaml = registry / "models" / "fraud" / "model.yaml"
    model_yaml.write_text(model_yaml.read_text() + "description: by hand\n")
    git(registry, "commit", "-qam", "by hand " + ESCAPES)
    for args in (
        ["show", "fraud@1.0.0"],
        ["history", "fraud"],
        ["history", "fraud", "--stage", "staging"],
        ["show", "fraud@staging", "--json"],
        ["list", "fraud"],
    ):
        out = cli(*args, "-R", registry).output
        assert not any(c in out for c in "\x1b\x07\x9b\u202e"), (args, out)
    assert "by hand \\x1b]0;pwned" in cli("history", "fraud", "-R", registry).output
    assert pointer.exists()


def test_markdown_names_cannot_break_out_of_code_spans(pr_registry: Path, cli: Cli) -> None:
    def hostile(r: Path) -> None:
        folder = r / "models" / "a`b<img src=x>|c"
        folder.mkdir()
        (folder / "model.yaml").write_text("apiVersion: gitreg/v1\nkind: Model\nname: x\n")

    pr(pr_registry, "hostile", hostile)
    markdown = cli("check", "--base", "origin/main", "--format", "markdown", "-R", pr_registry, code=1).stdout
    row = next(line for line in markdown.splitlines() if "img" in line)
    assert "``models/a`b<img src=x>\\|c/model.yaml``" in row
    assert row.count(" | ") == 2  # three cells: file, field, reason


# -- 17. a closed standard output ends quietly -----------------------------------


def test_a_closed_stdout_ends_quietly(registry: Path, artifact: Path, tmp_path: Path) -> None:
    for i in range(30):
        api.register(f"model-{i}", artifact, registry=registry)
    code = "from gitreg.cli import main; main(prog_name='gitreg')"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "list", "-R", str(registry)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before anything is written, as with `| head -0`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait() == 141, err
    assert err == ""
    assert not list(tmp_path.glob("gitreg-error-*.log"))


# -- 14. the cache lock covers git push too --------------------------------------


@pytest.mark.stress
def test_a_killed_gitreg_holds_the_cache_lock_while_its_orphaned_push_runs(tmp_path: Path) -> None:
    from tests.helpers import kill_while_locked

    code = (
        "from gitreg.storage.git import RefUpdate\n"
        "Repo.init_bare(Path(sys.argv[2]))\n"
        "repo = Repo.init(Path(sys.argv[3]))\n"
        "hook = Path(sys.argv[3]) / '.git' / 'hooks' / 'pre-push'\n"
        "hook.write_text(f'#!/bin/sh\\ntouch {sys.argv[4]}\\nsleep 4\\n')\n"
        "hook.chmod(0o755)\n"
        "repo.run(['commit', '--allow-empty', '-qm', 'x'])\n"
        "with cache.locked():\n"
        "    repo.push_atomic(sys.argv[2], [RefUpdate('refs/heads/main', repo.resolve('HEAD'), None)])\n"
    )
    kill_while_locked(tmp_path, code, [str(tmp_path / "r.git"), str(tmp_path / "work")])


def test_a_branch_name_cannot_break_out_of_the_pull_request_body(pr_registry: Path, cli: Cli, tmp_path: Path) -> None:
    branch = "promote`<img>`-x"
    cli(
        "promote",
        "fraud",
        "1.0.2",
        "--to",
        "staging",
        "--branch",
        branch,
        "--pr-body",
        tmp_path / "pr.md",
        "-R",
        pr_registry,
    )
    body = (tmp_path / "pr.md").read_text()
    assert f"(branch ``{branch}``)" in body


# -- 24. nothing is written that the registry's own reads refuse ------------------


def test_a_manifest_its_own_reads_would_refuse_is_never_written(
    registry: Path, artifact: Path, tmp_path: Path, cli: Cli
) -> None:
    """Inputs each within their limits (a 950 KB params file, 200 labels of
    1,000 characters) made a manifest over the 1 MiB every read refuses:
    `register` wrote it, and `show`, `list` and `pull` of the model failed
    after. Now the write is refused, in one short line, nothing written."""
    (tmp_path / "params.json").write_text(json.dumps({f"p{i}": "x" * 1000 for i in range(950)}))
    labels = [arg for i in range(200) for arg in ("--label", f"k{i}={'v' * 1000}")]
    before = state(registry)
    args = ("register", "fraud", "-a", artifact, "--params", tmp_path / "params.json")
    result = cli(*args, *labels, "-R", registry, code=2)
    error = _one_line_error(result.stderr)
    assert "over the 1,048,576-byte limit" in error and len(error) < 200
    assert state(registry) == before
    cli(*args, "-R", registry)
    assert len(api.show("fraud@1.0.0", registry=registry).params) == 950


def test_a_schema_error_quotes_a_long_value_by_its_start(registry: Path, artifact: Path, cli: Cli) -> None:
    """A refused 50,000-character value was quoted whole in the one-line error."""
    api.register("fraud", artifact, registry=registry)
    edit_yaml(path(registry, "fraud", "versions", "1.0.0.yaml"), description="d" * 50_000)
    git(registry, "commit", "-qam", "a long description, by hand")
    error = _one_line_error(cli("show", "fraud@1.0.0", "-R", registry, code=1).stderr)
    assert "too long: 50,000 characters, at most 10,000" in error and len(error) < 300
