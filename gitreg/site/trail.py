"""What the site needs from history, from one walk of the registry branch.

``git log --first-parent --raw`` lists every file each commit on the branch's
own line changed (a merged pull request counts from its merge, as
``history.holders`` counts it); from it come each model's stage moves (the
pointer blobs before and after, read later by whoever renders them), each
model's last activity, and the newest commits for the Changes page.

The walk costs what git's tree diffs cost: 8.7 s for the 100 commits of the
1,000 x 100 benchmark registry, each of which changes 2,000 files. It is
therefore kept with the site (``Trail.to_doc``) and continued from the commit
it reached: a rebuild after one promotion diffs one commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitreg.documents import layout
from gitreg.operations import history
from gitreg.storage.git import Repo

RECENT = 100  # commits the Changes page shows
_ZERO = "0" * 40
_FIELDS = "%x1e%H%x1f%at%x1f%an <%ae>%x1f%s%x1f%(trailers:only,unfold)%x1f"
KEPT = 20  # changes kept (and shown) of one commit (a generated registry's commits change thousands of files)


@dataclass(frozen=True)
class Move:
    """One commit's change of one stage pointer file (blob ids, None: absent)."""

    commit: str
    at: str  # UTC, to the second
    by: str  # the commit's author; the pointer names who promoted
    action: str  # the commit's Gitreg-Action, or "manual"
    reason: str  # its Gitreg-Reason; for a commit gitreg did not make, its subject
    stage: str
    before: str | None
    after: str | None

    def to_doc(self) -> list[Any]:
        return [self.commit, self.at, self.by, self.action, self.reason, self.stage, self.before, self.after]


@dataclass(frozen=True)
class Changed:
    """One file a commit changed, as the registry's layout names it."""

    status: str  # A, M, D (T for a type change)
    kind: str  # model, version, stage, signature, dvc, unexpected; config; other
    model: str
    name: str  # the version or stage ("" for others); the path for "other"
    before: str | None  # blob ids
    after: str | None


@dataclass(frozen=True)
class Commit:
    id: str
    at: str
    by: str
    subject: str
    trailers: Mapping[str, str]
    changes: tuple[Changed, ...]  # the first KEPT
    total: int  # how many files it changed

    @property
    def action(self) -> str:
        return self.trailers.get("Gitreg-Action", "manual")

    def to_doc(self) -> dict[str, Any]:
        changes = [[c.status, c.kind, c.model, c.name, c.before, c.after] for c in self.changes]
        return {"id": self.id, "at": self.at, "by": self.by, "subject": self.subject} | {
            "trailers": dict(self.trailers),
            "changes": changes,
            "total": self.total,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Commit:
        changes = tuple(Changed(*c) for c in doc["changes"])
        return cls(doc["id"], doc["at"], doc["by"], doc["subject"], dict(doc["trailers"]), changes, doc["total"])


@dataclass
class Trail:
    """Stage moves per model (oldest first), each model's last activity, and
    the newest commits (newest first), up to ``head``."""

    head: str | None = None
    models_dir: str = "models"
    moves: dict[str, list[Move]] = field(default_factory=dict)
    activity: dict[str, str] = field(default_factory=dict)
    recent: list[Commit] = field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "models_dir": self.models_dir,
            "moves": {m: [x.to_doc() for x in moves] for m, moves in self.moves.items()},
            "activity": self.activity,
            "recent": [c.to_doc() for c in self.recent],
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Trail:
        moves = {m: [Move(*x) for x in rows] for m, rows in doc["moves"].items()}
        recent = [Commit.from_doc(c) for c in doc["recent"]]
        return cls(doc["head"], doc["models_dir"], moves, dict(doc["activity"]), recent)


def _classify(models_dir: str, path: str) -> tuple[str, str, str]:
    if path == layout.CONFIG_PATH:
        return "config", "", ""
    where = layout.classify(models_dir, path)
    if where is None:
        return "other", "", path
    if where.kind == "signature":
        return "signature", where.model, where.name
    return where.kind, where.model, where.name


def walk(repo: Repo, head: str, models_dir: str, since: Trail | None = None) -> Trail:
    """The trail up to ``head``: ``since``'s continued when its head is an
    ancestor of ``head`` and its layout is the same, else walked anew."""
    known = since if since and since.head and since.models_dir == models_dir else None
    if known and known.head != head and not repo.is_ancestor(str(known.head), head):
        known = None
    trail = Trail(head, models_dir) if known is None else Trail(head, models_dir, known.moves, known.activity)
    span = head if known is None else f"{known.head}..{head}"
    commits = _log(repo, span, models_dir) if known is None or known.head != head else []
    for commit in reversed(commits):  # oldest first
        for change in commit.changes:
            if change.model:  # the newest commit touching the model is its last activity
                trail.activity[change.model] = commit.at
            if change.kind == "stage":
                action = history.action_for(commit.trailers, change.model)
                reason = commit.trailers.get("Gitreg-Reason", "") if action != "manual" else commit.subject
                move = Move(commit.id, commit.at, commit.by, action, reason, change.name, change.before, change.after)
                trail.moves.setdefault(change.model, []).append(move)
    newest = [dataclasses.replace(c, changes=c.changes[:KEPT]) for c in commits[:RECENT]]
    trail.recent = (newest + (known.recent if known else []))[:RECENT]
    return trail


def _log(repo: Repo, span: str, models_dir: str) -> list[Commit]:
    """The commits of ``span`` on its first-parent line, newest first."""
    args = ["log", "--first-parent", "--diff-merges=first-parent", "--raw", "-z", "--no-abbrev", "--no-renames"]
    out = repo.run([*args, f"--format={_FIELDS}", span, "--"])[1]
    commits = []
    for record in out.split(b"\x1e")[1:]:
        head, _, raw = record.rpartition(b"\x1f")
        oid, epoch, by, subject, trailer_text = head.decode("utf-8", "replace").split("\x1f")
        at = datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        commits.append(Commit(oid, at, by, subject, history.trailers(trailer_text), *_changes(raw, models_dir)))
    return commits


def _changes(raw: bytes, models_dir: str) -> tuple[tuple[Changed, ...], int]:
    """The changes of one commit: all of them while walking (the trail
    needs every stage move); a commit is cut to KEPT when kept."""
    fields = raw.lstrip(b"\n\0").split(b"\0")
    found = []
    for i in range(0, len(fields) - 1, 2):
        meta = fields[i].decode().lstrip("\n:").split(" ")
        if len(meta) < 5:
            continue
        path = fields[i + 1].decode("utf-8", "surrogateescape")
        kind, model, name = _classify(models_dir, path)
        before = None if meta[2] == _ZERO else meta[2]
        after = None if meta[3] == _ZERO else meta[3]
        found.append(Changed(meta[4][0], kind, model, name, before, after))
    return tuple(found), len(found)


def pointer_blobs(moves: Sequence[Move]) -> list[str]:
    """The blob ids a rendering of ``moves`` reads."""
    return sorted({oid for m in moves for oid in (m.before, m.after) if oid})
