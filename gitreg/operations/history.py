"""The audit trail: what git's history says happened to a model.

These are the only reads that walk history, and only the history of one
model's files: the trail (``events``) and the holders a stage has had
(``holders``, for rollback and the stage-order policy).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitreg.documents import gates, layout, manifest
from gitreg.documents.manifest import Model, ModelVersion, StagePointer
from gitreg.errors import InvalidDocumentError
from gitreg.storage.git import Repo

_FIELDS = ["%H", "%aI", "%an <%ae>", "%s", "%(trailers:only,unfold)"]


@dataclass(frozen=True)
class Event:
    commit: str
    at: str
    by: str
    action: str  # a Gitreg-Action, or "manual" for commits gitreg did not make
    model: str
    version: str | None
    stage: str | None
    previous: str | None  # for pointer moves: the version that held the stage before
    reason: str
    summary: str


def pointer(data: bytes | None, path: str) -> StagePointer | None:
    """A pointer file's document as history holds it (None: absent or broken)."""
    if data is None:
        return None
    try:
        found: StagePointer = manifest.parse(data, StagePointer, path)
    except InvalidDocumentError:
        return None  # a broken pointer in history holds nothing; `gitreg check` reports it
    return found


def _pointer_version(data: bytes | None, path: str) -> str | None:
    found = pointer(data, path)
    return found.version if found else None


def holders(repo: Repo, head: str, models_dir: str, model: str, stage: str) -> list[tuple[str, str | None]]:
    """(commit, version holding ``stage`` after it) for each commit on
    ``head``'s first-parent line that changed the stage's pointer file,
    newest first (None: no holder). Only the branch's own line counts: a
    merged pull request counts from its merge, never from the commits on its
    branch, which no check judged one by one (a version set there and set
    back within the same pull request never held the stage)."""
    return [(commit, version) for commit, version, _ in _moves(repo, head, models_dir, model, stage)]


def _moves(repo: Repo, head: str, models_dir: str, model: str, stage: str) -> list[tuple[str, str | None, str]]:
    """``holders``, each with its commit's ``Gitreg-Action`` ("" for none)."""
    path = layout.stage_path(models_dir, model, stage)
    rows = repo.log(head, [path], ["%H", "%(trailers:key=Gitreg-Action,valueonly)"], ["--first-parent"])
    contents = repo.read_commits_path([commit for commit, _ in rows], path)
    return [(commit, _pointer_version(contents[commit], path), action.strip()) for commit, action in rows]


@dataclass(frozen=True)
class Holding:
    """A version that rightfully came to hold a stage, and when."""

    commit: str
    version: str
    document: ModelVersion  # its manifest at that commit
    action: str = ""  # the commit's Gitreg-Action ("" for a commit gitreg did not make)


def _parse_or_none(data: bytes | None, kind: type[Any], path: str) -> Any:
    if data is None:
        return None
    try:
        return manifest.parse(data, kind, path)
    except InvalidDocumentError:
        return None


def rightful(repo: Repo, head: str, models_dir: str, model: str, stage: str) -> list[Holding]:
    """``_rightful``; at a commit id (what it reads cannot change) the answer
    is remembered: ``deploy`` and ``status`` ask it once per candidate
    version (25 versions: 24 git logs of one pointer file, 0.23 of 0.55 s)."""
    if not _COMMIT.fullmatch(head):
        return _rightful(repo, head, models_dir, model, stage)
    key = (str(repo.git_dir), head, models_dir, model, stage)  # the repository by its folder: no process kept
    found = _REMEMBERED.get(key)
    if found is None:
        if len(_REMEMBERED) >= 256:
            _REMEMBERED.clear()
        found = _REMEMBERED[key] = tuple(_rightful(repo, head, models_dir, model, stage))
    return list(found)


_COMMIT = re.compile(r"[0-9a-f]{40}")
_REMEMBERED: dict[tuple[str, str, str, str, str], tuple[Holding, ...]] = {}


def _rightful(repo: Repo, head: str, models_dir: str, model: str, stage: str) -> list[Holding]:
    """The moves of ``stage`` on ``head``'s first-parent line that were
    legitimate, oldest first: the move passed the stage's gates as they were
    just before (model.yaml and the holder read at the commit's first
    parent), or it returned a version that had rightfully held the stage,
    with the same registered core (``manifest.same_registration``).

    A merged pull request counts from its merge; a commit that a fast-forward
    or rebase merge put on the line counts only if its own move passed, so a
    version set there and set back within one pull request never held the
    stage, and a version file removed and written again is a new version.
    What rollback may restore, and what "must have held" means, both read
    this."""
    moves = [(c, v, a) for c, v, a in reversed(_moves(repo, head, models_dir, model, stage)) if v]
    if not moves:
        return []
    model_path = layout.model_path(models_dir, model)
    pointer_path = layout.stage_path(models_dir, model, stage)
    names = []
    for commit, version, _ in moves:
        version_path = layout.version_path(models_dir, model, version)
        names += [f"{commit}:{version_path}", f"{commit}^:{version_path}", f"{commit}^:{model_path}"]
        names.append(f"{commit}^:{pointer_path}")
    blobs = repo.read_objects(names)
    before: dict[str, str] = {}  # commit -> the version holding the stage at its first parent
    for commit, _, _ in moves:
        pointer = _parse_or_none(blobs[f"{commit}^:{pointer_path}"], StagePointer, pointer_path)
        if isinstance(pointer, StagePointer):
            before[commit] = pointer.version
    holder_blobs = repo.read_objects([f"{c}^:{layout.version_path(models_dir, model, v)}" for c, v in before.items()])
    found: list[Holding] = []
    for commit, version, action in moves:
        path = layout.version_path(models_dir, model, version)
        held = _parse_or_none(blobs[f"{commit}:{path}"], ModelVersion, path)
        if not isinstance(held, ModelVersion) or (held.model, held.version) != (model, version):
            continue
        if any(h.version == version and manifest.same_registration(h.document, held) for h in found):
            found.append(Holding(commit, version, held, action))  # a return to a rightful holder
            continue
        described = _parse_or_none(blobs[f"{commit}^:{model_path}"], Model, model_path)
        if not isinstance(described, Model):
            continue
        holder = None
        if commit in before:
            holder_path = layout.version_path(models_dir, model, before[commit])
            holder = _parse_or_none(holder_blobs[f"{commit}^:{holder_path}"], ModelVersion, holder_path)
        # approvals as they were before the move: one added with it does not count
        before_move = _parse_or_none(blobs[f"{commit}^:{path}"], ModelVersion, path)
        approved = before_move.approvals if isinstance(before_move, ModelVersion) else ()
        judged = dataclasses.replace(held, approvals=approved)
        results = gates.evaluate(described, stage, judged, holder)
        if all(g.passed for g in results):
            found.append(Holding(commit, version, held, action))
    return found


def held(repo: Repo, head: str, models_dir: str, model: str, version: str, stages: Sequence[str]) -> tuple[str, ...]:
    """Which of ``stages`` ``version`` rightfully held on ``head``'s line
    (``rightful``): the stage order's "must have held", as ``promote`` and
    ``gitreg check`` both read it."""
    return tuple(s for s in stages if any(h.version == version for h in rightful(repo, head, models_dir, model, s)))


def action_for(said: Mapping[str, str], model: str) -> str:
    """What a commit with trailers ``said`` did to ``model``: its
    ``Gitreg-Action``, or "manual" when gitreg did not make it or made it for
    other models (gc names every model it touched)."""
    if model not in said.get("Gitreg-Model", model).split(", "):
        return "manual"
    return said.get("Gitreg-Action", "manual")


def trailers(text: str) -> dict[str, str]:
    """A commit's ``Gitreg-*`` trailers (``%(trailers:only,unfold)``)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith("Gitreg-"):
            found[key] = value.strip()
    return found


def events(repo: Repo, head: str, models_dir: str, model: str, stage: str | None = None) -> list[Event]:
    """The model's history, newest first; with ``stage``, only the moves of
    that stage's pointer, each with the version before and after, whether
    gitreg made the commit or not (a ``git revert`` shows up as such)."""
    path = layout.stage_path(models_dir, model, stage) if stage else layout.model_dir(models_dir, model)
    rows = repo.log(head, [path], _FIELDS)
    pointer_paths = [layout.stage_path(models_dir, model, stage)] if stage else []
    needed = [f"{row[0]}:{p}" for row in rows for p in pointer_paths] + [
        f"{row[0]}^:{p}" for row in rows for p in pointer_paths
    ]
    contents = repo.read_objects(needed)
    result = []
    for commit, at, by, subject, trailer_text in rows:
        said = trailers(trailer_text)
        action = action_for(said, model)
        version = said.get("Gitreg-Version")
        previous = said.get("Gitreg-From")
        event_stage = said.get("Gitreg-Stage")
        reason = said.get("Gitreg-Reason", "")
        if stage:
            p = pointer_paths[0]
            after = pointer(contents.get(f"{commit}:{p}"), p)
            before = _pointer_version(contents.get(f"{commit}^:{p}"), p)
            version, previous, event_stage = (after.version if after else None), before, stage
            if after and not reason:
                reason = after.reason
        result.append(Event(commit, at, by, action, model, version, event_stage, previous, reason, subject))
    return result
