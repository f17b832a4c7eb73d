"""Usage tracking: ``pull --record-usage`` appends who pulled which version
of a model or dataset, when, from which host and what for, as a commit on
``refs/gitreg/usage/<model>`` (``core.records``) — beside the registry
branch, so a fleet of deploy hosts pulling never moves it. ``status``
shows the last use; ``uses`` lists them, newest first."""

from __future__ import annotations

import getpass
import socket
import time

from gitreg.core.records import Records
from gitreg.core.registry import Registry
from gitreg.core.snapshot import epoch, timestamp
from gitreg.documents import usage
from gitreg.documents.manifest import ModelVersion
from gitreg.documents.usage import Usage
from gitreg.errors import GitregError, UsageError

MAX_PURPOSE = 1024


def _who(registry: Registry) -> str:
    """The git identity, else ``user <user@host>`` (a deploy host may have none)."""
    try:
        return registry.repo.identity()
    except UsageError:
        user = getpass.getuser() or "unknown"
        return f"{user} <{user}@{socket.gethostname() or 'localhost'}>"


def check_purpose(purpose: str) -> str:
    if len(purpose) > MAX_PURPOSE or any(not c.isprintable() for c in purpose):
        raise UsageError(f"invalid purpose: at most {MAX_PURPOSE:,} printable characters on one line")
    return purpose


def record(registry: Registry, version: ModelVersion, ref: str, purpose: str = "") -> Usage:
    """Append a use of ``version`` (pulled as ``ref``)."""
    check_purpose(purpose)
    use = Usage(
        model=version.model,
        version=version.version,
        at=timestamp(time.time()),
        by=_who(registry),
        ref=ref[:512],
        host=socket.gethostname()[:255],
        purpose=purpose,
    )
    data = usage.render(use)
    Records(registry).write(usage.ref(use.model), lambda _tip: {usage.FILE: data}, f"Use {use.model} {use.version}")
    return use


def uses(registry: Registry, model: str, *, limit: int | None = None, before: float | None = None) -> list[Usage]:
    """The recorded uses of ``model``'s versions, newest first (those at or
    before ``before``, epoch seconds, when given)."""
    records = Records(registry)
    ref = usage.ref(model)
    tips = [t for t in records.tips(ref) if t.ref == ref]
    if not tips:
        return []
    commits = [row[0] for row in registry.repo.log(tips[0].commit, [], ["%H"])]
    found: list[Usage] = []
    blobs = registry.repo.read_commits_path(commits, usage.FILE)
    for commit in commits:
        data = blobs.get(commit)
        if data is None:
            continue
        try:
            use = usage.parse(data, f"{ref}@{commit[:10]}:{usage.FILE}")
        except GitregError:
            continue  # a record nobody could read is no use; the next one is
        if before is not None and epoch(use.at) > before:
            continue
        found.append(use)
        if limit is not None and len(found) >= limit:
            break
    return found


def last(registry: Registry, model: str, before: float | None = None) -> Usage | None:
    found = uses(registry, model, limit=1, before=before)
    return found[0] if found else None
