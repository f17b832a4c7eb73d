"""The git launcher's outcomes, decided from machine-readable output and the
refs themselves: a lost race is retried by the caller, anything else is an
error that names git's reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitreg.errors import GitError
from gitreg.storage.git import RefUpdate, RefUpdateRejected, Repo


def _repo_with_commit(path: Path) -> tuple[Repo, str]:
    repo = Repo.init(path)
    repo.run(["commit", "--allow-empty", "-qm", f"first in {path.name}"])
    return repo, repo._text(["rev-parse", "HEAD"])


def _new(ref: str, oid: str) -> RefUpdate:
    return RefUpdate(ref, oid, None)  # the remote must not have it yet


def test_a_push_that_lost_the_race_is_a_false_not_an_error(tmp_path: Path) -> None:
    remote = Repo.init_bare(tmp_path / "r.git")
    mine, _ = _repo_with_commit(tmp_path / "mine")
    theirs, _ = _repo_with_commit(tmp_path / "theirs")
    head = theirs.resolve("HEAD")
    assert head and theirs.push_atomic(str(remote.root), [_new("refs/heads/main", head), _new("refs/tags/t1", head)])
    ours = mine.resolve("HEAD")
    assert (
        ours
        and mine.push_atomic(str(remote.root), [_new("refs/heads/main", ours), _new("refs/tags/t2", ours)]) is False
    )
    assert remote.resolve("refs/tags/t2") is None  # atomic: nothing of it landed


def test_a_push_the_remote_declines_is_an_error_with_its_reason(tmp_path: Path) -> None:
    remote = Repo.init_bare(tmp_path / "r.git")
    hook = tmp_path / "r.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'registry is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    mine, _ = _repo_with_commit(tmp_path / "mine")
    with pytest.raises(GitError, match=r"remote rejected.*pre-receive hook declined"):
        mine.push_atomic(str(remote.root), [_new("refs/heads/main", str(mine.resolve("HEAD")))])
    assert remote.resolve("refs/heads/main") is None


def test_a_ref_moved_meanwhile_is_a_rejected_update(tmp_path: Path) -> None:
    repo, first = _repo_with_commit(tmp_path / "repo")
    repo.run(["commit", "--allow-empty", "-qm", "second"])
    second = repo._text(["rev-parse", "HEAD"])
    with pytest.raises(RefUpdateRejected, match="refs/heads/main moved meanwhile"):
        repo.update_refs([RefUpdate("refs/heads/main", first, first)])  # expected first, is second
    with pytest.raises(RefUpdateRejected):
        repo.update_refs([RefUpdate("refs/heads/main", first, None)])  # expected absent
    repo.update_refs([RefUpdate("refs/heads/main", first, second), RefUpdate("refs/tags/x", first, None)])
    assert repo.resolve("refs/heads/main") == first == repo.resolve("refs/tags/x")


def test_a_ref_another_process_holds_is_a_rejected_update(tmp_path: Path) -> None:
    """Its lock file says the ref is about to move: the caller retries."""
    repo, first = _repo_with_commit(tmp_path / "repo")
    (tmp_path / "repo" / ".git" / "refs" / "heads" / "main.lock").write_text("")
    with pytest.raises(RefUpdateRejected, match="refs/heads/main is locked by another git process"):
        repo.update_refs([RefUpdate("refs/tags/y", first, None), RefUpdate("refs/heads/main", first, first)])
    assert repo.resolve("refs/tags/y") is None


def test_a_refused_update_for_another_reason_is_an_error_naming_it(tmp_path: Path) -> None:
    repo, first = _repo_with_commit(tmp_path / "repo")
    missing = "1" * 40
    with pytest.raises(GitError, match=f"git update-ref failed: .*{missing}"):
        repo.update_refs([RefUpdate("refs/heads/main", missing, first)])
    assert repo.resolve("refs/heads/main") == first


def test_a_path_no_tree_can_hold_reads_as_missing(tmp_path: Path) -> None:
    """`..`, a leading `/` or a line break made git's object reader stop
    (a crash, exit 3) where a registry read a path from a document; such
    a path now reads as missing, and the reader keeps serving."""
    repo, first = _repo_with_commit(tmp_path)
    commit = repo.commit_tree(repo.write_tree(first, {"a/b.txt": b"x"}), [first], "one")
    found = repo.read_paths(commit, ["../outside", "/etc/passwd", "a/../a/b.txt", "a/b.txt\nHEAD:a/b.txt", "a/b.txt"])
    assert found == {
        "../outside": None,
        "/etc/passwd": None,
        "a/../a/b.txt": None,
        "a/b.txt\nHEAD:a/b.txt": None,
        "a/b.txt": b"x",
    }
