"""The private clone gitreg keeps of a registry given by URL.

One bare clone per URL under ``GITREG_CACHE_DIR`` (default: the user's cache
folder, ``$XDG_CACHE_HOME/gitreg``). Only gitreg touches it, and only while
holding an exclusive lock on its lock file (portalocker: ``flock`` on POSIX,
``LockFileEx`` on Windows), which on POSIX the git processes it starts
meanwhile hold too (``git.sharing``): the kernel releases the lock when the
last of them is gone, however they die, so a git ``*.lock`` file found
inside while we hold it was left by a killed process and is safe to remove.
Refs in the clone only ever move to what the remote has (fetch) or to what
the remote accepted (after a successful push), so a crash at any instant
leaves it consistent.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gitreg.errors import GitError, UsageError
from gitreg.storage import git
from gitreg.storage.credentials import redact
from gitreg.storage.files import atomic_write
from gitreg.storage.git import Repo

ENV = "GITREG_CACHE_DIR"
REFSPECS = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]


def cache_root() -> Path:
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitreg"


class Cache:
    def __init__(self, url: str, *, root: Path | None = None) -> None:
        self.url = url
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1])[:40] or "registry"
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        self.slot = (root or cache_root()) / f"{slug}-{digest}"
        self.repo_dir = self.slot / "repo.git"
        self.dvc_root = self.slot / "dvc"
        self._repo: Repo | None = None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the slot's lock; clean what a killed gitreg left behind."""
        import portalocker

        self.slot.mkdir(parents=True, exist_ok=True)
        with open(self.slot / "lock", "a+") as handle:
            portalocker.lock(handle, portalocker.LockFlags.EXCLUSIVE)
            try:
                self._clean_after_crashes()
                with git.sharing(handle.fileno()):  # git children hold it too, even if we are killed
                    yield
            finally:
                portalocker.unlock(handle)

    def _clean_after_crashes(self) -> None:
        for leftover in self.slot.glob("clone-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        if self.repo_dir.is_dir():
            for lock in self.repo_dir.rglob("*.lock"):
                lock.unlink(missing_ok=True)

    def repo(self) -> Repo:
        """The clone (made on first use). Call with the lock held."""
        if self._repo is None:
            if not self.repo_dir.is_dir():
                self._clone()
            self._repo = Repo(self.repo_dir)
        return self._repo

    def _clone(self) -> None:
        scratch = Path(tempfile.mkdtemp(prefix="clone-", dir=self.slot))
        target = scratch / "repo.git"
        repo = Repo.init_bare(target)
        repo.run(["remote", "add", "origin", self.url])
        self._fetch(repo)
        default = repo.remote_head("origin")
        if default:
            repo.run(["symbolic-ref", "HEAD", default])
        os.replace(target, self.repo_dir)  # the clone appears whole or not at all
        shutil.rmtree(scratch, ignore_errors=True)

    def _fetch(self, repo: Repo) -> None:
        args = ["fetch", "--quiet", "--prune", "--no-write-fetch-head", "origin", *REFSPECS]
        code, _, err = repo.run(args, check=False)
        if code != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit {code}"
            raise GitError(f"cannot reach the registry {redact(self.url)}: {reason}")

    def fetch(self) -> None:
        """Bring the clone up to date with the remote. Call with the lock held."""
        self._fetch(self.repo())

    def dvc_dir(self, config_text: bytes | None) -> Path:
        """A folder whose .dvc/config is the registry's, for DVC's data layer,
        with the clone's own DVC cache beside it."""
        folder = self.dvc_root / ".dvc"
        folder.mkdir(parents=True, exist_ok=True)
        if config_text is None:
            raise UsageError(f"the registry {redact(self.url)} has no .dvc/config: run `gitreg init` on it first")
        atomic_write(folder / "config", config_text)
        return self.dvc_root
