"""``gitreg import --from gto PATH|URL``: a GTO registry in another
repository brought into this one, its history replayed event by event.

The source is fetched (branches and tags) into a private bare copy. Its
GTO tags, in GTO's order (``gitreg.documents.tags.ordered``), each become
one commit here, dated at the tag's time and authored by its tagger:

- a registration: the version's manifest, its artifact the DVC entry at the
  tagged commit (GTO's annotation names the path: ``adopt.artifact_at``),
  its description the annotation's; ``lineage.gto`` names the tag, the
  commit and the source. The bytes are copied from the source's DVC remote
  (its ``.dvc/config`` at that commit; a relative local remote is read
  beside a local source) into this registry's, re-hashed on the way;
- an assignment: the stage's pointer (a stage this registry lacks is added
  to its configuration); an unassignment: the pointer removed;
- a deregistration: the version ``deprecated`` (and removed from the stages
  it held); a deprecation of the model: every version of it.

Each replayed event gets its GTO tag here too (stage tags at the version's
registration commit), so ``gto show`` reads the same registry from either
repository. What cannot be carried (a name gitreg does not accept, bytes
DVC does not track, a remote that cannot be read) is reported and skipped.
A second run replays only what the source gained since: it finds the
versions it brought (``lineage.gto``) and the events it replayed (each
commit's ``Gitreg-Source: gto tag NAME from SOURCE`` trailer), runs the
whole event sequence again in memory so that every event meets the state
it met in GTO, and writes only the events it has not replayed — new
versions, and later assignments, unassignments and deprecations of the
versions brought before. (A registry whose import commits were squashed
away has lost that record; its re-run would replay the older stage events
again.)
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot, epoch, timestamp
from gitreg.core.transaction import Change, TagSpec, one_line
from gitreg.documents import dvcyaml, layout, manifest, tags
from gitreg.documents.manifest import Artifact, Model, ModelVersion, RegistryConfig, StagePointer
from gitreg.documents.names import Version, check_model_name, is_name
from gitreg.errors import ConflictError, GitregError, InvalidDocumentError, UsageError
from gitreg.operations import adopt
from gitreg.storage import credentials, dvcconfig
from gitreg.storage.git import Repo


@dataclass(frozen=True)
class GtoReport:
    source: str
    versions: tuple[tuple[str, str], ...]  # (model, version) registered
    events: tuple[str, ...]  # each event replayed, in order ("register fraud 1.0.0", "assign fraud prod 1.0.0", ...)
    stages_added: tuple[str, ...]
    skipped: tuple[str, ...]
    already: int  # versions an earlier import brought
    events_already: int = 0  # stage and deprecation events an earlier import replayed
    copied: int = 0  # objects copied into this registry's DVC remote
    verified: tuple[tuple[str, str, bool], ...] = ()
    differences: tuple[str, ...] | None = None  # with verify: where the registry and GTO's view disagree
    commit: str | None = None
    commits: int = 0


@dataclass
class _Replay:
    config: RegistryConfig
    parts: list[Change] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    stages_added: list[str] = field(default_factory=list)
    origin: str = ""  # the source as the commits' trailers name it
    replayed: frozenset[str] = frozenset()  # GTO tags an earlier import replayed: met again, not written
    # (model, version) -> the part of this series that registers it, or the commit that did (an earlier
    # import; None until an event needs it)
    registered: dict[tuple[str, str], int | str | None] = field(default_factory=dict)
    documents: dict[tuple[str, str], ModelVersion] = field(default_factory=dict)  # every version in play
    imported: list[tuple[str, str]] = field(default_factory=list)  # the versions this run registers
    pointers: dict[tuple[str, str], str] = field(default_factory=dict)  # (model, stage) -> version, as replayed
    already: int = 0
    events_already: int = 0


def fetch(source: str, into: Path) -> Repo:
    """A bare copy of ``source``'s branches and tags in ``into``. A source
    that git would read as an option (``--upload-pack=…`` runs a command) is
    refused, and the source is passed after ``--`` besides."""
    if source.startswith("-"):
        raise UsageError(f"invalid GTO repository {credentials.redact(source)!r}: give a path or a git URL")
    repo = Repo.init_bare(into)
    spec = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
    code, _, err = repo.run(["fetch", "--quiet", "--no-write-fetch-head", "--", source, *spec], check=False)
    if code != 0:
        lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        fatal = next((line.removeprefix("fatal: ") for line in lines if line.startswith("fatal: ")), None)
        reason = fatal or (lines[-1] if lines else f"exit {code}")
        raise UsageError(f"cannot fetch the GTO repository {credentials.redact(source)}: {reason}")
    return repo


def _imported(snap: Snapshot, source: str) -> dict[str, ModelVersion]:
    """{GTO registration tag: the version} of the versions an earlier import
    from ``source`` brought."""
    return {
        mark["tag"]: version
        for version, mark in snap.marked("gto")
        if mark.get("source") == source and isinstance(mark.get("tag"), str)
    }


def _source_trailer(name: str, origin: str) -> str:
    return f"gto tag {name} from {one_line(origin)}"


def _replayed(snap: Snapshot, origin: str) -> frozenset[str]:
    """The GTO tags of ``origin`` whose events an earlier import replayed
    here: the ``Gitreg-Source`` trailers of the commits it made."""
    if snap.commit is None:
        return frozenset()
    rows = snap.repo.log(
        snap.commit, [], ["%(trailers:key=Gitreg-Source,valueonly,unfold)"], ["--grep=^Gitreg-Source: gto tag "]
    )
    suffix = f" from {one_line(origin)}"
    return frozenset(
        value.removeprefix("gto tag ").removesuffix(suffix)
        for row in rows
        for value in row[0].splitlines()
        if value.startswith("gto tag ") and value.endswith(suffix)
    )


def replay(snap: Snapshot, src: Repo, source: str, sealed: Mapping[tuple[str, str], Artifact] | None = None) -> _Replay:
    """The commits that replay ``src``'s GTO events on ``snap`` (pure);
    ``sealed``: the artifacts, with their SHA-256, of versions whose bytes
    were copied here."""
    found, unreadable = adopt.gto_tags(src)
    state = _Replay(snap.config, origin=source, replayed=_replayed(snap, source))
    state.skipped += [f"tag {name}: not a name gitreg accepts" for name in unreadable]
    seen = _imported(snap, source)
    at_commit: dict[tuple[str, str], str] = {}  # (model, commit) -> the version GTO registered there
    dvc_yaml = snap.read_files([dvcyaml.PATH])[dvcyaml.PATH]
    for tag in _in_replay_order(found):
        event = tag.event
        model = event.model
        when, author = float(tag.when), tag.tagger
        if event.action == "register":
            version = str(event.version)
            if tag.name in seen:
                state.already += 1
                at_commit[(model, tag.target)] = version
                state.documents[(model, version)] = replace(seen[tag.name], status="active")  # as GTO registered it
                state.registered[(model, version)] = None
                continue
            try:
                check_model_name(model)
                Version.parse(version)
                snap.check_place(model)
            except GitregError as exc:
                state.skipped.append(f"{model} v{version}: {exc}")
                continue
            if snap.version(model, version) is not None:
                state.skipped.append(f"{model} {version}: exists here, not from this GTO repository")
                continue
            artifact = adopt.artifact_at(src, tag.target, model, snap.config.remote)
            if isinstance(artifact, str):
                state.skipped.append(f"{model} v{version}: {artifact}")
                continue
            artifact = (sealed or {}).get((model, version), artifact)
            annotated = adopt.annotation(src, tag.target, model) or {}
            description = annotated.get("desc") or annotated.get("description") or ""
            document = ModelVersion(
                model=model,
                version=version,
                created_at=timestamp(when),
                created_by=author,
                artifact=artifact,
                description=description if isinstance(description, str) else "",
                lineage={"gto": {"tag": tag.name, "commit": tag.target, "source": source}},
            )
            try:
                files: dict[str, bytes | None] = dict(manifest.version_files(snap.models_dir, document))
            except (InvalidDocumentError, UsageError) as exc:  # the source's files break the manifest's schema
                state.skipped.append(f"{model} v{version}: {exc}")
                continue
            if snap.model(model) is None and not any(k[0] == model for k in state.documents):
                path = layout.model_path(snap.models_dir, model)
                files[path] = manifest.render(Model(name=model), path)
            files |= dvcyaml.registering(dvc_yaml, snap.models_dir, [document])
            dvc_yaml = files.get(dvcyaml.PATH, dvc_yaml)
            at_commit[(model, tag.target)] = version
            state.registered[(model, version)] = len(state.parts)
            state.documents[(model, version)] = document
            state.imported.append((model, version))
            _part(state, files, f"Import {model} {version} from GTO", tag, [TagSpec(event, version)], when, author)
            continue
        version = at_commit.get((model, tag.target), "") if event.action != "deprecate" else ""
        if event.action != "deprecate" and (model, version) not in state.documents:
            continue  # an event of a version skipped
        if tag.name in state.replayed:
            state.events_already += 1
        # never dated before the registration it is about
        about = [
            epoch(d.created_at) for (m, v), d in state.documents.items() if m == model and (not version or v == version)
        ]
        when = max([when, *about])
        if event.action in ("assign", "unassign"):
            _stage_event(snap, state, tag, version, when)
        else:
            _retire(snap, state, tag, version, when)
    return state


def _in_replay_order(found: Sequence[tags.Found]) -> list[tags.Found]:
    """GTO's order, except that an event about a version comes after the
    version's registration (GTO matches them by commit whatever their times)."""
    first = {(t.event.model, t.target): i for i, t in reversed(list(enumerate(found))) if t.event.action == "register"}
    ordered: list[tags.Found] = []
    waiting: dict[tuple[str, str], list[tags.Found]] = {}
    for i, t in enumerate(found):
        key = (t.event.model, t.target)
        if t.event.action in ("assign", "unassign", "deregister") and first.get(key, -1) > i:
            waiting.setdefault(key, []).append(t)
            continue
        ordered.append(t)
        if t.event.action == "register":
            ordered += waiting.pop(key, [])
    return ordered


def _part(
    state: _Replay,
    files: dict[str, bytes | None],
    summary: str,
    tag: tags.Found,
    specs: Sequence[TagSpec],
    when: float,
    author: str,
) -> None:
    if tag.name in state.replayed:
        return  # written by an earlier import: its effect is already here
    trailers = {
        "Gitreg-Action": "import",
        "Gitreg-Model": tag.event.model,
        "Gitreg-Source": _source_trailer(tag.name, state.origin),
    }
    state.parts.append(Change(files, summary, trailers, tags=list(specs), when=when, author=author))
    state.events.append(summary.removeprefix("Import ").removesuffix(" from GTO"))


def _stage_event(snap: Snapshot, state: _Replay, tag: tags.Found, version: str, when: float) -> None:
    model, stage = tag.event.model, str(tag.event.stage)
    if not is_name(stage):
        state.skipped.append(f"{tag.name}: stage {stage!r} is not a name gitreg accepts")
        return
    files: dict[str, bytes | None] = {}
    if stage not in state.config.stages:
        state.config = replace(state.config, stages=(*state.config.stages, stage))
        state.stages_added.append(stage)
        files[layout.CONFIG_PATH] = manifest.render(state.config, layout.CONFIG_PATH)
    path = layout.stage_path(snap.models_dir, model, stage)
    spec = _spec(snap, state, tag, tag.event, version)
    if tag.event.action == "assign":
        if state.documents[(model, version)].status != "active":
            return
        pointer = StagePointer(
            model, stage, version, timestamp(tag.when), tag.tagger, f"imported from GTO tag {tag.name}"
        )
        files[path] = manifest.render(pointer, path)
        specs = list(spec)
        replaced = state.pointers.get((model, stage))
        if replaced is not None and replaced != version:  # as a promotion here tags it: the holder leaves
            unassign = tags.TagEvent("unassign", model, stage=stage)
            specs[:0] = _spec(snap, state, tag, unassign, replaced)
        state.pointers[(model, stage)] = version
        _part(state, files, f"Import {model} {stage}: {version}", tag, specs, when, tag.tagger)
    elif state.pointers.get((model, stage)) == version:
        files[path] = None
        del state.pointers[(model, stage)]
        _part(state, files, f"Import {model} {stage}: unassigned {version}", tag, spec, when, tag.tagger)


def _spec(snap: Snapshot, state: _Replay, tag: tags.Found, event: tags.TagEvent, version: str) -> list[TagSpec]:
    """The tag of ``event`` (``tag``'s, or one it implies) about ``version``,
    hung on its registration commit; none when ``tag`` was replayed before
    (nothing is written) or an earlier import's commit cannot be found."""
    if tag.name in state.replayed:
        return []
    key = (event.model, version)
    anchor = state.registered[key]
    if anchor is None:
        anchor = state.registered[key] = snap.registration_commit(event.model, version)
    if isinstance(anchor, int):
        return [TagSpec(event, version, part=anchor)]
    return [TagSpec(event, version, anchor)] if anchor is not None else []


def _retire(snap: Snapshot, state: _Replay, tag: tags.Found, version: str, when: float) -> None:
    """A deregistration (one version) or a deprecation (every version of the model)."""
    model = tag.event.model
    which = [version] if version else [v for (m, v) in state.documents if m == model]
    files: dict[str, bytes | None] = {}
    specs = []
    for v in which:
        document = replace(state.documents[(model, v)], status="deprecated")
        state.documents[(model, v)] = document
        here = snap.version(model, v)
        if (model, v) in state.imported or (here is not None and here.status == "active"):
            files.update(dict([manifest.version_file(snap.models_dir, document)]))
        for (m, stage), held in list(state.pointers.items()):
            if m == model and held == v:
                files[layout.stage_path(snap.models_dir, model, stage)] = None
                del state.pointers[(m, stage)]
        if version:
            specs += _spec(snap, state, tag, tag.event, v)
    if files:
        what = f"deprecated {version}" if version else "deprecated"
        _part(state, files, f"Import {model}: {what}", tag, specs, when, tag.tagger)


def _copy(
    snap: Snapshot, registry: Registry, src: Repo, source: str, state: _Replay, scratch: Path
) -> tuple[int, dict[tuple[str, str], str], dict[tuple[str, str], Artifact]]:
    """Copy each new version's objects from the source's DVC remote; the
    count copied, why a version's bytes could not be had, and the artifacts
    with their SHA-256 (read back from this registry's remote)."""
    from gitreg.storage import artifacts

    target = artifacts.Store(registry.dvc_root(snap), snap.config.remote)
    stores: dict[tuple[str, str], artifacts.Store] = {}
    copied = 0
    failed: dict[tuple[str, str], str] = {}
    sealed: dict[tuple[str, str], Artifact] = {}
    local = Path(source) if Path(source).is_dir() else None
    for key in state.imported:
        document = state.documents[key]
        commit = document.lineage["gto"]["commit"]  # the commit the version's files came from
        text = (src.read_paths(commit, [layout.DVC_CONFIG_PATH])[layout.DVC_CONFIG_PATH] or b"").decode(
            "utf-8", "replace"
        )
        try:
            default, _ = dvcconfig.remotes(text, layout.DVC_CONFIG_PATH)
            options = dvcconfig.remote_options(text, layout.DVC_CONFIG_PATH)
        except GitregError as exc:
            failed[key] = f"its DVC config at {commit[:10]} cannot be read: {exc}"
            continue
        name = default or next(iter(options), None)
        if name is None:
            failed[key] = f"the source names no DVC remote at {commit[:10]}"
            continue
        chosen = dict(options[name])
        if dvcconfig.is_local(chosen["url"]) and not Path(chosen["url"]).is_absolute():
            if local is None:
                failed[key] = f"the source's DVC remote {chosen['url']!r} is a relative path, not reachable from a URL"
                continue
            chosen["url"] = str((local / ".dvc" / chosen["url"]).resolve())
        slot = (name, chosen["url"])
        if slot not in stores:
            stores[slot] = artifacts.Store.detached(name, chosen, scratch / f"remote-{len(stores)}")
        try:
            hashed = stores[slot].copy_to(target, document.artifact)
        except GitregError as exc:
            failed[key] = f"its bytes could not be copied from {credentials.redact(chosen['url'])}: {exc}"
            continue
        copied += len(hashed)
        sealed[key] = target.sealed(document.artifact, hashed)
    return copied, failed, sealed


def compare(snap: Snapshot, src: Repo, source: str) -> tuple[str, ...]:
    """Where ``snap`` differs from what GTO shows of ``src``: each version it
    registered (present, from that tag, its artifact, deprecated or not) and
    each stage's holder. Versions gitreg could not take (reported skipped)
    are left out."""
    found, _ = adopt.gto_tags(src)
    mine = _imported(snap, source)
    at_commit: dict[tuple[str, str], str] = {}
    gone = {(t.event.model, t.event.version) for t in found if t.event.action == "deregister"}
    retired = {t.event.model for t in found if t.event.action == "deprecate"}
    differences = []
    for tag in found:
        if tag.event.action != "register":
            continue
        model, version = tag.event.model, str(tag.event.version)
        if tag.name not in mine:
            continue  # never imported: the import's report says why
        at_commit[(model, tag.target)] = version
        document = snap.version(model, version)
        if document is None:
            differences.append(f"{model} {version}: in GTO, not here")
            continue
        there = adopt.artifact_at(src, tag.target, model, document.artifact.remote)
        if isinstance(there, Artifact) and (there.md5, there.size) != (document.artifact.md5, document.artifact.size):
            differences.append(f"{model} {version}: artifact {document.artifact.md5} here, {there.md5} in GTO")
        deprecated = (model, version) in gone or model in retired
        if (document.status == "deprecated") != deprecated:
            differences.append(
                f"{model} {version}: {document.status} here, {'deprecated' if deprecated else 'active'} in GTO"
            )
    shown = {key: at_commit[(key[0], tag.target)] for key, tag in adopt.holders_as_gto_shows(found, at_commit).items()}
    here = {(m, s): p.version for m in {m for m, _ in at_commit} for s, p in snap.pointers(m).items()}
    for key in sorted(set(shown) | set(here)):
        if shown.get(key) != here.get(key) and not (key in shown and (key[0], shown[key]) in gone):
            differences.append(
                f"{key[0]} {key[1]}: {here.get(key) or 'no holder'} here, {shown.get(key) or 'no holder'} in GTO"
            )
    return tuple(differences)


def import_gto(registry: Registry, source: str, *, dry_run: bool = False, verify: bool = False) -> GtoReport:
    """Replay the GTO registry at ``source`` (a path or git URL) here (see
    the module's description). ``verify``: afterwards (a dry run: now)
    compare the registry with what GTO shows of the source."""
    from gitreg.storage import artifacts

    if not source.strip():
        raise UsageError("give the GTO repository: a path or a git URL")
    shown = credentials.redact(source)
    origin = str(Path(source).resolve()) if Path(source).is_dir() else shown
    local = Path(source).resolve() if Path(source).is_dir() else None
    with tempfile.TemporaryDirectory(prefix="gitreg-gto-") as scratch:
        src = fetch(str(local) if local else source, Path(scratch) / "source.git")
        snap = registry.snapshot()
        state = replay(snap, src, origin)
        if dry_run or not state.parts:
            report = _report(shown, state)
            return replace(report, differences=compare(snap, src, origin)) if verify else report
        copied, failed, sealed = _copy(snap, registry, src, source, state, Path(scratch))
        if failed:
            reasons = "; ".join(f"{m} {v}: {why}" for (m, v), why in list(failed.items())[:3])
            raise ConflictError(f"cannot import from {shown}: {reasons}; nothing was imported")

        def build(tip: Snapshot) -> Change:
            again = replay(tip, src, origin, sealed)
            if not again.parts:
                raise ConflictError("nothing left to import: another writer imported it first")
            *before, last = again.parts
            return replace(last, before=tuple(before), result=again)

        applied = registry.apply(build)
        done: _Replay = applied.change.result
        store = artifacts.Store(registry.dvc_root(snap), snap.config.remote)
        checked = tuple((m, v, not store.verify(done.documents[(m, v)].artifact)) for m, v in done.imported)
        report = replace(
            _report(shown, done), copied=copied, verified=checked, commit=applied.commit, commits=len(done.parts)
        )
        return replace(report, differences=compare(registry.snapshot(), src, origin)) if verify else report


def _report(source: str, state: _Replay) -> GtoReport:
    return GtoReport(
        source=f"gto {source}",
        versions=tuple(state.imported),
        events=tuple(state.events),
        stages_added=tuple(state.stages_added),
        skipped=tuple(state.skipped),
        already=state.already,
        events_already=state.events_already,
    )
