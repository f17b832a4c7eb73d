"""The commit transaction every write goes through (docs/design.md §2).

A ``Change`` (files, message, GTO tags) built against the branch tip is
written as objects, committed with ``commit-tree`` and landed by one
compare-and-swap that moves branch and tags together: ``update-ref`` in a
checkout, an atomic push for a registry given by URL. A lost race rebuilds
the change on the new tip, with jittered backoff. In a checkout, a journal
written before the branch moves lets the next process finish a checkout
update that a kill interrupted. Tags are named and timed as GTO expects.
The result is an ``Applied``; emitting events is the caller's business.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitreg.core.snapshot import Snapshot
from gitreg.documents import tags
from gitreg.errors import ConflictError
from gitreg.storage import failpoints, files
from gitreg.storage.git import RefUpdate, RefUpdateRejected, Repo

if TYPE_CHECKING:
    from gitreg.storage.cache import Cache

COMMIT_ATTEMPTS = 8
REMOTE_ATTEMPTS = 100


def _backoff(attempt: int) -> None:
    """Exponential backoff with full jitter, capped at four seconds: losers of
    a race spread out instead of colliding again (and starving the CPU)."""
    time.sleep(random.uniform(0, min(4.0, 0.1 * 2**attempt)))


def one_line(text: str) -> str:
    """``text`` as one line of printable characters (runs of whitespace and
    control characters become one space)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


@dataclass(frozen=True)
class TagSpec:
    """A GTO tag to create with the commit. Stage events get their counter
    when the commit is made; ``target`` None means the new commit."""

    event: tags.TagEvent
    version: str
    target: str | None = None
    part: int | None = None  # with no target: the commit of this part of the series (``before`` first)


@dataclass(frozen=True)
class Change:
    """One operation's effect: files to write (None: delete), the commit
    message parts, and the GTO tags that mirror it."""

    files: Mapping[str, bytes | None]
    summary: str
    trailers: Mapping[str, str]
    tags: Sequence[TagSpec] = ()
    result: Any = None
    before: Sequence[Change] = ()  # commits to make first, in order (each with its own tags)
    # events the commit signals beyond its operation's own (``core.events``): (kind, fields)
    events: Sequence[tuple[str, Mapping[str, Any]]] = ()
    when: float | None = None  # the commit's date (epoch seconds), when it replays history; else now
    author: str | None = None  # its author ('Name <email>'), when not the committer

    def all_files(self) -> dict[str, bytes | None]:
        """The files as the whole series leaves them."""
        files: dict[str, bytes | None] = {}
        for part in (*self.before, self):
            files |= part.files
        return files

    def message(self) -> str:
        """The commit message: the summary, a blank line, the trailers. Free
        text (reasons, sources, descriptions) arrives here from users and
        files: each trailer value is made one printable line and the summary
        keeps no control characters, so no text can add a trailer line of
        its own or reach a terminal that shows the log."""
        trailer_lines = "".join(f"{k}: {one_line(v)}\n" for k, v in self.trailers.items())
        summary = "\n".join(one_line(line) for line in self.summary.splitlines())
        return f"{summary}\n\n{trailer_lines}"


@dataclass(frozen=True)
class Applied:
    commit: str
    change: Change
    tag_names: tuple[str, ...] = field(default=())
    attempts: int = 1  # how many times the change was built before it landed


class Transaction:
    """Lands changes on a registry's branch: ``repo`` (a checkout, or the
    private clone of a registry given by URL, whose ``cache`` is then
    pushed to), ``name`` how messages call the registry."""

    def __init__(self, repo: Repo, cache: Cache | None, name: str) -> None:
        self.repo = repo
        self.cache = cache
        self.name = name

    def branch_ref(self) -> str:
        ref = self.repo.head_ref()
        if ref is None:
            raise ConflictError(f"{self.repo.root}: HEAD is detached; check out the registry branch first")
        return ref

    def apply(self, build: Callable[[Snapshot], Change], *, branch: str | None = None) -> Applied:
        """Land ``build``'s change as one commit (plus tags) on the branch.

        ``build`` runs against the branch tip and must check everything it
        relies on; if another writer moves the branch first, it runs again on
        the new tip (bounded, with jittered backoff).

        With ``branch``, the commit goes on a new branch of that name instead
        (for a pull request): no tags (they cannot travel with a PR; `gitreg
        tags sync` adds them after the merge) and no change to the checkout.
        """
        if self.cache is not None and branch is None:
            applied = self._apply_remote(build, self.cache)
        elif self.cache is not None:
            with self.cache.locked():
                applied = self._apply_local(build, branch)
        else:
            applied = self._apply_local(build, branch)
        return applied

    def _apply_local(self, build: Callable[[Snapshot], Change], branch: str | None) -> Applied:
        ref = self.branch_ref()
        target = f"refs/heads/{self.repo.check_branch_name(branch)}" if branch is not None else ref
        for attempt in range(COMMIT_ATTEMPTS):
            head = self.repo.resolve(ref)
            change = build(Snapshot(self.repo, head))
            if branch is None:
                dirty = self.repo.dirty_paths(change.all_files())
                if dirty:
                    raise ConflictError(f"{dirty[0]} has uncommitted changes; commit or stash them first")
            commit, specs = self._commit_series(head, change)
            if branch is not None:
                try:
                    self.repo.update_refs([RefUpdate(target, commit, None)])
                except RefUpdateRejected:
                    raise ConflictError(f"branch {branch!r} already exists; name another with --branch NAME") from None
                return Applied(commit, change)
            updates = [RefUpdate(ref, commit, head), *self._tag_updates(specs, commit)]
            failpoints.reach("after-commit")
            files = change.all_files()
            present = [p for p, data in files.items() if data is not None]
            removed = [p for p, data in files.items() if data is None]
            self._journal(commit, present, removed)
            try:
                self.repo.update_refs(updates)
            except RefUpdateRejected:
                self._journal_path().unlink(missing_ok=True)
                _backoff(attempt)
                continue
            failpoints.reach("after-ref")
            self.repo.checkout_paths(commit, present, removed)
            self._journal_path().unlink(missing_ok=True)
            return Applied(commit, change, tuple(u.ref.removeprefix("refs/tags/") for u in updates[1:]), attempt + 1)
        raise ConflictError(
            f"the registry branch kept moving under concurrent writers; gave up after {COMMIT_ATTEMPTS} attempts"
        )

    def _journal_path(self) -> Path:
        return self.repo.git_dir / "gitreg-sync.json"

    def _journal(self, commit: str, present: Sequence[str], removed: Sequence[str]) -> None:
        """Note, before the branch moves, which paths the checkout must then
        follow: a process killed in between is completed by ``recover``."""
        if self.repo.bare:
            return
        note = {"commit": commit, "present": list(present), "removed": list(removed)}
        files.atomic_write(self._journal_path(), json.dumps(note).encode())

    def recover(self) -> None:
        """Finish what a killed gitreg left half done in this checkout: if the
        branch moved but the index and working tree did not follow, bring the
        paths it wrote up to date — those the user has not touched since."""
        journal = self._journal_path()
        if self.repo.bare or not journal.is_file():
            return
        try:
            note = json.loads(journal.read_text())
            commit, present, removed = note["commit"], note["present"], note["removed"]
        except (ValueError, KeyError, TypeError):
            journal.unlink(missing_ok=True)
            return
        ref = self.repo.head_ref()
        tip = self.repo.resolve(ref) if ref else None
        if tip is not None and self.repo.is_ancestor(commit, tip):
            touched = set(
                self.repo.differing_paths(
                    f"{commit}^" if self.repo.resolve(f"{commit}^") else None, [*present, *removed]
                )
            )
            self.repo.checkout_paths(
                commit, [p for p in present if p not in touched], [p for p in removed if p not in touched]
            )
        journal.unlink(missing_ok=True)

    def _apply_remote(self, build: Callable[[Snapshot], Change], cache: Cache) -> Applied:
        """The commit loop against the remote: fetch, build on its tip, push
        branch and tags atomically (never forced). A rejected push means
        another writer got there first: back off, fetch, rebuild, retry."""
        for attempt in range(REMOTE_ATTEMPTS):
            with cache.locked():
                if attempt:
                    cache.fetch()
                ref = self.branch_ref()
                head = self.repo.resolve(ref)
                change = build(Snapshot(self.repo, head))
                commit, specs = self._commit_series(head, change)
                updates = [RefUpdate(ref, commit, head), *self._tag_updates(specs, commit)]
                failpoints.reach("after-commit")
                if self.repo.push_atomic("origin", updates):
                    failpoints.reach("after-push")
                    self.repo.update_refs(updates)  # the clone follows what the remote accepted
                    tag_names = tuple(u.ref.removeprefix("refs/tags/") for u in updates[1:])
                    return Applied(commit, change, tag_names, attempt + 1)
            _backoff(attempt)
        raise ConflictError(
            f"the registry {self.name} kept moving under concurrent writers; gave up after {REMOTE_ATTEMPTS} "
            "attempts (nothing was written)"
        )

    def _commit_series(self, head: str | None, change: Change) -> tuple[str, list[TagSpec]]:
        """Commit ``change.before`` and then ``change`` on ``head`` (no ref
        moves); the last commit, and every tag spec aimed at its own commit."""
        parent = head
        specs: list[TagSpec] = []
        commit = ""
        made: list[str] = []
        for part in (*change.before, change):
            tree = self.repo.write_tree(parent, part.files)
            failpoints.reach("after-objects")
            commit = self.repo.commit_tree(
                tree, [parent] if parent else [], part.message(), when=part.when, author=part.author
            )
            made.append(commit)
            specs += [
                s if s.target else dataclasses.replace(s, target=made[s.part] if s.part is not None else commit)
                for s in part.tags
            ]
            parent = commit
        return commit, specs

    def _tag_updates(self, specs: Sequence[TagSpec], commit: str | None) -> list[RefUpdate]:
        """Annotated tag objects for ``specs`` (``commit`` for specs without a
        target), as ref creations for one transaction."""
        updates = []
        tagger = self.repo.identity() if specs else ""
        planned = self._plan_tags(specs)
        latest = max((when for _, _, when in planned), default=0)
        while time.time() < latest:  # tag times are real: wait for the second a tag must carry
            time.sleep(min(1.0, latest - time.time()) + 0.001)
        for spec, event, when in planned:
            name = event.name()
            target = spec.target or commit
            if target is None:
                raise ValueError(f"tag {name} has no target")
            tag_oid = self.repo.make_tag(name, target, event.message(spec.version), tagger, when)
            updates.append(RefUpdate(f"refs/tags/{name}", tag_oid, None))
        return updates

    def tag_names(self, specs: Sequence[TagSpec]) -> list[str]:
        """The names ``specs`` would get (counters included), creating nothing."""
        return [event.name() for _, event, _ in self._plan_tags(specs)]

    def create_tags(self, specs: Sequence[TagSpec]) -> list[str]:
        """Create tags (each with an explicit target) in one transaction."""
        updates = self._tag_updates(specs, None)
        if updates:
            self.repo.update_refs(updates)
        return [u.ref.removeprefix("refs/tags/") for u in updates]

    def _plan_tags(self, specs: Sequence[TagSpec]) -> list[tuple[TagSpec, tags.TagEvent, int]]:
        """Name and time each tag as GTO expects: stage events numbered 1 + the
        highest counter among the model's tags; tagger times the real time,
        and strictly after every earlier tag GTO orders it against: a
        version's assignments and unassignments of one stage, or its
        registrations and deregistrations (GTO sorts each of those by tagger
        time at one-second resolution; a version's tags all point at its
        registration commit). A time later than now is waited for by the
        caller, never written ahead of the clock."""
        planned = []
        names: dict[str, list[str]] = {}
        last: dict[tuple[str, str, str], int] = {}  # (model, target commit, stage or "") -> latest tagger time
        for spec in specs:
            model = spec.event.model
            if model not in names:
                rows = self.repo.tag_targets(tags.model_patterns(model))
                names[model] = [name for name, _, _ in rows]
                for name, target, stamp in rows:
                    parsed = tags.parse(name)
                    key = (model, target, (parsed.stage or "") if parsed else "")
                    last[key] = max(last.get(key, 0), stamp)
            event = spec.event
            if event.action in ("assign", "unassign"):
                event = dataclasses.replace(event, counter=tags.next_counter(names[model], model))
            key = (model, spec.target or "", event.stage or "")
            when = max(int(time.time()), last.get(key, 0) + 1)
            names[model].append(event.name())
            last[key] = when
            planned.append((spec, event, when))
        return planned
