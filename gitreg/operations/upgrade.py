"""Files derived from the manifests, and `gitreg upgrade`, which brings a
registry made by an older gitreg up to what this one derives, in one
reviewable commit. Today that is every version's DVC pointer
(``versions/<version>.dvc``) and the ``dvc.yaml`` artifacts entries
(``gitreg.documents.dvcyaml``)."""

from __future__ import annotations

from dataclasses import dataclass

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot
from gitreg.core.transaction import Change
from gitreg.documents import dvcyaml, layout, manifest


@dataclass(frozen=True)
class Upgraded:
    files: tuple[str, ...]  # written (or, on a dry run, to write)
    commit: str | None  # None: nothing to do, or a dry run
    branch: str | None = None


def _change(snap: Snapshot) -> Change:
    derived: dict[str, bytes] = {}
    versions = {model: snap.all_versions(model) for model in snap.model_names()}
    for model, documents in versions.items():
        for document in documents:
            pointer = layout.dvc_path(snap.models_dir, model, document.version)
            derived[pointer] = manifest.version_files(snap.models_dir, document)[pointer]
    current = snap.read_files([*derived, dvcyaml.PATH])
    files: dict[str, bytes | None] = {path: data for path, data in derived.items() if current[path] != data}
    pointers = len(files)
    old = current[dvcyaml.PATH]
    files |= dvcyaml.written(old, dvcyaml.derive(dvcyaml.parse(old), snap.models_dir, versions))
    what = [f"the DVC pointers of {pointers} version(s)"] if pointers else []
    what += [dvcyaml.PATH] if dvcyaml.PATH in files else []
    return Change(
        files,
        f"Write {' and '.join(what)}",
        {"Gitreg-Action": "upgrade"},
        result=tuple(sorted(files)),
    )


def upgrade(registry: Registry, *, dry_run: bool = False, branch: str | None = None) -> Upgraded:
    planned = _change(registry.snapshot())
    if dry_run or not planned.files:
        return Upgraded(planned.result, None)
    applied = registry.apply(_change, branch=branch)
    return Upgraded(applied.change.result, applied.commit, branch)
