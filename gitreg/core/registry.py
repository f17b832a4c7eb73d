"""A registry repository on this machine: opened by path or URL, read at
any revision or date through snapshots, written through its transaction
(``core.transaction``), each landed commit announced to ``core.events``."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gitreg import lazy
from gitreg.core import events
from gitreg.core.snapshot import Resolved, Snapshot
from gitreg.core.transaction import Applied, Change, Transaction
from gitreg.documents import layout
from gitreg.errors import NotFoundError, UsageError
from gitreg.storage import credentials
from gitreg.storage import location as locations
from gitreg.storage.git import RefUpdate, Repo

if TYPE_CHECKING:
    from gitreg.storage import cache as caches
    from gitreg.storage.cache import Cache
else:  # loaded by the commands that need them
    caches = lazy.module("gitreg.storage.cache")


class Registry:
    """A registry: a checkout on this machine, or (given by URL) a private
    clone that is fetched before reading and pushed to after writing."""

    def __init__(self, repo: Repo, cache: Cache | None = None) -> None:
        self.repo = repo
        self.cache = cache
        self.transaction = Transaction(repo, cache, self.name)
        # ref -> (branch tip, registration tag name, its target, answer); see locate
        self._located: dict[str, tuple[str | None, str, str | None, Resolved]] = {}

    @classmethod
    def open(cls, location: str | os.PathLike[str] | None = None, *, offline: bool = False) -> Registry:
        """The registry at ``location`` (see ``gitreg.storage.location``). A URL is
        fetched now unless ``offline``, so reads see the remote's state."""
        where = locations.resolve(location)
        if not where.remote:
            registry = cls(Repo(where.value))
            registry.transaction.recover()
            return registry
        cache = caches.Cache(where.value)
        with cache.locked():
            if offline and not cache.repo_dir.is_dir():
                raise NotFoundError(f"no cached copy of {credentials.redact(where.value)}: run once without --offline")
            fresh = not cache.repo_dir.is_dir()
            repo = cache.repo()
            if not offline and not fresh:
                cache.fetch()
        return cls(repo, cache)

    @property
    def root(self) -> Path:
        return self.repo.root

    @property
    def name(self) -> str:
        """How messages name the registry: its URL, or its folder."""
        return credentials.redact(self.cache.url) if self.cache else str(self.root)

    def dvc_root(self, snap: Snapshot) -> Path:
        """The folder whose .dvc/ configures the artifact store."""
        if self.cache is None:
            return self.root
        data = snap.read_files([layout.DVC_CONFIG_PATH])[layout.DVC_CONFIG_PATH]
        return self.cache.dvc_dir(data)

    def branch_ref(self) -> str:
        return self.transaction.branch_ref()

    def snapshot(self, rev: str | None = None) -> Snapshot:
        if rev is None:
            ref = self.repo.head_ref()
            commit = self.repo.resolve(ref) if ref else self.repo.resolve("HEAD")
        else:
            commit = self.repo.resolve(rev)
            if commit is None:
                raise NotFoundError(f"revision {rev!r} does not exist in {self.root}")
        return Snapshot(self.repo, commit)

    def snapshot_at(self, at: str | None) -> Snapshot:
        """The registry as it was at ``at``: a revision (commit, tag, branch,
        ``HEAD~3``) or a date/time in ISO 8601 (a date alone means the end of
        that day, UTC); None is now. A time picks the last commit on the
        registry branch's first-parent line made at or before it."""
        if at is None:
            return self.snapshot()
        when = parse_when(at)
        if when is None:
            return self.snapshot(at)
        now = self.snapshot()
        found = self.repo.last_before(now.commit, int(when.timestamp())) if now.commit else None
        if found is None:
            raise NotFoundError(f"the registry {self.name} has no commits on or before {at}")
        return Snapshot(self.repo, found)

    def locate(self, ref: str) -> Resolved:
        """``Snapshot.locate`` at the branch tip, for services that resolve
        the same references over and over: the answer is remembered with the
        tip and the registration tag it was computed from, and reused while
        one read of both finds them unchanged (a new commit or a moved tag
        is noticed on the next call)."""
        branch = self.repo.head_ref() or "HEAD"
        known = self._located.get(ref)
        if known is None:
            tip = self.repo.resolve(branch)
        else:
            tip, tagged = self.repo.resolve_many([branch, known[1]])
            if (tip, tagged) == (known[0], known[2]):
                return known[3]
        snap = Snapshot(self.repo, tip)
        answer = snap.locate(ref)
        tag = f"refs/tags/{answer.model}@v{answer.version}"
        if len(self._located) >= 4096:
            self._located.clear()
        tip, tagged = self.repo.resolve_many([branch, tag])
        if tip == snap.commit:  # nothing moved while this was computed
            self._located[ref] = (tip, tag, tagged, answer)
        return answer

    def apply(self, build: Callable[[Snapshot], Change], *, branch: str | None = None) -> Applied:
        """``Transaction.apply``, then the commit is told to ``core.events``
        (the operation's event and the registry's subscriptions)."""
        applied = self.transaction.apply(build, branch=branch)
        change = applied.change
        events.committed(self, applied.commit, dict(change.trailers), applied.tag_names, change.events)
        return applied

    def push_branch(self, name: str) -> str | None:
        """Push a pull-request branch to ``origin``, if the checkout has one;
        returns the remote pushed to."""
        if "origin" not in self.repo.remotes():
            return None
        branch = f"refs/heads/{name}"
        self.repo.push("origin", [RefUpdate(branch, str(self.repo.resolve(branch)), None)])
        return "origin"


_WHEN = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")


def parse_when(text: str) -> datetime | None:
    """An ISO 8601 date or date-time as an aware datetime (UTC unless the text
    has an offset; a bare date is the last second of that day), or None when
    ``text`` is not shaped like one (then it is a revision)."""
    if not _WHEN.fullmatch(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"invalid date {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]") from None
    if len(text) == len("YYYY-MM-DD"):
        parsed = parsed.replace(hour=23, minute=59, second=59)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
