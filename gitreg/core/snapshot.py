"""The registry as it is at one commit: every read sees only that commit and
reads only the trees and files it needs (no history walk, no tag parsing)."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from gitreg import lazy
from gitreg.documents import layout, manifest, reference
from gitreg.documents.manifest import Artifact, Model, ModelVersion, RegistryConfig, StagePointer
from gitreg.documents.names import Version, check_model_name, check_name, namespace
from gitreg.errors import ConflictError, InvalidDocumentError, NotFoundError, UsageError
from gitreg.storage import memo
from gitreg.storage.git import Repo

if TYPE_CHECKING:
    from gitreg.documents import query
    from gitreg.documents.query import Condition
else:
    query = lazy.module("gitreg.documents.query")  # filters only

T = TypeVar("T")


def timestamp(epoch: float) -> str:
    """RFC 3339 in UTC, to the microsecond: two writers that do the same thing
    in the same second still write different files, hence different commits."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(stamp: str) -> float:
    """A document's RFC 3339 time (``timestamp``'s) as epoch seconds."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Resolved:
    """What a deploy script needs to fetch a version."""

    model: str
    version: str
    stage: str | None  # when resolved through a stage
    status: str
    registry_commit: str | None  # the registry state it was resolved at
    version_commit: str | None  # the commit that registered the version
    artifact: Artifact
    remote_url: str | None  # the DVC remote's URL in that registry state


@dataclass(frozen=True)
class ModelSummary:
    name: str
    latest: str | None
    stages: Mapping[str, str]
    versions: int
    type: str = "model"  # model | dataset


class ModelList(list[ModelSummary]):
    """``list_models``' answer: one summary per model, and the registry's
    stages in their configured order (the columns a listing shows)."""

    def __init__(self, models: Iterable[ModelSummary] = (), stages: Sequence[str] = ()) -> None:
        super().__init__(models)
        self.stages = tuple(stages)


@dataclass(frozen=True)
class VersionSummary:
    model: str
    version: str
    stages: tuple[str, ...]
    status: str
    created_at: str
    created_by: str
    metrics: Mapping[str, float]

    @property
    def stage(self) -> str:
        """The stage as users see it (docs/design.md §1)."""
        if self.stages:
            return ", ".join(self.stages)
        return self.status if self.status != "active" else "development"


@dataclass(frozen=True)
class Catalogued:
    """One model's documents: versions newest first, pointers by stage."""

    versions: list[ModelVersion]
    pointers: dict[str, StagePointer]


class Snapshot:
    """The registry as it is at one commit; every read sees only that commit."""

    def __init__(self, repo: Repo, commit: str | None, remember: bool = True) -> None:
        """``remember``: use the repository's memo of parsed documents (``gitreg.storage.memo``)."""
        self.repo = repo
        self.commit = commit
        self.memo = memo.of(repo) if remember else None

    @functools.cached_property
    def config(self) -> RegistryConfig:
        data = self.repo.read_paths(self.commit, [layout.CONFIG_PATH])[layout.CONFIG_PATH] if self.commit else None
        if data is None:
            raise NotFoundError(
                f"{self.repo.root} is not a gitreg registry (no {layout.CONFIG_PATH} on the "
                "current branch); run `gitreg init` there first"
            )
        config: RegistryConfig = manifest.parse(data, RegistryConfig, layout.CONFIG_PATH, self.memo)
        unknown = config.unknown_stages()
        if unknown:
            raise InvalidDocumentError(
                f"{layout.CONFIG_PATH}: {unknown[0][0]} names stage {unknown[0][1]!r}, which is not in /stages"
            )
        return config

    @property
    def models_dir(self) -> str:
        return self.config.models_dir

    def read_files(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        return self.repo.read_paths(self.commit, paths) if self.commit else dict.fromkeys(paths)

    def check_stage(self, stage: str) -> str:
        check_name(stage, "stage name")
        if stage not in self.config.stages:
            raise UsageError(
                f"unknown stage {stage!r}{_did_you_mean(stage, self.config.stages)}: "
                f"this registry's stages are {', '.join(self.config.stages)}"
            )
        return stage

    def unknown_model(self, model: str) -> NotFoundError:
        """The error for a model this registry does not have, naming the
        closest one it has."""
        return NotFoundError(f"model {model!r} is not registered{_did_you_mean(model, self.model_names())}")

    def check_place(self, model: str) -> None:
        """Refuse a new model whose folder would mix a model with a
        namespace: ``risk/fraud`` when ``risk`` is a model, ``risk`` when
        it is a namespace (``risk/fraud`` exists)."""
        folders = self._model_folders()
        if model in folders:
            return
        space = namespace(model)
        if space is not None and space in folders:
            raise ConflictError(f"cannot add model {model!r}: {space!r} is a model, so it cannot be a namespace too")
        inside = sorted(m for m in folders if m.startswith(model + "/"))
        if inside:
            raise ConflictError(f"cannot add model {model!r}: it is a namespace (model {inside[0]!r} is in it)")

    # -- listing from trees (no file contents) --------------------------------

    def model_names(self) -> list[str]:
        return sorted(self._model_folders())

    def _model_folders(self) -> dict[str, str]:
        """{model: its folder's tree id}. A folder under ``models_dir`` that
        holds none of a model's own files (``layout.MODEL_FILES``) but
        folders is a namespace, whose folders are models ``NAMESPACE/NAME``.
        What a folder is depends on its tree alone: remembered by tree id."""
        if not self.commit:
            return {}
        listing = self.repo.read_trees([f"{self.commit}:{self.models_dir}"])
        top = {name: oid for _, kind, oid, name in next(iter(listing.values())) or [] if kind == "tree"}
        found: dict[str, str] = {}
        unknown: dict[str, str] = {}
        for name, tree in top.items():
            known = self.memo.get_derived("Folder", tree) if self.memo else None
            if known is None:
                unknown[name] = tree
            elif known == "model":
                found[name] = tree
            else:
                found |= {f"{name}/{child}": oid for child, oid in known.items()}
        contents = self.repo.read_trees(list(unknown.values())) if unknown else {}
        for name, tree in unknown.items():
            entries = contents.get(tree) or []
            names = {entry[3] for entry in entries}
            children = {child: oid for _, kind, oid, child in entries if kind == "tree"}
            if names & set(layout.MODEL_FILES) or not children:
                found[name] = tree
                value: object = "model"
            else:
                found |= {f"{name}/{child}": oid for child, oid in children.items()}
                value = children
            if self.memo:
                self.memo.put_derived("Folder", tree, value)
        return found

    def _names_in(self, folder: str) -> dict[str, str]:
        """{file stem: blob id} of the YAML files in ``folder``."""
        if not self.commit:
            return {}
        found = {}
        for entry in self.repo.ls_tree(self.commit, folder):
            name = entry.path.rsplit("/", 1)[-1]
            if entry.type == "blob" and name.endswith(layout.YAML_SUFFIX):
                found[name[: -len(layout.YAML_SUFFIX)]] = entry.oid
        return found

    def versions(self, model: str) -> list[Version]:
        """The model's versions, oldest first, from the file names."""
        names = self._names_in(layout.versions_dir(self.models_dir, model))
        return sorted(self.version_of_file(model, n) for n in names)

    def version_of_file(self, model: str, stem: str) -> Version:
        """The version a file name under the model's versions/ gives (a file name that is none is refused)."""
        try:
            return Version.parse(stem)
        except UsageError:
            path = layout.version_path(self.models_dir, model, stem)
            raise InvalidDocumentError(f"{path}: the file name is not a valid version") from None

    # -- documents -----------------------------------------------------------

    def _parse(self, path: str, data: bytes, kind: type[T], **expected: str) -> T:
        document: T = manifest.parse_at(data, kind, path, self.memo, **expected)
        return document

    def model(self, name: str) -> Model | None:
        path = layout.model_path(self.models_dir, name)
        data = self.read_files([path])[path]
        return None if data is None else self._parse(path, data, Model, name=name)

    def version(self, model: str, version: str) -> ModelVersion | None:
        path = layout.version_path(self.models_dir, model, version)
        data = self.read_files([path])[path]
        return None if data is None else self._parse(path, data, ModelVersion, model=model, version=version)

    def all_versions(self, model: str) -> list[ModelVersion]:
        """Every version document of ``model``, newest version first."""
        names = self._names_in(layout.versions_dir(self.models_dir, model))
        ordered = sorted(names, key=lambda n: self.version_of_file(model, n), reverse=True)
        blobs = self.repo.read_blobs([names[n] for n in ordered])
        return [
            self._parse(
                layout.version_path(self.models_dir, model, n), blobs[names[n]], ModelVersion, model=model, version=n
            )
            for n in ordered
        ]

    def pointers(self, model: str) -> dict[str, StagePointer]:
        """{stage: pointer} for the stages the model's versions hold."""
        names = self._names_in(layout.stages_dir(self.models_dir, model))
        blobs = self.repo.read_blobs(list(names.values()))
        return {
            stage: self._parse(
                layout.stage_path(self.models_dir, model, stage), blobs[oid], StagePointer, model=model, stage=stage
            )
            for stage, oid in sorted(names.items())
        }

    def summaries(self) -> list[ModelSummary]:
        """One line per model. A line depends only on the model's name and
        its folder, so it is remembered under the folder's tree id: a listing
        reads the models folder, then only the folders that changed since
        (their versions and stages trees and pointer files), all through the
        running object reader."""
        if not self.commit:
            return []
        folders = self._model_folders()
        lines: dict[str, ModelSummary] = {}
        for model, tree in folders.items():
            known = self.memo.get_derived(f"ModelSummary {model}", tree) if self.memo else None
            if known is not None and len(known) == 4:
                lines[model] = ModelSummary(model, known[0], known[1], known[2], known[3])
        missing = [model for model in folders if model not in lines]
        for line in self._summarise({model: folders[model] for model in missing}):
            lines[line.name] = line
            if self.memo:
                value = [line.latest, dict(line.stages), line.versions, line.type]
                self.memo.put_derived(f"ModelSummary {line.name}", folders[line.name], value)
        return [lines[model] for model in sorted(folders)]

    def _summarise(self, folders: Mapping[str, str]) -> list[ModelSummary]:
        """The lines of the models whose folders have these tree ids."""
        files = self.repo.file_names([f"{tree}:versions" for tree in folders.values()])
        stages = self.repo.read_trees([f"{tree}:stages" for tree in folders.values()])
        pointers: list[tuple[str, str, str]] = []  # (model, stage, blob id)
        stems: dict[str, list[str]] = {}
        cut = -len(layout.YAML_SUFFIX)
        for model, tree in folders.items():
            stems[model] = [name[:cut] for name in files[f"{tree}:versions"] or [] if name.endswith(layout.YAML_SUFFIX)]
            for _, kind, oid, name in stages[f"{tree}:stages"] or []:
                if kind == "blob" and name.endswith(layout.YAML_SUFFIX):
                    pointers.append((model, name[:cut], oid))
        described = {}  # model: its model.yaml's blob id
        listed = self.repo.read_trees(sorted(set(folders.values())))
        for model, tree in folders.items():
            for _, kind, oid, name in listed[tree] or []:
                if kind == "blob" and name == "model.yaml":
                    described[model] = oid
        blobs = self.repo.read_blobs([oid for _, _, oid in pointers] + list(described.values()))
        types = {
            model: self._parse(layout.model_path(self.models_dir, model), blobs[oid], Model, name=model).type
            for model, oid in described.items()
        }
        held: dict[str, dict[str, str]] = {}
        for model, stage, oid in sorted(pointers):
            path = layout.stage_path(self.models_dir, model, stage)
            pointer = self._parse(path, blobs[oid], StagePointer, model=model, stage=stage)
            held.setdefault(model, {})[stage] = pointer.version
        # each distinct file name parsed once (the same versions recur across models)
        ranks: dict[str, tuple[object, ...]] = {}
        for name in set().union(*stems.values()):
            try:
                ranks[name] = Version.parse(name).sort_key()
            except UsageError:
                model = min(m for m, names in stems.items() if name in names)
                raise InvalidDocumentError(
                    f"{layout.version_path(self.models_dir, model, name)}: the file name is not a valid version"
                ) from None
        lines = []
        for model, names in stems.items():
            latest = str(Version.parse(max(names, key=ranks.__getitem__))) if names else None
            lines.append(ModelSummary(model, latest, held.get(model, {}), len(names), types.get(model, "model")))
        return lines

    def catalog(self, models: Sequence[str] | None = None) -> dict[str, Catalogued]:
        """Every version document and pointer of ``models`` (default: all),
        read with one tree listing and one batch read, whatever the count."""
        if not self.commit:
            return {}
        wanted = set(models) if models is not None else None
        places: dict[str, tuple[str, str, str]] = {}
        for item in self.repo.ls_tree(self.commit, self.models_dir, recursive=True):
            where = layout.classify(self.models_dir, item.path)
            if where is None or (wanted is not None and where.model not in wanted):
                continue
            places[item.path] = (item.oid, where.kind, where.model)
        blobs = self.repo.read_blobs([oid for oid, kind, _ in places.values() if kind in ("version", "stage")])
        found: dict[str, Catalogued] = {}
        for path, (oid, kind, model) in sorted(places.items()):
            entry = found.setdefault(model, Catalogued([], {}))
            where = layout.classify(self.models_dir, path)
            if where is None or kind not in ("version", "stage"):
                continue
            if kind == "version":
                self.version_of_file(model, where.name)
                entry.versions.append(self._parse(path, blobs[oid], ModelVersion, model=model, version=where.name))
            else:
                entry.pointers[where.name] = self._parse(path, blobs[oid], StagePointer, model=model, stage=where.name)
        for entry in found.values():
            entry.versions.sort(key=lambda v: Version.parse(v.version), reverse=True)
        return found

    def marked(self, key: str) -> Iterator[tuple[ModelVersion, Mapping[str, Any]]]:
        """Every version whose ``lineage`` holds a mapping under ``key``
        (where an import recorded its source: ``mlflow``, ``gto``), with it."""
        for entry in self.catalog().values():
            for version in entry.versions:
                mark = version.lineage.get(key)
                if isinstance(mark, Mapping):
                    yield version, mark

    def version_summaries(self, model: str, conditions: Sequence[Condition] = ()) -> list[VersionSummary]:
        """The model's versions, newest first; with ``conditions`` (see
        ``gitreg.documents.query``) only those that satisfy all of them."""
        check_model_name(model)
        docs = self.all_versions(model)
        if not docs and self.model(model) is None:
            raise self.unknown_model(model)
        holders = self.holders(model)
        found = []
        for d in docs:
            stages = holders.get(d.version, ())
            summary = VersionSummary(model, d.version, stages, d.state, d.created_at, d.created_by, d.metrics)
            seen = {"stage": list(stages) or [summary.stage], "status": summary.status}
            if conditions and not query.matches(conditions, manifest._plain(d.to_doc()) | seen):
                continue
            found.append(summary)
        return found

    def holders(self, model: str) -> dict[str, tuple[str, ...]]:
        """{version: the stages it holds, in the configured order}."""
        held: dict[str, list[str]] = {}
        for stage, pointer in self.pointers(model).items():
            held.setdefault(pointer.version, []).append(stage)
        order = {s: i for i, s in enumerate(self.config.stages)}
        return {v: tuple(sorted(s, key=lambda x: order.get(x, len(order)))) for v, s in held.items()}

    def search(self, conditions: Sequence[Condition], space: str | None = None) -> list[VersionSummary]:
        """Versions of every model (in namespace ``space``, if given) that
        satisfy all ``conditions``."""
        models = [m for m in self.model_names() if space is None or namespace(m) == space]
        return [v for model in models for v in self.version_summaries(model, conditions)]

    def _latest_active(self, model: str) -> ModelVersion:
        found = self.versions(model)
        if not found:
            raise (
                self.unknown_model(model)
                if self.model(model) is None
                else NotFoundError(f"model {model!r} has no versions")
            )
        for version in reversed(found):
            document = self.version(model, str(version))
            if document is not None and document.status == "active":
                return document
        raise NotFoundError(f"model {model!r} has no active version (all are deprecated or archived)")

    def registration_commit(self, model: str, version: str, strict: bool = False) -> str | None:
        """The commit that registered the version: its GTO tag's target when
        the tag is true to the files, or (when tags did not travel, e.g. after
        a pull request) the commit that added its file.

        A tag is true when the commit it points at holds the version's
        manifest as registered: the same blob as now, or the same registered
        core (annotations may have been added since). A tag that is not true
        (pushed by hand onto another commit) is ignored by reads; ``strict``
        (writes that would hang a stage tag on it) refuses it."""
        name = f"{model}@v{version}"
        tagged = self.repo.resolve(f"refs/tags/{name}")
        if tagged is not None and self.commit is not None and not self.true_tag(tagged, model, version):
            if strict:
                raise ConflictError(
                    f"tag {name} points at commit {tagged[:10]}, which does not hold {model} {version} as "
                    f"registered: delete it (git tag -d {name}, and on the remote) and run gitreg tags sync"
                )
            tagged = None
        if tagged is not None or self.commit is None:
            return tagged
        return self.repo.added_in(self.commit, layout.version_path(self.models_dir, model, version))

    def true_tag(self, tagged: str, model: str, version: str) -> bool:
        """Whether the registration tag's commit ``tagged`` holds the version as registered."""
        path = layout.version_path(self.models_dir, model, version)
        found = self.repo.read_objects([f"{tagged}:{path}", f"{self.commit}:{path}"])
        there, here = found[f"{tagged}:{path}"], found[f"{self.commit}:{path}"]
        if there is None and here is not None:
            return self._adopted_at(here, path, model, version, tagged)
        if there is None or here is None:
            return there is not None and here is None  # a version removed since: the tag is its record
        if there == here:
            return True
        try:
            then = manifest.parse_at(there, ModelVersion, path, model=model, version=version)
            now = manifest.parse_at(here, ModelVersion, path, model=model, version=version)
        except InvalidDocumentError:
            return False
        return not manifest.core_changes(then, now)

    def _adopted_at(self, data: bytes, path: str, model: str, version: str, tagged: str) -> bool:
        """Whether the manifest ``data`` is a version adopted from GTO's tag on
        ``tagged`` (``gitreg.operations.adopt``): its ``lineage.gto`` (part of the
        registered core) names that commit, and the bytes DVC tracked there
        are the manifest's — a manifest cannot claim a tag for other bytes."""
        from gitreg.operations import adopt

        try:
            document = manifest.parse_at(data, ModelVersion, path, model=model, version=version)
        except InvalidDocumentError:
            return False
        gto = document.lineage.get("gto")
        if not isinstance(gto, Mapping) or gto.get("commit") != tagged:
            return False
        there = adopt.artifact_at(self.repo, tagged, model, document.artifact.remote)
        mine = document.artifact
        return isinstance(there, Artifact) and (there.md5, there.size) == (mine.md5, mine.size)

    def locate(self, ref: str) -> Resolved:
        """``resolve`` plus the commits and the remote's URL, for deploy scripts."""
        from gitreg.storage import dvcconfig

        version = self.resolve(ref)
        what = reference.split(ref)[1]
        stage = what if what in self.config.stages else None
        dvc_config = self.read_files([layout.DVC_CONFIG_PATH])[layout.DVC_CONFIG_PATH] or b""

        def read() -> dict[str, str]:
            return dvcconfig.remotes(dvc_config.decode("utf-8"), layout.DVC_CONFIG_PATH)[1]

        urls = self.memo.recall("DvcRemotes", dvc_config, read) if self.memo else read()
        return Resolved(
            version.model,
            version.version,
            stage,
            version.status,
            self.commit,
            self.registration_commit(version.model, version.version),
            version.artifact,
            urls.get(version.artifact.remote),
        )

    def resolve(self, ref: str) -> ModelVersion:
        """``MODEL@VERSION``, ``MODEL@STAGE`` or ``MODEL@latest`` to a version
        (GTO's and MLflow's spellings too: ``gitreg.documents.reference``). ``latest``
        is the newest active version: deprecated and archived ones are
        skipped, as GTO skips them."""
        model, what = reference.split(ref)
        check_model_name(model)
        if not what:
            raise UsageError(f"{ref!r} names no version: use MODEL@VERSION, MODEL@STAGE or MODEL@latest")
        if what == "latest":
            return self._latest_active(model)
        if what[0].isdigit():
            version = str(Version.parse(what))
        else:
            stage = self.check_stage(what)
            pointer = self.pointers(model).get(stage)
            if pointer is None:
                if not self.versions(model) and self.model(model) is None:
                    raise self.unknown_model(model)
                raise NotFoundError(f"no version of {model!r} holds stage {stage!r}")
            version = pointer.version
        document = self.version(model, version)
        if document is None:
            if not self.versions(model) and self.model(model) is None:
                raise self.unknown_model(model)
            known = "" if self.versions(model) else f" (model {model!r} has no versions)"
            raise NotFoundError(f"{model}@{version} is not registered{known}")
        return document


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    """ " (did you mean 'x'?)" for the known name ``name`` abbreviates or
    most resembles, if any does."""
    close = [k for k in known if k.startswith(name)][:1] or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
