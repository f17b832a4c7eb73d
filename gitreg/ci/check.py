"""The checker (docs/design.md §4): the registry's rules, enforced on any commit,
however it was made — by gitreg, by hand, or by merging a pull request.

``check_tree`` validates every registry file at one commit. ``check_change``
validates what a change did relative to a base: it reads only the files the
diff touches and what they reference, so its cost follows the change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing as mp
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitreg.core.snapshot import Snapshot
from gitreg.documents import dvcyaml, gates, layout, manifest, signatures
from gitreg.documents.gates import GateResult
from gitreg.documents.manifest import Model, ModelVersion, RegistryConfig, StagePointer
from gitreg.documents.names import Version, escaped, inside_models, is_model_name, namespace
from gitreg.errors import InvalidDocumentError, NotFoundError, UsageError
from gitreg.operations import history
from gitreg.operations.lifecycle import OrderCheck, degraded_refusal
from gitreg.storage import location
from gitreg.storage.git import Repo


@dataclass(frozen=True)
class Violation:
    rule: str  # schema | path | reference | stage | unexpected | entry | layout | deleted | immutable | gate | order
    path: str
    field: str  # a JSON pointer (or "line N") where one applies, else ""
    message: str


@dataclass(frozen=True)
class MoveCheck:
    """A stage pointer that the change moved, and what was checked for it."""

    path: str
    model: str
    stage: str
    previous: str | None
    version: str | None  # None: the pointer was removed
    rollback: bool
    gates: tuple[GateResult, ...] = ()
    order: OrderCheck | None = None
    problems: tuple[str, ...] = ()  # the report's violations on this pointer file other than its gates and order
    transition: str | None = None  # why the base's promotion.transitions refuse the move

    @property
    def passed(self) -> bool:
        gates_pass = all(g.passed for g in self.gates) and (self.order is None or self.order.passed)
        return gates_pass and not self.problems and self.transition is None


@dataclass(frozen=True)
class Review:
    """A changed file that steers the registry (its rules, where artifacts
    go, what CI runs or a writer executes): it breaks no rule by itself, but
    the owners must review it (CODEOWNERS covers it)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Report:
    head: str
    base: str | None  # the base revision's commit, when a change was checked
    files: int  # registry files read at the head
    violations: tuple[Violation, ...]
    moves: tuple[MoveCheck, ...] = field(default=())
    reviews: tuple[Review, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.violations

    def with_tree(self, whole: Report) -> Report:
        """This change's report with the whole-tree rules' violations of the
        same head added (``check --staged``: the whole change, every rule)."""
        violations = tuple(dict.fromkeys([*self.violations, *whole.violations]))
        return dataclasses.replace(self, files=max(self.files, whole.files), violations=violations)


_WHERE = re.compile(r"^(?P<path>[^:]+):(?:(?P<line>\d+):)? (?:(?P<pointer>/\S*): )?(?P<message>.*)$", re.S)


def _from_error(rule: str, path: str, exc: InvalidDocumentError) -> Violation:
    m = _WHERE.match(str(exc))
    if not m:
        return Violation(rule, path, "", str(exc))
    where = m["pointer"] or (f"line {m['line']}" if m["line"] else "")
    rule = "path" if "the file's path says" in m["message"] else rule
    return Violation(rule, path, where, m["message"])


class _Reader:
    """Registry files at one commit, parsed with the expectations their path
    implies; failures become violations instead of exceptions."""

    def __init__(self, repo: Repo, commit: str, models_dir: str) -> None:
        self.repo = repo
        self.commit = commit
        self.models_dir = models_dir
        self.violations: list[Violation] = []
        self.read = 0

    def documents(self, paths: Iterable[str]) -> dict[str, Any]:
        """{path: document or None} for registry paths at the commit."""
        wanted = list(dict.fromkeys(paths))
        blobs = self.repo.read_paths(self.commit, wanted)
        self.read += sum(1 for data in blobs.values() if data is not None)
        return {path: self._parse(path, data) for path, data in blobs.items()}

    def files(self, oids: Mapping[str, str]) -> dict[str, Any]:
        """``documents`` for {path: blob id} from a listing: read by id, which
        spares git a tree walk per file. DVC pointers are not read at all:
        their blob id is compared with the id of the bytes they must hold."""
        pointers = {p: DvcPointer(oid) for p, oid in oids.items() if p.endswith(layout.DVC_SUFFIX)}
        rest = {p: oid for p, oid in oids.items() if p not in pointers}
        blobs = self.repo.read_blobs(list(rest.values()))
        self.read += len(rest)
        parsed = {}
        for path, document, violations in parse_files(self.models_dir, [(p, blobs[oid]) for p, oid in rest.items()]):
            parsed[path] = document
            self.violations += violations
        return {**parsed, **pointers}

    def _parse(self, path: str, data: bytes | None) -> Any:
        document, found = _parse_one(self.models_dir, path, data)
        self.violations += found
        return document


def _parse_one(models_dir: str, path: str, data: bytes | None) -> tuple[Any, list[Violation]]:
    """A registry file parsed with the expectations its path implies, or
    None and why not."""
    judged, found = _judge(models_dir, path, data)
    return (judged[0].from_doc(judged[1]) if isinstance(judged, tuple) else judged), found


def _judge(models_dir: str, path: str, data: bytes | None) -> tuple[Any, list[Violation]]:
    """``_parse_one`` before typing: (kind, its validated fields), a
    ``DvcPointer``, or None and why."""
    where = layout.classify(models_dir, path)
    if data is None or where is None:
        return None, []
    if not is_model_name(where.model):
        return None, [Violation("path", path, "", f"model folder {where.model!r} is not a valid name")]
    try:
        if where.kind == "model":
            return (Model, manifest.validated_at(data, Model, path, name=where.model)), []
        if where.kind == "version":
            Version.parse(where.name)
            fields = manifest.validated_at(data, ModelVersion, path, model=where.model, version=where.name)
            return (ModelVersion, fields), []
        if where.kind == "stage":
            fields = manifest.validated_at(data, StagePointer, path, model=where.model, stage=where.name)
            return (StagePointer, fields), []
        if where.kind == "dvc":
            return DvcPointer(blob_id(data)), []  # judged against its manifest (``_check_dvc_pointers``)
        if where.kind == "signature":
            return _judge_signature(path, where, data)
    except InvalidDocumentError as exc:
        return None, [_from_error("schema", path, exc)]
    except UsageError:  # the file name is not a version
        return None, [Violation("path", path, "", f"file name {where.name!r} is not a valid version")]
    message = (
        "not a registry file: models/<model>/ (or models/<namespace>/<model>/) holds model.yaml, "
        "versions/<version>.yaml (with its <version>.dvc), stages/<stage>.yaml and "
        "signatures/<version>/<sha256>.sig"
    )
    return None, [Violation("unexpected", path, "", message)]


@dataclass(frozen=True)
class SignatureFile:
    """A signature bundle that reads as one, named by its bytes: whether it
    verifies is for a stage's policy (``signatures.stage_gate``)."""

    version: str


def _judge_signature(path: str, where: layout.RegistryPath, data: bytes) -> tuple[Any, list[Violation]]:
    Version.parse(where.name)
    expected = layout.signature_name(data)
    if where.file != expected:
        message = f"a signature file is named by its bytes' SHA-256: this one's name is {expected}"
        return None, [Violation("signature", path, "", message)]
    signatures.parse(data, path)
    return SignatureFile(where.name), []


PARALLEL_FROM = 4000  # files: below this a second process costs more than it saves


def _judge_half(models_dir: str, items: Sequence[tuple[str, bytes]]) -> list[tuple[Any, list[Violation]]]:
    """``_judge`` in a second process: documents travel as their kind's
    name and plain fields."""
    found = []
    for path, data in items:
        judged, violations = _judge(models_dir, path, data)
        found.append(((judged[0].__name__, judged[1]) if isinstance(judged, tuple) else judged, violations))
    return found


_KINDS: dict[str, Any] = {k.__name__: k for k in (Model, ModelVersion, StagePointer)}


def parse_files(
    models_dir: str, items: Sequence[tuple[str, bytes]], parallel_from: int = PARALLEL_FROM
) -> list[tuple[str, Any, list[Violation]]]:
    """(path, document or None, violations) for each file, in order. Parsing
    (strict YAML, then the schema) is most of a whole-tree check's time: from
    ``parallel_from`` files on, with a second core, a forked process judges
    the second half meanwhile."""
    if len(items) < parallel_from or (os.cpu_count() or 1) < 2 or "fork" not in mp.get_all_start_methods():
        return [(path, *_parse_one(models_dir, path, data)) for path, data in items]
    middle = len(items) // 2
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork")) as pool:
        later = pool.submit(_judge_half, models_dir, items[middle:])
        first = [(path, *_parse_one(models_dir, path, data)) for path, data in items[:middle]]
        rest = later.result()
    typed = [
        (path, _KINDS[judged[0]].from_doc(judged[1]) if isinstance(judged, tuple) else judged, violations)
        for (path, _), (judged, violations) in zip(items[middle:], rest, strict=True)
    ]
    return first + typed


@dataclass(frozen=True)
class DvcPointer:
    """A version's ``.dvc`` file as committed (its blob id): derived from the manifest."""

    oid: str


def blob_id(data: bytes, length: int = 40) -> str:
    """The id git gives a blob of ``data`` (SHA-1, or SHA-256 for 64-digit ids)."""
    digest = hashlib.sha1 if length == 40 else hashlib.sha256
    return digest(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _check_dvc_pointers(reader: _Reader, docs: Mapping[str, Any], places: Iterable[layout.RegistryPath]) -> None:
    """Each version among ``places`` (manifests or pointers, classified by the
    caller) has its DVC pointer, byte for byte the one its manifest derives;
    no pointer is without its version. (Derived, so a hand edit that
    disagrees is a violation.)"""
    models_dir = reader.models_dir
    pairs = dict.fromkeys((w.model, w.name) for w in places if w.kind in ("version", "dvc"))
    wanted = [p for m, v in pairs for p in (layout.version_path(models_dir, m, v), layout.dvc_path(models_dir, m, v))]
    docs = {**reader.documents(p for p in wanted if p not in docs), **docs}
    for model, version in pairs:
        path = layout.version_path(models_dir, model, version)
        pointer_path = layout.dvc_path(models_dir, model, version)
        document, pointer = docs.get(path), docs.get(pointer_path)
        unreadable = any(v.path == path for v in reader.violations)  # already reported
        if pointer is not None and document is None and not unreadable:
            message = "a DVC pointer without its version (remove it with the version)"
            reader.violations.append(Violation("dvc", pointer_path, "", message))
        elif isinstance(document, ModelVersion):
            expected = document.artifact.dvc_file(document.version).encode()
            if pointer is None:
                message = "missing: every version has its DVC pointer beside it (gitreg upgrade writes it)"
                reader.violations.append(Violation("dvc", pointer_path, "", message))
            elif isinstance(pointer, DvcPointer) and pointer.oid != blob_id(expected, len(pointer.oid)):
                message = f"differs from what {path} derives (the artifact entry): it is written by gitreg, not by hand"
                reader.violations.append(Violation("dvc", pointer_path, "", message))


def _dvc_yaml_violations(
    data: bytes | None, expected: Mapping[str, dvcyaml.Entry], why: Mapping[str, str]
) -> list[Violation]:
    """``dvc.yaml`` as committed (``data``) against the entries gitreg
    derives (``gitreg.documents.dvcyaml``); ``why`` says, per model, why its entry must
    be what it is, when a change decided it."""
    if data == dvcyaml.render(expected):
        return []
    if data is None:
        message = "missing: it names each model's latest registered version for DVC (gitreg upgrade writes it)"
        return [Violation("dvc", dvcyaml.PATH, "", message)]
    try:
        found = dvcyaml.parse(data)
    except InvalidDocumentError as exc:
        return [Violation("dvc", dvcyaml.PATH, "", str(exc).removeprefix(f"{dvcyaml.PATH}: "))]
    found_wrong = []
    for model in sorted(set(found) | set(expected)):
        there, wanted = found.get(model), expected.get(model)
        if there == wanted:
            continue
        if wanted is None:
            message = f"names {model!r}, which has no registered version DVC can name here"
        elif there is None:
            message = f"has no entry for {model} (gitreg upgrade writes it)"
        elif there.path != wanted.path:
            message = f"entry {model} names {there.path}, not {wanted.path}" + (
                f": {why[model]}" if model in why else ""
            )
        else:
            message = f"entry {model} has type {there.type}, not {wanted.type} (gitreg upgrade writes it)"
        found_wrong.append(Violation("dvc", dvcyaml.PATH, f"/artifacts/{model}", message))
    message = "differs from what gitreg writes (comments or layout): it is not edited by hand"
    return found_wrong or [Violation("dvc", dvcyaml.PATH, "", message)]


def _check_dvc_yaml_tree(reader: _Reader, docs: Mapping[str, Any], places: Iterable[layout.RegistryPath]) -> None:
    """Each model's entry names one of its versions as registered (any: which
    one a change must name is ``check_change``'s business)."""
    models_dir = reader.models_dir
    versions: dict[str, list[ModelVersion]] = {}
    for where in places:
        versions.setdefault(where.model, [])
        document = docs.get(layout.version_path(models_dir, where.model, where.name))
        if where.kind == "version" and isinstance(document, ModelVersion):
            versions[where.model].append(document)
    data = reader.repo.read_paths(reader.commit, [dvcyaml.PATH])[dvcyaml.PATH]
    try:
        found = dvcyaml.parse(data)
    except InvalidDocumentError:
        found = {}
    expected = dvcyaml.derive(found, models_dir, {**{m: [] for m in found}, **versions})
    reader.violations += _dvc_yaml_violations(data, expected, {})


def _check_dvc_yaml_change(
    reader: _Reader, fork: str, changes: Sequence[tuple[str, str]], docs: Mapping[str, Any], edited: bool
) -> None:
    """The change leaves ``dvc.yaml`` as gitreg would: a model it registers
    versions of is named by the highest of them (its registration commit is
    where ``dvc artifacts get`` reads the entry); a model whose named version
    it removes falls back to its highest remaining one; nothing else moves."""
    models_dir = reader.models_dir
    places = [
        (s, w) for s, p in changes if s in ("A", "D") and (w := layout.classify(models_dir, p)) and w.kind == "version"
    ]
    added = dvcyaml.latest(
        d
        for s, w in places
        if s == "A" and isinstance(d := docs.get(layout.version_path(models_dir, w.model, w.name)), ModelVersion)
    )
    if not (edited or places):
        return
    then, now = f"{fork}:{dvcyaml.PATH}", f"{reader.commit}:{dvcyaml.PATH}"
    blobs = reader.repo.read_objects([then, now])  # one round trip for both sides
    data = blobs[now]
    try:
        after = dvcyaml.parse(data)
    except InvalidDocumentError:
        reader.violations += _dvc_yaml_violations(data, {}, {})
        return
    try:
        before = dvcyaml.parse(blobs[then])
    except InvalidDocumentError:  # not gitreg's before (GTO's annotations, say): the change makes it so
        before = {}
    affected = {w.model for _, w in places} | {m for m in set(before) | set(after) if before.get(m) != after.get(m)}
    settled = sorted(affected - set(added))
    trees = reader.repo.read_trees([f"{reader.commit}:{layout.versions_dir(models_dir, m)}" for m in settled])
    versions: dict[str, list[ModelVersion]] = {}
    for model in settled:
        entries = trees[f"{reader.commit}:{layout.versions_dir(models_dir, model)}"] or []
        paths = [
            f"{layout.versions_dir(models_dir, model)}/{name}"
            for _, kind, _, name in entries
            if kind == "blob" and name.endswith(layout.YAML_SUFFIX)
        ]
        found = {**reader.documents(p for p in paths if p not in docs), **{p: docs[p] for p in paths if p in docs}}
        versions[model] = [d for d in found.values() if isinstance(d, ModelVersion)]
    expected = dvcyaml.derive(before, models_dir, {**versions, **{m: [] for m in added}}, added)
    why = {m: "the version this change registers (dvc artifacts get reads the entry at its commit)" for m in added}
    reader.violations += _dvc_yaml_violations(data, expected, why)


def _read_config(repo: Repo, commit: str) -> tuple[RegistryConfig | None, list[Violation]]:
    data = repo.read_paths(commit, [layout.CONFIG_PATH])[layout.CONFIG_PATH]
    if data is None:
        return None, [Violation("schema", layout.CONFIG_PATH, "", "missing: this is not a gitreg registry")]
    try:
        config: RegistryConfig = manifest.parse(data, RegistryConfig, layout.CONFIG_PATH)
    except InvalidDocumentError as exc:
        return None, [_from_error("schema", layout.CONFIG_PATH, exc)]
    unknown = config.unknown_stages()
    if unknown:
        where, stage = unknown[0]
        message = f"names stage {stage!r}, which is not in /stages"
        return config, [Violation("stage", layout.CONFIG_PATH, where, message)]
    return config, []


def _check_pointers(reader: _Reader, config: RegistryConfig, docs: Mapping[str, Any], models: Iterable[str]) -> None:
    """Rule 2 for ``models``: every pointer names an existing, active version
    of the same model, in a configured stage."""
    wanted = set(models)
    for path, pointer in docs.items():
        where = layout.classify(config.models_dir, path)
        if where is None or where.kind != "stage" or where.model not in wanted:
            continue
        if where.name not in config.stages:
            configured = ", ".join(config.stages)
            message = f"stage {where.name!r} is not configured (.gitreg/config.yaml has {configured})"
            reader.violations.append(Violation("stage", path, "", message))
        if not isinstance(pointer, StagePointer):
            continue
        target_path = layout.version_path(config.models_dir, where.model, pointer.version)
        target = docs.get(target_path)
        if target is None and target_path not in docs:
            target = reader.documents([target_path])[target_path]
        name = f"{where.model} {pointer.version}"
        if target is None:
            reader.violations.append(Violation("reference", path, "/version", f"{name} is not registered"))
        elif target.status != "active":
            message = f"{name} is {target.status}: it cannot hold a stage"
            reader.violations.append(Violation("reference", path, "/version", message))


REGULAR = "100644"
_ODD_MODES = {
    "100755": "has the executable bit set: registry files are plain data (mode 100644)",
    "120000": "is a symbolic link, not a registry file",
    "160000": "is a submodule (gitlink), not a registry file",
}


def _printable(path: str) -> str:
    """A path as a one-line report may print it (``names.escaped``)."""
    return escaped(path, lines=False)


_ODD_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # controls; bytes that were not UTF-8


def _odd_name(path: str) -> bool:
    return _ODD_CHARACTER.search(path) is not None


def _entry_violations(path: str, mode: str) -> list[Violation]:
    """A registry folder holds regular files with printable names, nothing else."""
    found = []
    if _odd_name(path):
        found.append(Violation("entry", _printable(path), "", "the name has a control character or is not UTF-8"))
    if mode != REGULAR:
        message = _ODD_MODES.get(mode, f"has mode {mode}, not a regular file (100644)")
        found.append(Violation("entry", _printable(path), "", message))
    return found


def check_tree(repo: Repo, commit: str) -> Report:
    """Every registry file at ``commit`` parses, validates and agrees with its
    path; every pointer names an existing active version in a configured
    stage; the registry's folders hold regular files with printable names."""
    config, violations = _read_config(repo, commit)
    if config is None:
        return Report(commit, None, 0, tuple(violations))
    reader = _Reader(repo, commit, config.models_dir)
    reader.violations += violations
    listed: dict[str, str] = {}
    for folder in (config.models_dir, layout.CONFIG_DIR):
        for mode, relative, oid in repo.entries_under(commit, folder):
            path = f"{folder}/{relative}"
            odd = _entry_violations(path, mode)
            reader.violations += odd
            if folder == config.models_dir and not odd:
                listed[path] = oid
    paths = list(listed)
    docs = reader.files(listed)
    places = [w for p in paths if (w := layout.classify(config.models_dir, p))]
    models = sorted({w.model for w in places})
    described = {w.model for w in places if w.kind == "model"}
    for model in models:
        if model not in described:
            reader.violations.append(
                Violation(
                    "schema", layout.model_path(config.models_dir, model), "", "missing: every model needs a model.yaml"
                )
            )
    for model in inside_models(described):
        message = f"{namespace(model)!r} is a model, so its folder cannot hold model {model!r} as a namespace"
        reader.violations.append(Violation("layout", layout.model_dir(config.models_dir, model), "", message))
    _check_pointers(reader, config, docs, models)
    _check_dvc_pointers(reader, docs, places)
    _check_dvc_yaml_tree(reader, docs, places)
    _check_links(reader, docs, [(p, d) for p, d in docs.items() if isinstance(d, ModelVersion)], strict=False)
    reader.violations += _orphan_signatures(config.models_dir, docs, set(listed))
    return Report(commit, None, reader.read + 1, tuple(reader.violations))


def _check_links(
    reader: _Reader, docs: Mapping[str, Any], versions: Iterable[tuple[str, ModelVersion]], strict: bool
) -> None:
    """Each link of ``versions`` names a dataset (a model.yaml of ``type:
    dataset``) and, when ``strict`` (a version the change adds), a version
    of it registered at the head. A whole tree tolerates a linked version
    removed since (``gc --force`` with a reason removes a dataset version
    in use; the link stays as history)."""
    models_dir = reader.models_dir
    pending = [(path, index, link) for path, version in versions for index, link in enumerate(version.datasets)]
    wanted = {layout.model_path(models_dir, link.dataset) for _, _, link in pending}
    if strict:
        wanted |= {layout.version_path(models_dir, link.dataset, link.version) for _, _, link in pending}
    known = {**reader.documents(p for p in wanted if p not in docs), **docs}
    for path, index, link in pending:
        described = known.get(layout.model_path(models_dir, link.dataset))
        if not isinstance(described, Model):
            message = f"links dataset {link.ref}, but no dataset {link.dataset} is registered"
        elif not described.is_dataset:
            message = f"links dataset {link.ref}, but {link.dataset} is a model, not a dataset"
        elif strict and not isinstance(
            known.get(layout.version_path(models_dir, link.dataset, link.version)), ModelVersion
        ):
            message = f"links dataset {link.ref}, which is not registered"
        else:
            continue
        reader.violations.append(Violation("dataset", path, f"/datasets/{index}", message))


def _check_type_edit(path: str, old: Model, new: Model) -> list[Violation]:
    if old.type == new.type:
        return []
    message = f"type changed from {old.type} to {new.type}: what a name versions is fixed when it is registered"
    return [Violation("immutable", path, "/type", message)]


def _signature_change(
    repo: Repo, head: str, models_dir: str, path: str, where: layout.RegistryPath, status: str, deleted: set[str]
) -> list[Violation]:
    """A signature may be added to a registered version; never changed or
    removed, unless with its version (``gitreg gc``)."""
    version_file = layout.version_path(models_dir, where.model, where.name)
    if status == "D" and version_file in deleted:
        return []
    if status != "A":
        message = "a signature is never changed or removed (a version may gain signatures, not lose one)"
        return [Violation("signature", path, "", message)]
    if repo.read_paths(head, [version_file])[version_file] is None:
        return [Violation("signature", path, "", f"a signature of {where.model} {where.name}, which is not registered")]
    return []


def _orphan_signatures(models_dir: str, docs: Mapping[str, Any], present: set[str]) -> list[Violation]:
    """A signature is of a version that is there."""
    found = []
    for path, document in docs.items():
        where = layout.classify(models_dir, path)
        if not isinstance(document, SignatureFile) or where is None:
            continue
        if layout.version_path(models_dir, where.model, document.version) not in present:
            message = f"a signature of {where.model} {document.version}, which is not registered"
            found.append(Violation("signature", path, "", message))
    return found


def _check_version_edit(path: str, old: ModelVersion, new: ModelVersion) -> list[Violation]:
    found = [
        Violation("immutable", path, f"/{name}", f"{name} is part of the registered core and cannot change")
        for name in manifest.core_changes(old, new)
    ]
    why = {
        "evaluations": "evaluations can only be appended",
        "annotations": "annotations can only be appended",
        "approvals": "approvals can only be appended",
        "labels": "labels change only by an appended annotation (gitreg annotate) that says so",
        "description": "the description changes only by an appended annotation (gitreg annotate) that says so",
    }
    found += [Violation("immutable", path, f"/{name}", why[name]) for name in manifest.record_changes(old, new)]
    found += [
        Violation("immutable", path, f"/annotations/{index}", "clearing the degraded mark needs a reason")
        for index, note in enumerate(new.annotations)
        if index >= len(old.annotations) and note.degraded is False and not note.reason.strip()
    ]
    return found


def _check_move(
    repo: Repo,
    base: str,
    head: str,
    base_config: RegistryConfig,
    path: str,
    model: str,
    stage: str,
    before: StagePointer | None,
    after: StagePointer | None,
    candidate: ModelVersion | None,
) -> MoveCheck:
    """Gates and stage order for one moved pointer, read at ``base`` (a
    required signature may come with the change: read at ``head``)."""
    previous = before.version if before else None
    if after is None:
        return MoveCheck(path, model, stage, previous, None, rollback=False)
    if candidate is not None and _held_as_is(repo, base, base_config.models_dir, stage, candidate):
        return MoveCheck(path, model, stage, previous, after.version, rollback=True)
    base_reader = _Reader(repo, base, base_config.models_dir)
    model_path = layout.model_path(base_config.models_dir, model)
    holder_path = layout.stage_path(base_config.models_dir, model, stage)
    base_docs = base_reader.documents([model_path, holder_path])
    model_doc, holder_pointer = base_docs[model_path], base_docs[holder_path]
    holder = None
    if isinstance(holder_pointer, StagePointer):
        holder_file = layout.version_path(base_config.models_dir, model, holder_pointer.version)
        holder = base_reader.documents([holder_file])[holder_file]
    results: tuple[GateResult, ...] = ()
    if candidate is not None:
        # approvals count as the base has them: one added in the same change does not
        candidate_file = layout.version_path(base_config.models_dir, model, candidate.version)
        on_base = base_reader.documents([candidate_file])[candidate_file]
        approved = on_base.approvals if isinstance(on_base, ModelVersion) else ()
        judged = dataclasses.replace(candidate, approvals=approved)
        described = model_doc if isinstance(model_doc, Model) else None
        results = tuple(gates.evaluate(described, stage, judged, holder))
        policy = manifest.signature_policy(described, stage, base_config)
        if policy is not None:  # the base's policy and keys; the signature may come with the change
            models_dir = base_config.models_dir
            gate = signatures.stage_gate(repo, models_dir, policy, candidate, policy_at=base, bundles_at=head)
            results += (gate,)
    requires = base_config.requires.get(stage, ())
    order = None
    if requires:
        held = history.held(repo, base, base_config.models_dir, model, after.version, requires)
        order = OrderCheck(stage, requires, held)
    transition = None
    if stage in base_config.transitions:  # where the version is on the base
        paths = {s: layout.stage_path(base_config.models_dir, model, s) for s in base_config.stages}
        found = base_reader.documents(list(paths.values()))
        where = [
            s for s, p in paths.items() if isinstance(found[p], StagePointer) and found[p].version == after.version
        ]
        transition = base_config.refused_transition(stage, where)
    return MoveCheck(path, model, stage, previous, after.version, False, results, order, transition=transition)


def _held_as_is(repo: Repo, base: str, models_dir: str, stage: str, candidate: ModelVersion) -> bool:
    """Whether ``candidate`` returns to a rightful past holder of ``stage``
    (``history.rightful``) with the registered core it held it with (evaluations
    since only appended). A version file removed and written again with
    other bytes is a new version, whatever its number."""
    past = history.rightful(repo, base, models_dir, candidate.model, stage)
    return any(h.version == candidate.version and manifest.same_registration(h.document, candidate) for h in past)


def _move_violations(move: MoveCheck, base: str) -> list[Violation]:
    found = [
        Violation(
            "gate",
            move.path,
            "/version",
            f"{move.model} {move.version} fails gate {g.gate} for {move.stage}: {g.reason} (gates as of {base[:10]})",
        )
        for g in move.gates
        if not g.passed
    ]
    if move.transition is not None:
        found.append(Violation("transition", move.path, "/version", f"{move.model} {move.version}: {move.transition}"))
    if move.order is not None and not move.order.passed:
        found.append(
            Violation(
                "order",
                move.path,
                "/version",
                f"{move.model} {move.version} never held {' or '.join(move.order.requires)}, "
                f"which {move.stage} requires",
            )
        )
    return found


def _check_deletions(
    repo: Repo, base: str, base_config: RegistryConfig, head: str, paths: Sequence[str]
) -> list[Violation]:
    """Version files may only be removed as the base's retention policy
    allows (``gitreg gc``), judged on the base tip at the head's commit time."""
    from gitreg.operations import gc as retention

    if not paths:
        return []
    policy = base_config.retention
    if policy is None or not policy.expires_anything:
        return [
            Violation("deleted", p, "", "version files are never deleted or renamed (no retention policy allows it)")
            for p in paths
        ]
    snap = Snapshot(repo, base, remember=False)  # the gate parses every document itself
    now = float(repo.log(head, [], ["%ct"], ["-1"])[0][0])
    places = {p: w for p in paths if (w := layout.classify(base_config.models_dir, p))}
    verdicts = {
        (v.model, v.version): v for v in retention.review(snap, now, sorted({w.model for w in places.values()}))
    }
    found = []
    for path, where in places.items():
        verdict = verdicts.get((where.model, where.name))
        if verdict is not None and verdict.kept:  # a dataset in use is a guard of gc's, not a rule
            message = f"removed, but the retention policy keeps {where.model} {where.name}: {'; '.join(verdict.kept)}"
            found.append(Violation("deleted", path, "", message))
    return found


_STEERING = {
    layout.CONFIG_DIR: "the registry's configuration: stages, stage order, retention, event subscriptions",
    ".dvc": "DVC's configuration: where artifacts are stored and read from",
    ".github": "CI: what runs the required check and publishes tags, and who owns what",
    ".gitlab": "CI: what runs the required check and publishes tags",
}
_STEERING_FILES = {
    ".dvcignore": "what DVC stores of an artifact folder",
    ".gitlab-ci.yml": "CI: what runs the required check and publishes tags",
    ".pre-commit-config.yaml": "the hooks that run the check before a commit",
    ".pre-commit-hooks.yaml": "the hooks that run the check before a commit",
    ".gitmodules": "submodules: code fetched from elsewhere",
    ".gitattributes": "how git filters and compares files",
    "CODEOWNERS": "who must review what",
}


def _scripts(*configs: RegistryConfig | None) -> set[str]:
    """Files that ``events:`` command subscriptions name (the program and
    any argument that looks like a path in the repository)."""
    found = set()
    for config in configs:
        for hook in config.hooks if config else ():
            for word in hook.command:
                if "/" in word or "." in word.lstrip("."):
                    found.add(posixpath.normpath(word).lstrip("/"))
    return found


def _steering(path: str, models_dir: str, scripts: set[str]) -> str | None:
    """Why a changed file needs the owners' review, or None."""
    top = path.partition("/")[0]
    if top in _STEERING and path != layout.DVC_GITIGNORE_PATH:
        return _STEERING[top]
    base = path.rsplit("/", 1)[-1]
    if base == location.CONFIG_FILE:
        return "names the registry that gitreg commands read and write"
    if path in _STEERING_FILES or (base == ".gitattributes"):
        return _STEERING_FILES.get(path, _STEERING_FILES[".gitattributes"])
    if path in scripts:
        return "a program that an event subscription runs"
    where = layout.classify(models_dir, path)
    if where is not None and where.kind == "model":
        return "the model's gates and settings"
    return None


def check_change(repo: Repo, base_rev: str, head: str) -> Report:
    """Rules 1-5 for what ``head`` changed since it left ``base_rev``, every
    whole-tree rule for the models it touched, and the steering files it
    changed (reported as needing the owners' review)."""
    base = repo.resolve(base_rev)
    if base is None:
        raise NotFoundError(f"base revision {base_rev!r} does not exist")
    config, violations = _read_config(repo, head)
    base_config, _ = _read_config(repo, base)
    if config is None or base_config is None:
        whole = check_tree(repo, head)
        return Report(head, base, whole.files, whole.violations)
    fork = repo.merge_base(base, head) or base
    diffed = repo.diff(fork, head)
    scripts = _scripts(config, base_config)
    reviews = tuple(
        Review(_printable(d.path), why) for d in diffed if (why := _steering(d.path, config.models_dir, scripts))
    )
    if config.models_dir != base_config.models_dir:
        message = (
            f"models_dir moved from {base_config.models_dir!r} to {config.models_dir!r}: a change of layout "
            "would make every version file look new, so the checker refuses it"
        )
        violations.append(Violation("layout", layout.CONFIG_PATH, "/models_dir", message))
    registry_dirs = (f"{config.models_dir}/", f"{layout.CONFIG_DIR}/")
    ours = [d for d in diffed if d.path.startswith(registry_dirs)]
    for d in ours:
        if d.status != "D":
            violations += _entry_violations(d.path, d.new_mode)
        if d.status == "T":
            message = f"changed from mode {d.old_mode} to {d.new_mode}: a registry file is never replaced by another"
            violations.append(Violation("entry", _printable(d.path), "", message))
    if any(d.path == layout.CONFIG_PATH for d in ours) or config.models_dir != base_config.models_dir:
        whole = check_tree(repo, head)  # new stages or layout: every file is affected
        violations += whole.violations
        files = whole.files
    else:
        files = 1
    # a type change removes the file that was there (and adds what is not a file)
    changes = [("D" if d.status == "T" else d.status, d.path) for d in ours if d.path.startswith(registry_dirs[0])]
    changes = [(s, p) for s, p in changes if not _odd_name(p)]
    reader = _Reader(repo, head, config.models_dir)
    old_reader = _Reader(repo, fork, config.models_dir)
    touched = [p for _, p in changes]
    docs = reader.documents(p for s, p in changes if s != "D")
    old_docs = old_reader.documents(p for s, p in changes if s != "A")
    models = sorted(
        {w.model for p in touched if (w := layout.classify(config.models_dir, p)) and is_model_name(w.model)}
    )
    # the pointers of every touched model, and the versions they name; its model.yaml
    model_trees = repo.read_trees([f"{head}:{layout.model_dir(config.models_dir, m)}" for m in models])
    for model in models:
        entries = model_trees[f"{head}:{layout.model_dir(config.models_dir, model)}"] or []
        if entries and not any(name == "model.yaml" for _, _, _, name in entries):
            path = layout.model_path(config.models_dir, model)
            reader.violations.append(Violation("schema", path, "", "missing: every model needs a model.yaml"))
    pointer_paths = [e.path for m in models for e in repo.ls_tree(head, layout.stages_dir(config.models_dir, m))]
    docs |= reader.documents(p for p in pointer_paths if p not in docs)
    moves: list[MoveCheck] = []
    deleted: list[str] = []
    deleted_paths = {p for st, p in changes if st == "D"}
    for status, path in changes:
        where = layout.classify(config.models_dir, path)
        if where is None:
            continue
        if where.kind == "signature":
            reader.violations += _signature_change(repo, head, config.models_dir, path, where, status, deleted_paths)
        elif where.kind == "version" and status == "D":
            deleted.append(path)
        elif (
            where.kind == "version"
            and isinstance(docs.get(path), ModelVersion)
            and isinstance(old_docs.get(path), ModelVersion)
        ):
            reader.violations += _check_version_edit(path, old_docs[path], docs[path])
        elif where.kind == "model" and isinstance(docs.get(path), Model) and isinstance(old_docs.get(path), Model):
            reader.violations += _check_type_edit(path, old_docs[path], docs[path])
        elif where.kind == "stage" and where.name in config.stages:
            before, after = old_docs.get(path), docs.get(path)
            if status != "D" and not isinstance(after, StagePointer):
                continue  # unreadable: already a violation
            before = before if isinstance(before, StagePointer) else None
            if (before.version if before else None) == (after.version if after else None):
                continue  # only the reason or the timestamps changed
            candidate_path = layout.version_path(config.models_dir, where.model, after.version) if after else ""
            candidate = docs.get(candidate_path) if after else None
            if after and candidate is None and candidate_path not in docs:
                candidate = reader.documents([candidate_path])[candidate_path]
            move = _check_move(
                repo,
                base,
                head,
                base_config,
                path,
                where.model,
                where.name,
                before,
                after,
                candidate if isinstance(candidate, ModelVersion) else None,
            )
            moves.append(move)
            reader.violations += _move_violations(move, base)
            if isinstance(candidate, ModelVersion) and candidate.degraded is not None:
                reader.violations.append(Violation("degraded", path, "/version", degraded_refusal(candidate)))
    reader.violations += _check_deletions(repo, base, base_config, head, deleted)
    added = [(p, docs[p]) for st, p in changes if st == "A" and isinstance(docs.get(p), ModelVersion)]
    _check_links(reader, docs, added, strict=True)
    _check_pointers(reader, config, docs, models)
    _check_dvc_pointers(reader, docs, [w for p in touched if (w := layout.classify(config.models_dir, p))])
    edited = [d for d in diffed if d.path == dvcyaml.PATH]
    for d in edited:
        if d.status != "D":
            violations += _entry_violations(d.path, d.new_mode)
    _check_dvc_yaml_change(reader, fork, changes, docs, bool(edited))
    all_violations = tuple(dict.fromkeys([*violations, *reader.violations]))
    # a move's verdict is read from the same violations the report lists (its gates and order are its own)
    judged = tuple(
        dataclasses.replace(
            m, problems=tuple(v.message for v in all_violations if v.path == m.path and v.rule not in ("gate", "order"))
        )
        for m in moves
    )
    return Report(head, base, files + reader.read, all_violations, judged, reviews)


ALLOWED_SIGNERS = ".gitreg/allowed_signers"  # the default: as the base has it
_VERDICTS = {
    "N": "is not signed",
    "U": "is signed by a key that is not among the allowed signers",
    "B": "has a bad signature: it was altered after signing",
    "E": "has a signature that cannot be checked here",
    "X": "has a good signature that has expired",
    "Y": "is signed by a key that has expired",
    "R": "is signed by a revoked key",
}


def unsigned_commits(
    repo: Repo, base_rev: str, head: str, allowed_signers: bytes, moves_only: bool = False
) -> list[Violation]:
    """Every commit the change brings (``moves_only``: those that move a
    stage pointer) must carry a good signature from ``allowed_signers`` (an
    SSH allowed-signers file), as git itself verifies it (``%G?`` G)."""
    import tempfile

    base = repo.resolve(base_rev)
    if base is None:
        raise NotFoundError(f"base revision {base_rev!r} does not exist")
    fork = repo.merge_base(base, head) or base
    config, _ = _read_config(repo, head)
    models_dir = config.models_dir if config else "models"
    with tempfile.TemporaryDirectory(prefix="gitreg-signers-") as scratch:
        signers = Path(scratch) / "allowed_signers"
        signers.write_bytes(allowed_signers)
        rows = repo.commit_signatures(f"{fork}..{head}", signers)
        if moves_only:
            moving = _pointer_commits(repo, fork, head, models_dir)
            rows = [row for row in rows if row[0] in moving]
    return [
        Violation("signed", f"commit {commit[:10]}", "", f"{subject[:80]!r} {_VERDICTS.get(verdict, 'is not signed')}")
        for commit, verdict, _, subject in rows
        if verdict != "G"
    ]


def _pointer_commits(repo: Repo, fork: str, head: str, models_dir: str) -> set[str]:
    """The commits in fork..head that change a stage pointer."""
    out = repo.run(["log", "--format=%x1e%H", "--name-only", "--no-renames", f"{fork}..{head}", "--", models_dir])[1]
    found = set()
    for record in out.decode("utf-8", "surrogateescape").split("\x1e"):
        commit, *paths = [line for line in record.splitlines() if line.strip()] or [""]
        if any((w := layout.classify(models_dir, p)) is not None and w.kind == "stage" for p in paths):
            found.add(commit)
    return found
