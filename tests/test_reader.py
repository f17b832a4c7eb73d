"""The object reader (one running `git cat-file --batch` per repository) and
a long-lived Registry's remembered answers: they must never show an old state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitreg import api
from gitreg.core.registry import Registry
from gitreg.storage.git import Repo
from tests.conftest import git


def _commit_files(root: Path, files: dict[str, bytes]) -> str:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "files")
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    Repo.init(root)
    return root


def test_one_folder_listing_matches_git_ls_tree(repo_dir: Path) -> None:
    _commit_files(repo_dir, {"a/x.yaml": b"1", "a/sub/y": b"2", "a/run.sh": b"#!/bin/sh\n", "a/b c": b"3"})
    os.chmod(repo_dir / "a/run.sh", 0o700)
    os.symlink("x.yaml", repo_dir / "a/link")
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-q", "-m", "modes")
    commit = git(repo_dir, "rev-parse", "HEAD")
    repo = Repo(repo_dir)
    expected = git(repo_dir, "ls-tree", f"{commit}:a").splitlines()
    listed = [f"{e.mode} {e.type} {e.oid}\t{e.path.removeprefix('a/')}" for e in repo.ls_tree(commit, "a")]
    assert listed == expected
    assert [e.path for e in repo.ls_tree(commit)] == ["a"]
    assert repo.ls_tree(commit, "a/x.yaml") == []  # a file is not a folder
    assert repo.ls_tree(commit, "missing") == []


def test_reads_see_commits_made_after_the_reader_started(repo_dir: Path) -> None:
    first = _commit_files(repo_dir, {"f": b"one"})
    repo = Repo(repo_dir)
    assert repo.resolve("refs/heads/main") == first
    assert repo.read_paths(first, ["f"]) == {"f": b"one"}
    second = _commit_files(repo_dir, {"f": b"two"})  # by another process
    assert repo.resolve("refs/heads/main") == second
    assert repo.read_paths(second, ["f"]) == {"f": b"two"}
    git(repo_dir, "gc", "-q")  # objects move into a new pack; refs into packed-refs
    third = _commit_files(repo_dir, {"f": b"three"})
    git(repo_dir, "pack-refs", "--all")
    assert repo.resolve("refs/heads/main") == third
    assert repo.read_paths(third, ["f", "nope"]) == {"f": b"three", "nope": None}


def test_many_reads_in_one_request_do_not_deadlock(repo_dir: Path) -> None:
    files = {f"d/{i:05d}": os.urandom(64) for i in range(3000)}
    commit = _commit_files(repo_dir, files)
    repo = Repo(repo_dir)
    names = list(files)
    found = repo.read_paths(commit, names)  # ~50 KB of requests, ~300 KB of answers
    assert found == files


def test_names_that_would_break_the_protocol_name_nothing(repo_dir: Path) -> None:
    commit = _commit_files(repo_dir, {"f": b"x"})
    repo = Repo(repo_dir)
    assert repo.resolve(f"{commit}\nHEAD") is None
    assert repo.resolve("") is None
    assert repo.read_objects([f"{commit}:f\n{commit}:f", f"{commit}:f"]) == {
        f"{commit}:f\n{commit}:f": None,
        f"{commit}:f": b"x",
    }
    assert repo.resolve("HEAD") == commit  # the reader is still in step


def test_a_stopped_reader_is_started_again(repo_dir: Path) -> None:
    commit = _commit_files(repo_dir, {"f": b"x"})
    repo = Repo(repo_dir)
    assert repo.resolve("HEAD") == commit
    proc = repo._batch._proc
    assert proc is not None
    proc.kill()
    proc.wait()
    assert repo.resolve("HEAD") == commit
    repo.close()
    assert repo._batch._proc is None
    assert repo.resolve("HEAD") == commit  # usable after close too
    repo.close()


def test_a_long_lived_registry_notices_new_commits_and_moved_tags(
    registry: Path, artifact: Path, tmp_path: Path
) -> None:
    api.register("fraud", artifact, metrics={"auc": 0.9}, registry=registry)
    api.register("fraud", artifact, metrics={"auc": 0.95}, registry=registry)
    api.promote("fraud", "1.0.0", to="staging", registry=registry)
    service = Registry.open(registry)
    first = api.resolve("fraud@staging", registry=service)
    assert first.version == "1.0.0"
    assert api.resolve("fraud@staging", registry=service) is first  # remembered
    # another process moves the pointer: the next call sees it
    gitreg = Path(sys.executable).parent / "gitreg"
    subprocess.run([gitreg, "promote", "fraud", "1.0.1", "--to", "staging", "-R", registry], check=True)
    assert api.resolve("fraud@staging", registry=service).version == "1.0.1"
    # the registration tag moves without a commit (a re-synced tag): noticed too
    tag = "refs/tags/fraud@v1.0.1"
    before = api.resolve("fraud@staging", registry=service)
    git(registry, "tag", "-d", "fraud@v1.0.1")
    moved = api.resolve("fraud@staging", registry=service)
    assert moved is not before
    assert moved.version_commit == git(
        registry, "log", "-1", "--format=%H", "--diff-filter=A", "--", "models/fraud/versions/1.0.1.yaml"
    )
    assert git(registry, "tag", "-l", tag.removeprefix("refs/tags/")) == ""
