"""Signed registry commits: gitreg's own commits and tags are signed when
git is configured to sign (SSH keys made by ssh-keygen), and `gitreg check
--base --require-signed` verifies, through git, that the commits of a change
carry a good signature from the allowed signers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitreg import api
from tests.conftest import Cli, git, init_with_origin, state
from tests.helpers import check, messages, pointer, pr


def keygen(folder: Path, name: str, email: str) -> tuple[Path, str]:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(key)], check=True)
    return key, f"{email} {(folder / f'{name}.pub').read_text().strip()}\n"


@pytest.fixture
def signing_registry(tmp_path: Path, artifact: Path) -> tuple[Path, Path, Path, Path]:
    """A registry whose git signs with ann's SSH key, fraud 1.0.0-1.0.1
    registered and pushed; (registry, ann's key, eve's key, the allowed
    signers file naming ann only)."""
    keys = tmp_path / "keys"
    keys.mkdir()
    ann, ann_line = keygen(keys, "ann", "ann@example.com")
    eve, _ = keygen(keys, "eve", "eve@example.com")
    allowed = keys / "allowed_signers"
    allowed.write_text(ann_line)
    registry = init_with_origin(tmp_path)
    git(registry, "config", "gpg.format", "ssh")
    git(registry, "config", "user.signingkey", str(ann))
    git(registry, "config", "commit.gpgsign", "true")
    git(registry, "config", "gpg.ssh.allowedSignersFile", str(allowed))
    api.register("fraud", artifact, registry=registry)
    api.register("fraud", artifact, registry=registry, version="1.0.1")
    git(registry, "push", "-q", "-u", "origin", "main", "--tags")
    return registry, ann, eve, allowed


def test_gitreg_signs_its_commits_and_tags_when_git_is_told_to(signing_registry: tuple[Path, ...]) -> None:
    registry, *_ = signing_registry
    api.promote("fraud", "1.0.1", to="staging", registry=registry)
    for commit in git(registry, "rev-list", "HEAD~3..HEAD").split():
        git(registry, "verify-commit", commit)  # raises unless good
    verdicts = git(registry, "log", "--format=%G? %GS", "-3").splitlines()
    assert verdicts == ["G ann@example.com"] * 3
    for tag in ("fraud@v1.0.0", "fraud@v1.0.1", "fraud#staging#1"):
        assert (
            'Good "git" signature for ann@example.com'
            in subprocess.run(
                ["git", "verify-tag", tag], cwd=registry, capture_output=True, text=True, check=True
            ).stderr
        )


def test_check_requires_every_commit_of_a_change_signed_by_an_allowed_signer(
    signing_registry: tuple[Path, ...], cli: Cli
) -> None:
    registry, ann, eve, allowed = signing_registry

    def unsigned(r: Path) -> None:
        git(r, "config", "commit.gpgsign", "false")
        pointer(r, "staging", "1.0.0")

    pr(registry, "unsigned", unsigned)
    git(registry, "config", "commit.gpgsign", "true")
    found = messages(check(registry, cli, 1, "--require-signed", "--allowed-signers", str(allowed)))
    assert any("'unsigned' is not signed" in m for m in found), found
    check(registry, cli, 0)  # without --require-signed, the same change passes
    git(registry, "checkout", "-q", "main")

    def by_eve(r: Path) -> None:
        git(r, "config", "user.signingkey", str(eve))
        pointer(r, "staging", "1.0.0")

    pr(registry, "by-eve", by_eve)
    git(registry, "config", "user.signingkey", str(ann))
    found = messages(check(registry, cli, 1, "--require-signed", "--allowed-signers", str(allowed)))
    assert any("'by-eve' is signed by a key that is not among the allowed signers" in m for m in found), found
    git(registry, "checkout", "-q", "main")

    pr(registry, "by-ann", lambda r: pointer(r, "staging", "1.0.0"))
    check(registry, cli, 0, "--require-signed", "--allowed-signers", str(allowed))
    git(registry, "checkout", "-q", "main")


def test_the_allowed_signers_come_from_the_base_and_moves_mode_judges_moves(
    signing_registry: tuple[Path, ...], cli: Cli
) -> None:
    registry, _, _, allowed = signing_registry
    (registry / ".gitreg" / "allowed_signers").write_bytes(allowed.read_bytes())
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "allowed signers")
    git(registry, "push", "-q", "origin", "main")

    def unsigned_note_then_signed_move(r: Path) -> None:
        git(r, "config", "commit.gpgsign", "false")
        (r / "NOTES.md").write_text("release notes\n")
        git(r, "add", "NOTES.md")
        git(r, "commit", "-qm", "notes, unsigned")
        git(r, "config", "commit.gpgsign", "true")
        pointer(r, "staging", "1.0.0")

    pr(registry, "mixed", unsigned_note_then_signed_move)
    assert any("'notes, unsigned' is not signed" in m for m in messages(check(registry, cli, 1, "--require-signed")))
    check(registry, cli, 0, "--require-signed=moves")
    git(registry, "checkout", "-q", "main")


def test_bad_require_signed_input_is_one_line(signing_registry: tuple[Path, ...], cli: Cli, tmp_path: Path) -> None:
    registry, *_ = signing_registry
    before = state(registry)
    cases = [
        (["--require-signed"], "--require-signed judges the commits of a change: give --base"),
        (["--base", "origin/main", "--require-signed"], "no allowed signers: give --allowed-signers FILE"),
        (["--base", "origin/main", "--require-signed", "--allowed-signers", tmp_path / "nope"], "cannot read"),
        (["--base", "origin/main", "--require-signed", "--staged"], "not the index"),
    ]
    for args, message in cases:
        err = cli("check", *args, "-R", registry, code=2).stderr
        assert message in err and err.count("\n") == 1, err
    assert state(registry) == before
