"""Records kept beside the registry branch, never on it: training runs
(``refs/gitreg/runs/<experiment>/<id>``) and uses of versions
(``refs/gitreg/usage/<model>``). Each ref is a chain of commits; each
commit's tree holds the record's files (a YAML document, and for a run its
metric points). Thousands of runs never touch the branch, so reads, the
checker, tags, GTO and DVC see none of them.

A write is a compare-and-swap of its one ref (``update-ref`` with the old
value), retried when another writer moved it. A registry opened by URL
pushes the ref to its origin at once (``push --atomic``, never forced) and
fetches ``refs/gitreg/`` on demand: the clone's ordinary fetch leaves these
refs alone. In a checkout, ``git push origin 'refs/gitreg/*:refs/gitreg/*'``
publishes them."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gitreg.core.registry import Registry
from gitreg.errors import ConflictError, GitError
from gitreg.storage.git import RefUpdate, RefUpdateRejected

ROOT = "refs/gitreg/"
ATTEMPTS = 8
BuildRecord = Callable[[str | None], Mapping[str, bytes]]  # the tip (or None) -> the record's files


@dataclass(frozen=True)
class Tip:
    """A record ref and the commit it names."""

    ref: str
    commit: str


class Records:
    """The record refs of one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.repo = registry.repo
        self._fetched: set[str] = set()

    def fetch(self, prefix: str) -> None:
        """Bring the records under ``prefix`` (``refs/gitreg/runs/``) from
        the origin of a URL registry, once per instance."""
        cache = self.registry.cache
        if cache is None or prefix in self._fetched:
            return
        with cache.locked():
            code, _, err = self.repo.run(
                ["fetch", "--quiet", "--prune", "--no-write-fetch-head", "origin", f"+{prefix}*:{prefix}*"],
                check=False,
            )
        if code != 0:
            text = err.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"cannot fetch {prefix} from {self.registry.name}: {text[-1] if text else code}")
        self._fetched.add(prefix)

    def tips(self, prefix: str) -> list[Tip]:
        """Every ref under ``prefix``, by name."""
        self.fetch(prefix)
        code, out, _ = self.repo.run(["for-each-ref", "--format=%(refname) %(objectname)", prefix], check=False)
        rows = [line.split(" ", 1) for line in out.decode("utf-8", "replace").splitlines() if " " in line]
        return [Tip(ref, commit) for ref, commit in rows] if code == 0 else []

    def read(self, commit: str, paths: list[str]) -> dict[str, bytes | None]:
        """Files of a record commit."""
        return self.repo.read_paths(commit, paths)

    def write(self, ref: str, build: BuildRecord, message: str) -> str:
        """Commit the files ``build(current tip or None)`` returns as the new
        tip of ``ref`` (its parent the old tip), compare-and-swap: a local
        ``update-ref`` with the old value, or a push the remote takes only as
        a fast-forward from it. Retried from the new tip when another writer
        moved the ref. Returns the commit."""
        for attempt in range(ATTEMPTS):
            self._fetch_one(ref)
            old = self.repo.resolve(ref)
            files = build(old)
            tree = self.repo.write_tree(None, files)
            parents = [old] if old else []
            commit = self.repo.commit_tree(tree, parents, message)
            update = RefUpdate(ref, commit, old)
            cache = self.registry.cache
            if cache is not None:
                with cache.locked():
                    if self.repo.push_atomic("origin", [update]):
                        self._set_local(ref, commit)
                        return commit
            else:
                try:
                    self.repo.update_refs([update])
                    return commit
                except RefUpdateRejected:
                    pass
            time.sleep(min(0.05 * 2**attempt, 1.0))
        raise ConflictError(f"{ref} kept moving under other writers; gave up after {ATTEMPTS} attempts")

    def delete(self, tips: list[Tip]) -> None:
        """Remove record refs (each only if still at its commit)."""
        if not tips:
            return
        cache = self.registry.cache
        if cache is not None:
            refspecs = [f":{t.ref}" for t in tips]
            with cache.locked():
                self.repo.run(["push", "--quiet", "--atomic", "origin", *refspecs])
        lines = ["start", *(f"delete {t.ref} {t.commit}" for t in tips), "prepare", "commit", ""]
        self.repo.run(["update-ref", "--stdin"], input="\n".join(lines).encode())

    def _fetch_one(self, ref: str) -> None:
        cache = self.registry.cache
        if cache is None:
            return
        with cache.locked():
            self.repo.run(["fetch", "--quiet", "--no-write-fetch-head", "origin", f"+{ref}:{ref}"], check=False)

    def _set_local(self, ref: str, commit: str) -> None:
        self.repo.run(["update-ref", ref, commit])
