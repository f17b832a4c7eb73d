"""The registry's ``dvc.yaml``: one ``artifacts:`` entry per model, naming the
bytes of its most recently registered version.

DVC's model-registry commands (``dvc artifacts get REGISTRY MODEL --stage S``
or ``--rev vX``, DVC Studio) find a version by its GTO tag, then read
``dvc.yaml`` *at the commit the tag points at* for the artifact's path. The
tag points at the version's registration commit, so that commit's entry must
name that version: every registration rewrites its model's entry (the path
its DVC pointer pulls to, ``versions/<version>/<artifact path>``), and the
checker holds a change to exactly that. When the named version is removed
(``gitreg gc``), or a registry written before this file existed is upgraded,
the entry names the model's highest remaining version.

The file is derived and owned by gitreg: a hand edit is a violation. Models
whose name has a ``.`` get no entry: DVC's artifact names are GTO's (letters,
digits, ``-``, ``_``, ``/``). An entry's ``type`` is ``dataset`` for a
dataset's version (one with data metadata), else ``model``: what GTO and
DVC Studio show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from gitreg.documents import layout, yamlio
from gitreg.documents.manifest import ModelVersion
from gitreg.documents.names import Version
from gitreg.errors import InvalidDocumentError

PATH = "dvc.yaml"
HEADER = (
    "# Written by gitreg, derived from the manifests: each model's most recently registered version,\n"
    "# for `dvc artifacts get` and DVC Studio. A hand edit is a violation of `gitreg check`.\n"
)


_NOT_OURS = (
    "gitreg writes this file (an artifacts: entry per model) and holds nothing else there: "
    "move stages or other artifacts to a dvc.yaml in a subfolder"
)


def listed(model: str) -> bool:
    """Whether DVC can name ``model`` as an artifact."""
    return "." not in model


class Entry(NamedTuple):
    """An ``artifacts:`` entry: where DVC finds the bytes, and their kind."""

    path: str
    type: str = "model"


TYPES = ("model", "dataset")


def entry_path(models_dir: str, document: ModelVersion) -> str:
    """Where the version's DVC pointer pulls its artifact to."""
    return f"{layout.versions_dir(models_dir, document.model)}/{document.version}/{document.artifact.path}"


def entry(models_dir: str, document: ModelVersion) -> Entry:
    """The entry naming ``document``."""
    return Entry(entry_path(models_dir, document), "dataset" if document.data is not None else "model")


# Every registration reads and rewrites the file (an entry per model). Names
# and paths that any YAML reader takes as plain strings are written and read
# as text: 1,000 entries cost 2 ms instead of 50 ms through the YAML library,
# byte for byte the same (tests/test_properties.py); anything else takes the
# library's way.
_PLAIN_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
_ENTRY = re.compile(r"  ([a-z][a-z0-9_-]*):\n    path: ([A-Za-z0-9_][A-Za-z0-9._/-]*)\n    type: (model|dataset)\n")


def _plain(name: str, path: str) -> bool:
    return (
        _PLAIN_NAME.fullmatch(name) is not None
        and name not in _YAML11_WORDS
        and _PLAIN_VALUE.fullmatch(path) is not None
        and "/" in path
    )


def _entries_as_text(text: str) -> dict[str, Entry] | None:
    """The entries of a file in gitreg's plain form, or None."""
    if not text.startswith(HEADER + "artifacts:\n"):
        return None
    body = text[len(HEADER) + len("artifacts:\n") :]
    found = {m[1]: Entry(m[2], m[3]) for m in _ENTRY.finditer(body)}
    return found if _as_text(found) == body and all(_plain(n, e.path) for n, e in found.items()) else None


def _as_text(entries: Mapping[str, Entry]) -> str:
    return "".join(
        f"  {name}:\n    path: {entries[name].path}\n    type: {entries[name].type}\n" for name in sorted(entries)
    )


def parse(data: bytes | None) -> dict[str, Entry]:
    """model -> its entry; {} for no file. Raises InvalidDocumentError for
    anything gitreg does not write there."""
    if data is None:
        return {}
    fast = _entries_as_text(data.decode("utf-8", "replace")) if len(data) <= yamlio.MAX_BYTES else None
    if fast is not None:
        return fast
    doc = yamlio.load(data, PATH)
    if not isinstance(doc, dict) or set(doc) != {"artifacts"} or not isinstance(doc["artifacts"], dict):
        raise InvalidDocumentError(f"{PATH}: {_NOT_OURS}")
    entries = {}
    for name, value in doc["artifacts"].items():
        if (
            not isinstance(value, dict)
            or set(value) != {"path", "type"}
            or not isinstance(value["path"], str)
            or value["type"] not in TYPES
        ):
            raise InvalidDocumentError(
                f"{PATH}: artifact {name!r} is not a path and type: model or dataset; {_NOT_OURS}"
            )
        entries[name] = Entry(value["path"], value["type"])
    return entries


def render(entries: Mapping[str, Entry]) -> bytes | None:
    """The file for ``entries`` (model -> entry), or None when there are none."""
    if not entries:
        return None
    if all(_plain(name, e.path) for name, e in entries.items()):
        return (HEADER + "artifacts:\n" + _as_text(entries)).encode("utf-8")
    body = {name: {"path": entries[name].path, "type": entries[name].type} for name in sorted(entries)}
    return (HEADER + yamlio.dump({"artifacts": body})).encode("utf-8")


def derive(
    current: Mapping[str, Entry],
    models_dir: str,
    models: Mapping[str, Sequence[ModelVersion]],
    added: Mapping[str, ModelVersion] | None = None,
) -> dict[str, Entry]:
    """The entries after a change: ``current`` with, for each model of
    ``models`` (mapped to every version it now has), the entry naming
    ``added[model]`` when the change registered it; else the current entry
    when it still names one of those versions as registered; else the
    highest version. A model left with no versions loses its entry."""
    entries = dict(current)
    added = added or {}
    for model, versions in models.items():
        if not listed(model):
            entries.pop(model, None)
            continue
        if model in added:
            entries[model] = entry(models_dir, added[model])
            continue
        named = {entry(models_dir, v) for v in versions}
        if entries.get(model) in named:
            continue
        if versions:
            highest = max(versions, key=lambda v: Version.parse(v.version))
            entries[model] = entry(models_dir, highest)
        else:
            entries.pop(model, None)
    return entries


def latest(documents: Iterable[ModelVersion]) -> dict[str, ModelVersion]:
    """Per model, the highest of ``documents`` (versions one change registers)."""
    found: dict[str, ModelVersion] = {}
    for d in documents:
        if d.model not in found or Version.parse(d.version) > Version.parse(found[d.model].version):
            found[d.model] = d
    return found


def written(current: bytes | None, entries: Mapping[str, Entry]) -> dict[str, bytes | None]:
    """The file change that leaves ``entries``: {} when ``current`` already does."""
    new = render(entries)
    return {} if new == current else {PATH: new}


def registering(current: bytes | None, models_dir: str, registered: Iterable[ModelVersion]) -> dict[str, bytes | None]:
    """The file change once ``registered`` (new versions) are committed:
    their models' entries name them. Raises InvalidDocumentError when the
    file is not as gitreg writes it (nothing of someone else's is overwritten)."""
    newest = latest(registered)
    return written(current, derive(parse(current), models_dir, {m: [d] for m, d in newest.items()}, newest))
