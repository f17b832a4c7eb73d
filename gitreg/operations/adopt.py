"""`gitreg init --adopt`: make a repository GTO manages a registry in place,
losing nothing GTO shows.

GTO's registry is its tags (``gitreg.documents.tags``' grammar): a registration tag on
the commit whose files hold the version (the artifact's path annotated in
``dvc.yaml``, or ``artifacts.yaml`` before GTO 1.0, and tracked by DVC in a
``.dvc`` file or ``dvc.lock`` there), stage tags on the same commit,
deregistration tags. Adoption reads them and writes, in one commit:

- a manifest per registered version, its artifact the DVC entry at the
  tagged commit, its time and author the tag's; a deregistered version is
  ``deprecated``. ``lineage.gto`` names the tag and its commit, which keeps
  GTO's tag *true* to the manifest (``Snapshot.true_tag``): later stage tags
  hang beside it and ``dvc artifacts get --rev`` still reads that commit;
- a stage pointer for each stage's holder as GTO shows it (of the versions
  whose latest event for the stage is an assignment, the latest assigned);
- the stages GTO used (``.gto``'s list, else those its tags name) in
  ``.gitreg/config.yaml``, with no stage order: GTO had none;
- the derived files (DVC pointers, ``dvc.yaml``), replacing GTO's
  ``artifacts:`` annotations there.

No tag is moved, deleted or added: GTO reads the same registry before and
after. What cannot be carried (a name gitreg does not accept, a version whose
bytes DVC does not track) is reported and left to GTO, untouched.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, timestamp
from gitreg.core.transaction import Change
from gitreg.documents import dvcyaml, layout, manifest, tags, yamlio
from gitreg.documents.manifest import Artifact, Model, ModelVersion, RegistryConfig, StagePointer
from gitreg.documents.names import Version, check_model_name, inside_models, is_name, namespace
from gitreg.errors import ConflictError, GitregError, InvalidDocumentError, UsageError
from gitreg.storage.git import Repo

ANNOTATIONS = ("dvc.yaml", "artifacts.yaml")  # where GTO 1.x, then 0.x, keeps an artifact's path
GTO_CONFIG = ".gto"


@dataclass(frozen=True)
class Adopted:
    versions: tuple[tuple[str, str], ...]  # (model, version) given a manifest
    holders: tuple[tuple[str, str, str], ...]  # (model, stage, version) given a pointer
    skipped: tuple[str, ...]  # what stays GTO's alone, and why
    commit: str | None


def gto_tags(repo: Repo) -> tuple[list[tags.Found], list[str]]:
    """GTO's tags in gitreg's grammar, oldest first; and the names of tags in
    GTO's grammar that gitreg cannot read (names it does not accept)."""
    rows = repo.tag_details(tags.patterns("@*", "#*"))
    found = [
        dataclasses.replace(t, tagger=t.tagger or "unknown (GTO tag without a tagger)") for t in tags.ordered(rows)
    ]
    unreadable = [name for name, *_ in rows if tags.parse(name) is None and ("@v" in name or "#" in name)]
    return found, unreadable


def preflight(repo: Repo, models_dir: str) -> None:
    """Refuse, before anything is written, what adoption could not do
    without losing something of the repository's."""
    head = repo.resolve("HEAD")
    if head is not None and repo.read_paths(head, [layout.CONFIG_PATH])[layout.CONFIG_PATH] is not None:
        raise ConflictError(f"{repo.root} is already a gitreg registry: there is nothing to adopt (drop --adopt)")
    found, unreadable = gto_tags(repo)
    if head is None or not (found or unreadable):
        raise UsageError(f"{repo.root} has no GTO tags: there is no GTO registry to adopt (drop --adopt)")
    if repo.ls_tree(head, models_dir):
        raise ConflictError(
            f"{models_dir}/ already holds files of this repository: give the registry a folder of its own "
            "(--models-dir NAME)"
        )
    data = repo.read_paths(head, [dvcyaml.PATH])[dvcyaml.PATH]
    doc = yamlio.load(data, dvcyaml.PATH) if data is not None else {}
    if not isinstance(doc, dict) or set(doc) - {"artifacts"}:
        raise ConflictError(
            f"{dvcyaml.PATH} holds more than GTO's annotations (stages, metrics, ...): gitreg writes that file; "
            "move the pipeline to a dvc.yaml in a subfolder, then adopt"
        )


def _readable(repo: Repo, commit: str, paths: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """(path, mapping) for each of ``paths`` at ``commit`` that exists and
    is a YAML mapping by the strict loader's rules; the rest are skipped."""
    found = []
    for path, data in repo.read_paths(commit, list(paths)).items():
        try:
            doc = yamlio.load(data, path) if data is not None else None
        except InvalidDocumentError:
            continue
        if isinstance(doc, dict):
            found.append((path, doc))
    return found


def annotation(repo: Repo, commit: str, model: str) -> Mapping[str, Any] | None:
    """GTO's annotation of ``model`` at ``commit`` (type, path, desc, ...)."""
    for path, doc in _readable(repo, commit, ANNOTATIONS):
        section = doc.get("artifacts") if path == dvcyaml.PATH else doc
        entry = section.get(model) if isinstance(section, dict) else None
        if isinstance(entry, dict):
            return entry
    return None


def _tracked(repo: Repo, commit: str, path: str) -> Mapping[str, Any] | None:
    """The DVC out that tracks ``path`` at ``commit``: from ``<path>.dvc``, or
    from ``dvc.lock``."""
    folder = posixpath.dirname(path)
    pointer = f"{path}.dvc"
    candidates: list[tuple[str, Any]] = []
    for source, doc in _readable(repo, commit, [pointer, "dvc.lock"]):
        if source == pointer:
            candidates += [(folder, out) for out in doc.get("outs") or ()]
        elif isinstance(doc.get("stages"), dict):
            for stage in doc["stages"].values():
                if isinstance(stage, dict):
                    candidates += [("", out) for out in stage.get("outs") or ()]
    for relative_to, out in candidates:
        named = out.get("path") if isinstance(out, dict) else None
        if isinstance(named, str) and posixpath.normpath(posixpath.join(relative_to, named)) == path:
            found: Mapping[str, Any] = out
            return found
    return None


def artifact_at(repo: Repo, commit: str, model: str, remote: str) -> Artifact | str:
    """``model``'s artifact as GTO's annotation names it and DVC tracks it
    at ``commit``, or why there is none."""
    annotated = annotation(repo, commit, model)
    path = annotated.get("path") if annotated else None
    if not isinstance(path, str) or not path:
        return f"no artifact path annotated for {model} at {commit[:10]} ({' or '.join(ANNOTATIONS)})"
    path = posixpath.normpath(path)
    if path.startswith(("../", "/")) or path == "..":
        return f"its annotated path {path!r} is outside the repository"
    out = _tracked(repo, commit, path)
    if out is None:
        return f"DVC does not track {path} at {commit[:10]} (no {path}.dvc and no dvc.lock entry)"
    md5, size, nfiles = out.get("md5"), out.get("size"), out.get("nfiles")
    if not isinstance(md5, str) or not isinstance(size, int) or not (nfiles is None or isinstance(nfiles, int)):
        return f"the DVC entry of {path} at {commit[:10]} has no md5 and size"
    return Artifact(posixpath.basename(path), md5, size, remote, nfiles)


def _stages(repo: Repo, head: str, found: Sequence[tags.Found]) -> tuple[str, ...]:
    """GTO's stages: its config's list, else those its tags name, in first use."""
    seen = [t.event.stage for t in found if t.event.stage]
    configured = [
        s
        for _, doc in _readable(repo, head, [GTO_CONFIG])
        if isinstance(doc.get("stages"), list)
        for s in doc["stages"]
    ]
    return tuple(dict.fromkeys([*(s for s in configured if isinstance(s, str) and is_name(s)), *seen]))


def holders_as_gto_shows(
    found: Sequence[tags.Found], at_commit: Mapping[tuple[str, str], str]
) -> dict[tuple[str, str], tags.Found]:
    """{(model, stage): the assignment tag of its holder} as GTO shows it:
    of the versions (``at_commit``: (model, commit) -> version) whose latest
    event for the stage is an assignment, the latest assigned."""
    latest: dict[tuple[str, str, str], tags.Found] = {}  # (model, stage, version) -> its latest stage event
    for tag in found:
        if tag.event.action in ("assign", "unassign") and (tag.event.model, tag.target) in at_commit:
            latest[(tag.event.model, str(tag.event.stage), at_commit[(tag.event.model, tag.target)])] = tag
    holding: dict[tuple[str, str], tags.Found] = {}
    for (model, stage, _), tag in latest.items():
        held = holding.get((model, stage))
        if tag.event.action == "assign" and (held is None or (tag.when, tag.event.counter or 0) >= _order(held)):
            holding[(model, stage)] = tag
    return holding


def _plan(snap: Snapshot, head: str) -> tuple[dict[str, bytes | None], Adopted]:
    repo, config = snap.repo, snap.config
    found, unreadable = gto_tags(repo)
    skipped = [f"tag {name}: not a name gitreg accepts (lower-case letters, digits, . _ -)" for name in unreadable]
    documents: dict[tuple[str, str], ModelVersion] = {}
    written: dict[tuple[str, str], dict[str, bytes]] = {}
    at_commit: dict[tuple[str, str], str] = {}  # (model, commit) -> the version GTO registered there
    deregistered = {(t.event.model, t.event.version) for t in found if t.event.action == "deregister"}
    deprecated = {t.event.model for t in found if t.event.action == "deprecate"}
    for tag in (t for t in found if t.event.action == "register"):
        model, version = tag.event.model, str(tag.event.version)
        try:
            check_model_name(model)
            Version.parse(version)
        except UsageError as exc:
            skipped.append(f"{model} v{version}: {exc}")
            continue
        artifact = artifact_at(repo, tag.target, model, config.remote)
        if isinstance(artifact, str):
            skipped.append(f"{model} v{version}: {artifact}")
            continue
        annotated = annotation(repo, tag.target, model) or {}
        description = annotated.get("desc") or annotated.get("description") or ""
        gone = (model, version) in deregistered or model in deprecated
        document = ModelVersion(
            model=model,
            version=version,
            created_at=timestamp(tag.when),
            created_by=tag.tagger,
            artifact=artifact,
            description=description if isinstance(description, str) else "",
            lineage={"gto": {"tag": tag.name, "commit": tag.target}},
            status="deprecated" if gone else "active",
        )
        try:
            written[(model, version)] = manifest.version_files(config.models_dir, document)
        except (InvalidDocumentError, UsageError) as exc:  # what GTO's files say breaks the manifest's schema
            skipped.append(f"{model} v{version}: {exc}")
            continue
        documents[(model, version)] = document
        at_commit[(model, tag.target)] = version
    for model in inside_models({m for m, _ in documents} | set(snap.model_names())):
        for key in [k for k in documents if k[0] == model]:
            skipped.append(f"{model} v{key[1]}: {namespace(model)!r} is a model, so it cannot be a namespace too")
            del documents[key]
            at_commit = {k: v for k, v in at_commit.items() if k[0] != model}
    holding = holders_as_gto_shows(found, at_commit)
    files: dict[str, bytes | None] = {}
    holders = []
    for (model, stage), tag in sorted(holding.items()):
        version = at_commit[(model, tag.target)]
        if documents[(model, version)].status != "active":
            skipped.append(f"{model} v{version} holds {stage} in GTO but is deregistered: no pointer")
            continue
        path = layout.stage_path(config.models_dir, model, stage)
        pointer = StagePointer(
            model, stage, version, timestamp(tag.when), tag.tagger, f"adopted from GTO tag {tag.name}"
        )
        try:
            files[path] = manifest.render(pointer, path)
        except InvalidDocumentError as exc:  # the tag's own fields (its tagger) break the schema
            skipped.append(f"{model} {stage}: {exc}")
            continue
        holders.append((model, stage, version))
    stages = _stages(repo, head, found)
    if stages and set(stages) != set(config.stages):
        adopted_config = RegistryConfig(
            models_dir=config.models_dir,
            stages=stages,
            default_bump=config.default_bump,
            remote=config.remote,
            requires={},
            retention=config.retention,
            hooks=config.hooks,
        )
        files[layout.CONFIG_PATH] = manifest.render(adopted_config, layout.CONFIG_PATH)
    by_model: dict[str, list[ModelVersion]] = {}
    for key, document in documents.items():
        by_model.setdefault(document.model, []).append(document)
        files |= written[key]
    for model in by_model:
        path = layout.model_path(config.models_dir, model)
        files[path] = manifest.render(Model(name=model), path)
    current = snap.read_files([dvcyaml.PATH])[dvcyaml.PATH]
    files |= dvcyaml.written(current, dvcyaml.derive({}, config.models_dir, by_model))
    adopted = Adopted(tuple(sorted(documents)), tuple(holders), tuple(skipped), None)
    return files, adopted


def _order(tag: tags.Found) -> tuple[int, int]:
    return (tag.when, tag.event.counter or 0)


def adopt(registry: Registry, *, dry_run: bool = False) -> Adopted:
    """Write the manifests and pointers of GTO's registry (see the module's
    description) in one commit; nothing when there is nothing to adopt."""
    snap = registry.snapshot()
    if snap.commit is None:
        raise GitregError("nothing to adopt: the repository has no commits")
    files, adopted = _plan(snap, snap.commit)
    if dry_run or not adopted.versions:
        return adopted

    def build(tip: Snapshot) -> Change:
        if tip.commit != snap.commit:
            raise ConflictError("the repository moved while adopting it: run gitreg init --adopt again")
        count = len(adopted.versions)
        models = sorted({m for m, _ in adopted.versions})
        return Change(
            files,
            f"Adopt GTO's registry: {count} version(s) of {', '.join(models)}",
            {"Gitreg-Action": "adopt", "Gitreg-Model": ", ".join(models)},
        )

    applied = registry.apply(build)
    return Adopted(adopted.versions, adopted.holders, adopted.skipped, applied.commit)
