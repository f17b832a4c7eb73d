"""GTO's tag grammar (gto 1.10.1) as data: formats, parser and default messages.

Tags mirror the files on the registry branch for GTO, ``git describe`` and
tag-driven CI. ``parse(format(x)) == x`` holds for every event kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Action = Literal["register", "deregister", "deprecate", "assign", "unassign"]

_SEMVER = (
    r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
    r"(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)
_NAME = r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?"
_TAG_RE = re.compile(
    rf"^(?P<model>{_NAME}(?:/{_NAME})?)(?:"
    rf"@v(?P<version>{_SEMVER})(?P<vcancel>!?)"
    rf"|@(?P<deprecated>deprecated)"
    rf"|#(?P<stage>{_NAME})(?P<scancel>!?)"
    rf")(?:#(?P<counter>[0-9]+))?$"
)


@dataclass(frozen=True)
class TagEvent:
    action: Action
    model: str
    version: str | None = None
    stage: str | None = None
    counter: int | None = None

    def name(self) -> str:
        base = {
            "register": f"{self.model}@v{self.version}",
            "deregister": f"{self.model}@v{self.version}!",
            "deprecate": f"{self.model}@deprecated",
            "assign": f"{self.model}#{self.stage}",
            "unassign": f"{self.model}#{self.stage}!",
        }[self.action]
        return base if self.counter is None else f"{base}#{self.counter}"

    def message(self, version: str | None = None) -> str:
        """GTO's default annotation; ``version`` names the version a stage
        event is about (stage tags do not carry it in their name)."""
        v = self.version or version
        return {
            "register": f"Registering artifact {self.model} version v{v}",
            "deregister": f"Deregistering artifact {self.model} version v{v}",
            "deprecate": f"Deprecating artifact '{self.model}'",
            "assign": f"Assigning stage {self.stage} to artifact {self.model} version v{v}",
            "unassign": f"Unassigning stage '{self.stage}' to artifact '{self.model}' version 'v{v}'",
        }[self.action]


def register(model: str, version: str) -> TagEvent:
    return TagEvent("register", model, version=version)


def parse(name: str) -> TagEvent | None:
    """The event a tag name records, or None for tags outside the grammar."""
    m = _TAG_RE.fullmatch(name)
    if not m:
        return None
    counter = int(m["counter"]) if m["counter"] else None
    model = m["model"]
    if m["version"]:
        action: Action = "deregister" if m["vcancel"] else "register"
        return TagEvent(action, model, version=m["version"], counter=counter)
    if m["deprecated"]:
        return TagEvent("deprecate", model, counter=counter)
    action = "unassign" if m["scancel"] else "assign"
    return TagEvent(action, model, stage=m["stage"], counter=counter)


def patterns(*suffixes: str) -> list[str]:
    """``for-each-ref`` patterns for tags ending in ``suffixes`` (e.g.
    ``"@v*"``) of every model, namespaced ones included (a pattern's ``*``
    does not cross the ``/`` of ``NAMESPACE/NAME``)."""
    return [f"{depth}{suffix}" for suffix in suffixes for depth in ("*", "*/*")]


def model_patterns(model: str) -> list[str]:
    """``for-each-ref`` patterns matching every tag of ``model``."""
    return [f"{model}@*", f"{model}#*"]


def next_counter(tag_names: Iterable[str], model: str) -> int:
    """1 + the highest counter among the model's tags (GTO's numbering)."""
    highest = 0
    for name in tag_names:
        event = parse(name)
        if event and event.model == model and event.counter is not None:
            highest = max(highest, event.counter)
    return highest + 1


@dataclass(frozen=True)
class Found:
    """A tag in the repository, read: its event, name, the commit it points
    at, its tagger time (0 if none) and tagger."""

    event: TagEvent
    name: str
    target: str
    when: int
    tagger: str


def ordered(rows: Iterable[tuple[str, str, int, str]]) -> list[Found]:
    """The tags among ``rows`` (name, target, tagger time, tagger; as
    ``Repo.tag_details`` lists them) that are in the grammar, in the order
    GTO gives their events: by tagger time, then counter."""
    found = [Found(event, name, target, when, tagger) for name, target, when, tagger in rows if (event := parse(name))]
    return sorted(found, key=lambda t: (t.when, t.event.counter or 0))
