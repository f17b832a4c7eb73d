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

from gitreg import api, manifest
from gitreg.manifest import Artifact, ModelVersion
from tests.conftest import Cli, git, state


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
    from gitreg.artifacts import Folder, object_path
    from gitreg.errors import ArtifactError

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
        assert "starts with '.'" in line
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
