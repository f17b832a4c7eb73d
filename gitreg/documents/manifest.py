"""The registry's document kinds as frozen dataclasses, and their YAML form.

Documents are validated against their schema when read (``parse``) and before
they are written (``render``); the rest of the code only sees these types.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gitreg import lazy
from gitreg.documents import layout
from gitreg.documents.names import Quoted
from gitreg.errors import InvalidDocumentError, UsageError

if TYPE_CHECKING:
    from gitreg.documents import schema, yamlio
    from gitreg.storage.memo import Memo
else:  # a read whose documents are all in the memo imports neither YAML nor JSON Schema code
    schema, yamlio = lazy.module("gitreg.documents.schema"), lazy.module("gitreg.documents.yamlio")

API_VERSION = "gitreg/v1"
DEFAULT_STAGES = ("development", "staging", "production")
STATUSES = ("active", "deprecated", "archived")

Scalar = str | int | float | bool | None


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


# Fields of a version that no later commit may change (docs/design.md §1).
CORE_FIELDS = (
    "model",
    "version",
    "created_at",
    "created_by",
    "artifact",
    "metrics",
    "params",
    "metadata",
    "lineage",
    "signature",
    "input_example",
    "environment",
    "data",
    "datasets",
)


def core_changes(old: ModelVersion, new: ModelVersion) -> list[str]:
    """The registered-core fields in which two manifests of a version differ
    (none: the same registration, whatever was annotated since)."""
    old_doc, new_doc = _plain(old.to_doc()), _plain(new.to_doc())
    return [name for name in CORE_FIELDS if old_doc.get(name) != new_doc.get(name)]


APPEND_ONLY = ("evaluations", "annotations", "approvals")  # lists a later commit may only extend


def _rewritten(old: ModelVersion, new: ModelVersion) -> list[str]:
    return [name for name in APPEND_ONLY if getattr(new, name)[: len(getattr(old, name))] != getattr(old, name)]


def same_registration(then: ModelVersion, now: ModelVersion) -> bool:
    """Whether ``now`` is the version registered as ``then``: the same core,
    and its evaluations, annotations and approvals only appended to (labels
    and descriptions are no part of what was registered)."""
    return not core_changes(then, now) and not _rewritten(then, now)


def record_changes(old: ModelVersion, new: ModelVersion) -> list[str]:
    """What a later manifest of a version changed other than by appending
    records: the append-only lists rewritten, or ``labels`` and
    ``description`` not what the appended annotations make of them."""
    found = _rewritten(old, new)
    if "annotations" not in found:
        labels, description = annotated(old.labels, old.description, new.annotations[len(old.annotations) :])
        found += [
            name for name, want in (("labels", labels), ("description", description)) if getattr(new, name) != want
        ]
    return found


def _plain(value: Any) -> Any:
    """Deep copy into plain dicts/lists for serialisation."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _default_requires(stages: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
    if "production" in stages and "staging" in stages:
        return _frozen({"production": ("staging",)})
    return _frozen(None)


@dataclass(frozen=True)
class Retention:
    """``retention`` in the config: what ``gitreg gc`` may remove."""

    max_versions: int | None = None
    keep_days: float | None = None
    keep_stages: tuple[str, ...] = ()
    keep_labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))

    @property
    def expires_anything(self) -> bool:
        return self.max_versions is not None or self.keep_days is not None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Retention:
        return cls(
            doc.get("max_versions"),
            doc.get("keep_days"),
            tuple(doc.get("keep_stages", ())),
            _frozen(doc.get("keep_labels")),
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.max_versions is not None:
            doc["max_versions"] = self.max_versions
        if self.keep_days is not None:
            doc["keep_days"] = self.keep_days
        if self.keep_stages:
            doc["keep_stages"] = list(self.keep_stages)
        if self.keep_labels:
            doc["keep_labels"] = dict(self.keep_labels)
        return doc


@dataclass(frozen=True)
class Hook:
    """An ``events`` subscription in the config: a webhook or a command."""

    on: str
    webhook: str | None = None
    command: tuple[str, ...] = ()

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"on": self.on}
        if self.webhook is not None:
            doc["webhook"] = self.webhook
        if self.command:
            doc["command"] = list(self.command)
        return doc


@dataclass(frozen=True)
class Transition:
    """``promotion.transitions.<stage>`` in the config: the stages a version
    may enter ``<stage>`` from (None: any), and whether the holder it
    replaces is archived."""

    sources: tuple[str, ...] | None = None
    archive_replaced: bool = False

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {} if self.sources is None else {"from": list(self.sources)}
        return doc | ({"archive_replaced": True} if self.archive_replaced else {})


@dataclass(frozen=True)
class SignaturePolicy:
    """What a stage requires of a version's signatures (``require_signature``):
    one valid OMS signature, covering exactly the artifact's files, by one of
    these signers. Keys and certificate authorities are PEM files in the
    registry under ``.gitreg/`` (a change to them needs the owners' review)."""

    keys: tuple[str, ...] = ()  # public keys (EC): a signature made with one of them
    certificates: tuple[str, ...] = ()  # CA certificates: a signing certificate chained to one of them
    identities: tuple[str, ...] = ()  # with certificates or keyless: the signer's e-mail, URI or name
    issuers: tuple[str, ...] = ()  # keyless (Sigstore): the OpenID Connect issuers trusted

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SignaturePolicy:
        return cls(*(tuple(doc.get(k, ())) for k in ("keys", "certificates", "identities", "issuers")))

    def to_doc(self) -> dict[str, Any]:
        fields = {"keys": self.keys, "certificates": self.certificates, "identities": self.identities}
        return {k: list(v) for k, v in (fields | {"issuers": self.issuers}).items() if v}

    def files(self) -> tuple[str, ...]:
        return (*self.keys, *self.certificates)


def signature_policy(model: Model | None, stage: str, config: RegistryConfig) -> SignaturePolicy | None:
    """What ``stage`` requires of a version's signatures: the model's policy
    for it, else the registry's; None: nothing."""
    own = model.require_signature.get(stage) if model is not None else None
    return own or config.require_signature.get(stage)


def _policies(doc: Mapping[str, Any] | None) -> Mapping[str, SignaturePolicy]:
    return _frozen({stage: SignaturePolicy.from_doc(p) for stage, p in (doc or {}).items()})


@dataclass(frozen=True)
class RegistryConfig:
    models_dir: str = "models"
    stages: tuple[str, ...] = DEFAULT_STAGES
    default_bump: str = "patch"
    remote: str = "storage"
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _default_requires(DEFAULT_STAGES))
    retention: Retention | None = None
    hooks: tuple[Hook, ...] = ()
    transitions: Mapping[str, Transition] = field(default_factory=lambda: _frozen(None))
    require_signature: Mapping[str, SignaturePolicy] = field(default_factory=lambda: _frozen(None))

    KIND = "RegistryConfig"

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RegistryConfig:
        stages = tuple(doc["stages"])
        promotion = doc.get("promotion")
        requires = (
            _frozen({k: tuple(v) for k, v in promotion.get("requires", {}).items()})
            if promotion is not None
            else _default_requires(stages)
        )
        return cls(
            models_dir=doc["models_dir"],
            stages=stages,
            default_bump=doc["versioning"]["default_bump"],
            remote=doc["artifacts"]["remote"],
            requires=requires,
            retention=Retention.from_doc(doc["retention"]) if "retention" in doc else None,
            hooks=tuple(Hook(h["on"], h.get("webhook"), tuple(h.get("command", ()))) for h in doc.get("events", ())),
            transitions=_frozen(
                {
                    stage: Transition(tuple(t["from"]) if "from" in t else None, bool(t.get("archive_replaced", False)))
                    for stage, t in (promotion or {}).get("transitions", {}).items()
                }
            ),
            require_signature=_policies(doc.get("require_signature")),
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": self.KIND,
            "models_dir": self.models_dir,
            "stages": list(self.stages),
            "versioning": {"default_bump": self.default_bump},
            "artifacts": {"remote": self.remote},
            "promotion": {"requires": {k: list(v) for k, v in self.requires.items()}},
        }
        if self.transitions:
            doc["promotion"]["transitions"] = {k: t.to_doc() for k, t in self.transitions.items()}
        if self.retention is not None:
            doc["retention"] = self.retention.to_doc()
        if self.hooks:
            doc["events"] = [h.to_doc() for h in self.hooks]
        if self.require_signature:
            doc["require_signature"] = {k: p.to_doc() for k, p in self.require_signature.items()}
        return doc

    def unknown_stages(self) -> list[tuple[str, str]]:
        """(JSON pointer, stage) for stages the promotion policy or the
        retention policy names that are not configured."""
        named = [("/promotion/requires", s) for target, needed in self.requires.items() for s in (target, *needed)]
        named += [("/retention/keep_stages", s) for s in (self.retention.keep_stages if self.retention else ())]
        named += [
            ("/promotion/transitions", s)
            for target, rule in self.transitions.items()
            for s in (target, *(rule.sources or ()))
        ]
        return [(where, s) for where, s in dict.fromkeys(named) if s not in self.stages]

    def rank(self, stage: str) -> int:
        return self.stages.index(stage)

    def where(self, held: Sequence[str]) -> tuple[str, ...]:
        """The stages a version is in, for the transition rules: those it
        holds, else the lowest stage."""
        return tuple(held) or self.stages[:1]

    def refused_transition(self, target: str, held: Sequence[str]) -> str | None:
        """Why a version holding ``held`` may not enter ``target`` under
        ``promotion.transitions`` (None: it may)."""
        rule = self.transitions.get(target)
        if rule is None or rule.sources is None or target in held:
            return None
        now = self.where(held)
        if any(s in rule.sources for s in now):
            return None
        allowed = ", ".join(rule.sources) or "nowhere"
        return (
            f"{target} may be entered from {allowed} only (promotion.transitions); the version is in {', '.join(now)}"
        )


@dataclass(frozen=True)
class AutoDeploy:
    """``auto_deploy`` in model.yaml: after ``register``, promote the new
    version to ``stage`` if ``strategy`` (``gitreg deploy``'s) chooses it."""

    stage: str
    strategy: str = "best"
    metric: str | None = None
    min_improvement: float | None = None
    min_improvement_pct: float | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> AutoDeploy:
        return cls(
            doc["stage"],
            doc.get("strategy", "best"),
            doc.get("metric"),
            doc.get("min_improvement"),
            doc.get("min_improvement_pct"),
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"stage": self.stage, "strategy": self.strategy}
        for key in ("metric", "min_improvement", "min_improvement_pct"):
            if getattr(self, key) is not None:
                doc[key] = getattr(self, key)
        return doc


@dataclass(frozen=True)
class Model:
    name: str
    description: str = ""
    owners: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    gates: Mapping[str, Mapping[str, float | bool]] = field(default_factory=lambda: _frozen(None))
    monitor_threshold: float | None = None  # `gitreg monitor`'s relative drop that triggers a rollback
    auto_deploy: AutoDeploy | None = None
    origin: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))  # what an import's source said
    require_signature: Mapping[str, SignaturePolicy] = field(default_factory=lambda: _frozen(None))
    type: str = "model"  # model | dataset
    versioning: str = "semver"  # semver | date (YYYY.M.D, then YYYY.M.D-N)

    KIND = "Model"

    @property
    def is_dataset(self) -> bool:
        return self.type == "dataset"

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Model:
        return cls(
            name=doc["name"],
            description=doc.get("description", ""),
            owners=tuple(doc.get("owners", ())),
            labels=_frozen(doc.get("labels")),
            gates=_frozen({k: _frozen(v) for k, v in doc.get("gates", {}).items()}),
            monitor_threshold=doc.get("monitor", {}).get("threshold"),
            auto_deploy=AutoDeploy.from_doc(doc["auto_deploy"]) if "auto_deploy" in doc else None,
            origin=_frozen(doc.get("origin")),
            require_signature=_policies(doc.get("require_signature")),
            type=doc.get("type", "model"),
            versioning=doc.get("versioning", "semver"),
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": self.KIND, "name": self.name}
        if self.type != "model":
            doc["type"] = self.type
        if self.versioning != "semver":
            doc["versioning"] = self.versioning
        doc["description"] = self.description
        doc["owners"] = list(self.owners)
        doc["labels"] = _plain(self.labels)
        doc["gates"] = _plain(self.gates)
        if self.monitor_threshold is not None:
            doc["monitor"] = {"threshold": self.monitor_threshold}
        if self.auto_deploy is not None:
            doc["auto_deploy"] = self.auto_deploy.to_doc()
        if self.require_signature:
            doc["require_signature"] = {k: p.to_doc() for k, p in self.require_signature.items()}
        if self.origin:
            doc["origin"] = _plain(self.origin)
        return doc


FILES_LISTED = 1000  # a folder of more files records only its folder_sha256 (a manifest stays small)


def folder_sha256(files: Mapping[str, str]) -> str:
    """A folder's SHA-256: of the JSON text ``[["relpath","sha256"],...]``
    of its files sorted by path (no spaces, UTF-8). It changes when any
    file's bytes, name, or presence does."""
    listed = json.dumps(sorted(files.items()), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(listed.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Artifact:
    path: str
    md5: str
    size: int
    remote: str
    nfiles: int | None = None
    # SHA-256 beside DVC's md5 (which is not collision-resistant): a file's
    # digest, or a folder's (``folder_sha256`` of its files' digests)
    sha256: str | None = None
    # a folder's files and their SHA-256, when it has at most FILES_LISTED
    files: Mapping[str, str] | None = None

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Artifact:
        files = doc.get("files")
        return cls(
            doc["path"],
            doc["md5"],
            doc["size"],
            doc["remote"],
            doc.get("nfiles"),
            doc.get("sha256"),
            _frozen(files) if files is not None else None,
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path, "hash": "md5", "md5": self.md5}
        if self.sha256 is not None:
            doc["sha256"] = self.sha256
        doc["size"] = self.size
        if self.nfiles is not None:
            doc["nfiles"] = self.nfiles
        doc["remote"] = self.remote
        if self.files is not None:
            doc["files"] = dict(self.files)
        return doc

    def dvc_file(self, folder: str = "") -> str:
        """The text of a ``.dvc`` file with which stock DVC pulls this
        artifact (to ``folder/<path>`` beside the file, when given)."""
        path = f"{folder}/{self.path}" if folder else self.path
        if folder and _PLAIN_PATH.fullmatch(path) and _PLAIN_MD5.fullmatch(self.md5):
            # what yamlio.dump writes for these (no YAML resolver reads such text as anything but a string),
            # without its cost: the checker derives one per version (tests/test_properties.py compares them)
            nfiles = f"  nfiles: {self.nfiles}\n" if self.nfiles is not None else ""
            return f"outs:\n- md5: {self.md5}\n  size: {self.size}\n{nfiles}  hash: md5\n  path: {path}\n"
        out: dict[str, Any] = {"md5": self.md5, "size": self.size}
        if self.nfiles is not None:
            out["nfiles"] = self.nfiles
        out |= {"hash": "md5", "path": path}
        return yamlio.dump({"outs": [out]})


@dataclass(frozen=True)
class InputExample:
    """A version's input example: a second small artifact (``artifact``,
    stored and verified like the model), its format, and what it holds."""

    artifact: Artifact
    format: str  # json | csv | npy | npz
    inputs: tuple[str, ...] = ()  # its columns or named tensors (none: one unnamed tensor)
    rows: int | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> InputExample:
        return cls(Artifact.from_doc(doc), doc["format"], tuple(doc.get("inputs", ())), doc.get("rows"))

    def to_doc(self) -> dict[str, Any]:
        doc = self.artifact.to_doc() | {"format": self.format, "inputs": list(self.inputs)}
        return doc | ({"rows": self.rows} if self.rows is not None else {})


ROLES = ("train", "eval")


@dataclass(frozen=True)
class DatasetLink:
    """A dataset version a model version was trained (``train``) or
    evaluated (``eval``) on; ``path``: where the training project's DVC
    tracked those bytes, when the link was found by their hash."""

    dataset: str
    version: str
    role: str = "train"
    path: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> DatasetLink:
        return cls(doc["dataset"], doc["version"], doc["role"], doc.get("path"))

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"dataset": self.dataset, "version": Quoted(self.version), "role": self.role}
        if self.path is not None:
            doc["path"] = self.path
        return doc


@dataclass(frozen=True)
class Evaluation:
    at: str
    by: str
    metrics: Mapping[str, float]
    environment: str | None = None

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"at": self.at, "by": self.by}
        if self.environment is not None:
            doc["environment"] = self.environment
        doc["metrics"] = dict(self.metrics)
        return doc


@dataclass(frozen=True)
class Annotation:
    """One record of what was said about a version after its registration
    (``gitreg annotate``, or ``gitreg monitor`` marking it degraded): records
    are only appended, and a version's ``labels`` and ``description`` are
    its registered ones with every record applied in order."""

    at: str
    by: str
    reason: str = ""
    description: str | None = None  # the new description
    labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))  # set (or changed)
    unset_labels: tuple[str, ...] = ()  # removed
    degraded: bool | None = None  # True: marked degraded; False: the mark cleared
    evidence: str = ""  # what showed the degradation (the measurement)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Annotation:
        return cls(
            doc["at"],
            doc["by"],
            doc.get("reason", ""),
            doc.get("description"),
            _frozen(doc.get("labels")),
            tuple(doc.get("unset_labels", ())),
            doc.get("degraded"),
            doc.get("evidence", ""),
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"at": self.at, "by": self.by}
        if self.reason:
            doc["reason"] = self.reason
        if self.description is not None:
            doc["description"] = self.description
        if self.labels:
            doc["labels"] = dict(self.labels)
        if self.unset_labels:
            doc["unset_labels"] = list(self.unset_labels)
        if self.degraded is not None:
            doc["degraded"] = self.degraded
        if self.evidence:
            doc["evidence"] = self.evidence
        return doc

    def apply(self, labels: Mapping[str, str], description: str) -> tuple[Mapping[str, str], str]:
        """``labels`` and ``description`` after this record."""
        merged = {k: v for k, v in labels.items() if k not in self.unset_labels} | dict(self.labels)
        return _frozen(merged), description if self.description is None else self.description


@dataclass(frozen=True)
class Approval:
    """One person's approval of a version for a stage (``gitreg approve``):
    who by the git identity, when, and an optional note. Records are only
    appended; ``require_approvals`` gates count distinct approvers."""

    at: str
    by: str
    stage: str
    note: str = ""

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Approval:
        return cls(doc["at"], doc["by"], doc["stage"], doc.get("note", ""))

    def to_doc(self) -> dict[str, Any]:
        doc = {"at": self.at, "by": self.by, "stage": self.stage}
        return doc | ({"note": self.note} if self.note else {})


def annotated(labels: Mapping[str, str], description: str, records: Sequence[Annotation]) -> tuple[dict[str, str], str]:
    """``labels`` and ``description`` with ``records`` applied in order."""
    for record in records:
        labels, description = record.apply(labels, description)
    return dict(labels), description


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: str
    created_at: str
    created_by: str
    artifact: Artifact
    metrics: Mapping[str, float] = field(default_factory=lambda: _frozen(None))
    params: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))
    metadata: Mapping[str, Scalar] = field(default_factory=lambda: _frozen(None))
    lineage: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))
    signature: Mapping[str, Any] | None = None
    input_example: InputExample | None = None
    environment: Mapping[str, Any] | None = None
    data: Mapping[str, Any] | None = None  # a dataset version's data metadata (documents.datameta)
    datasets: tuple[DatasetLink, ...] = ()  # the dataset versions it was trained and evaluated on
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    status: str = "active"
    evaluations: tuple[Evaluation, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    approvals: tuple[Approval, ...] = ()

    KIND = "ModelVersion"

    def approvers(self, stage: str) -> tuple[str, ...]:
        """The distinct identities that approved this version for ``stage``, in order."""
        return tuple(dict.fromkeys(a.by for a in self.approvals if a.stage == stage))

    @property
    def stored(self) -> tuple[Artifact, ...]:
        """Every artifact the version keeps in a DVC remote: the model's,
        then its input example's."""
        return (self.artifact,) if self.input_example is None else (self.artifact, self.input_example.artifact)

    def moved_to(self, remote: Callable[[str], str]) -> ModelVersion:
        """This version with each stored artifact's DVC remote renamed by ``remote``."""
        example = self.input_example
        if example is not None:
            example = replace(example, artifact=replace(example.artifact, remote=remote(example.artifact.remote)))
        artifact = replace(self.artifact, remote=remote(self.artifact.remote))
        return replace(self, artifact=artifact, input_example=example)

    @property
    def degraded(self) -> Annotation | None:
        """The record that marked this version degraded, unless a later one
        cleared the mark."""
        for record in reversed(self.annotations):
            if record.degraded is not None:
                return record if record.degraded else None
        return None

    @property
    def state(self) -> str:
        """The status as users see it: ``degraded`` for an active version
        marked degraded, else ``status``."""
        return "degraded" if self.status == "active" and self.degraded else self.status

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ModelVersion:
        return cls(
            model=doc["model"],
            version=doc["version"],
            created_at=doc["created_at"],
            created_by=doc["created_by"],
            artifact=Artifact.from_doc(doc["artifact"]),
            metrics=_frozen(doc.get("metrics")),
            params=_frozen(doc.get("params")),
            metadata=_frozen(doc.get("metadata")),
            lineage=_frozen(doc.get("lineage")),
            signature=_frozen(doc["signature"]) if "signature" in doc else None,
            input_example=InputExample.from_doc(doc["input_example"]) if "input_example" in doc else None,
            environment=_frozen(doc["environment"]) if "environment" in doc else None,
            data=_frozen(doc["data"]) if "data" in doc else None,
            datasets=tuple(DatasetLink.from_doc(link) for link in doc.get("datasets", ())),
            description=doc.get("description", ""),
            labels=_frozen(doc.get("labels")),
            status=doc["status"],
            evaluations=tuple(
                Evaluation(e["at"], e["by"], _frozen(e["metrics"]), e.get("environment"))
                for e in doc.get("evaluations", ())
            ),
            annotations=tuple(Annotation.from_doc(a) for a in doc.get("annotations", ())),
            approvals=tuple(Approval.from_doc(a) for a in doc.get("approvals", ())),
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": self.KIND,
            "model": self.model,
            "version": Quoted(self.version),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "description": self.description,
            "labels": _plain(self.labels),
            "status": self.status,
            "artifact": self.artifact.to_doc(),
            "metrics": _plain(self.metrics),
            "params": _plain(self.params),
            "metadata": _plain(self.metadata),
            "lineage": _plain(self.lineage),
        }
        if self.signature is not None:
            doc["signature"] = _plain(self.signature)
        if self.input_example is not None:
            doc["input_example"] = self.input_example.to_doc()
        if self.environment is not None:
            doc["environment"] = _plain(self.environment)
        if self.data is not None:
            doc["data"] = _plain(self.data)
        if self.datasets:
            doc["datasets"] = [link.to_doc() for link in self.datasets]
        doc["evaluations"] = [e.to_doc() for e in self.evaluations]
        if self.annotations:
            doc["annotations"] = [a.to_doc() for a in self.annotations]
        if self.approvals:
            doc["approvals"] = [a.to_doc() for a in self.approvals]
        return doc


@dataclass(frozen=True)
class StagePointer:
    model: str
    stage: str
    version: str
    promoted_at: str
    promoted_by: str
    reason: str = ""

    KIND = "StagePointer"

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StagePointer:
        return cls(
            doc["model"],
            doc["stage"],
            doc["version"],
            doc["promoted_at"],
            doc["promoted_by"],
            doc.get("reason", ""),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": self.KIND,
            "model": self.model,
            "stage": self.stage,
            "version": Quoted(self.version),
            "promoted_at": self.promoted_at,
            "promoted_by": self.promoted_by,
            "reason": self.reason,
        }


Document = RegistryConfig | Model | ModelVersion | StagePointer


def parse(data: bytes | str, kind: type[Any], source: str, memo: Memo | None = None) -> Any:
    """Load, validate and type one registry file of the given kind; with a
    ``memo``, a document validated before is not parsed again."""

    def judged() -> dict[str, Any]:
        return schema.validate(yamlio.load(data, source), kind.KIND, source)

    if memo is None or isinstance(data, str):
        return kind.from_doc(judged())
    return kind.from_doc(memo.recall(kind.KIND, data, judged))


def parse_at(data: bytes | str, kind: type[Any], path: str, memo: Memo | None = None, **expected: str) -> Any:
    """``parse``, then check the fields the file's path implies (model, version, stage)."""
    document = parse(data, kind, path, memo)
    _expect(path, {key: getattr(document, key) for key in expected}, expected)
    return document


def validated_at(data: bytes, kind: type[Any], path: str, **expected: str) -> dict[str, Any]:
    """``parse_at`` without the typing: the document's fields as plain,
    schema-valid values (what crosses to another process)."""
    doc = schema.validate(yamlio.load(data, path), kind.KIND, path)
    _expect(path, {key: doc.get(key) for key in expected}, expected)
    return doc


def _expect(path: str, found: Mapping[str, Any], expected: Mapping[str, str]) -> None:
    for key, want in expected.items():
        if found[key] != want:
            raise InvalidDocumentError(f"{path}: /{key}: is {found[key]!r} but the file's path says {want!r}")


_PLAIN_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*/[A-Za-z0-9_][A-Za-z0-9._-]*")
_PLAIN_MD5 = re.compile(r"[0-9a-f]*[acdf][0-9a-f]*(?:\.dir)?")  # a letter no number syntax uses


def version_file(models_dir: str, document: ModelVersion) -> tuple[str, bytes]:
    """A registered version's manifest path and bytes, for an edit after
    registration (its DVC pointer does not change)."""
    path = layout.version_path(models_dir, document.model, document.version)
    return path, render(document, path)


def version_files(models_dir: str, document: ModelVersion) -> dict[str, bytes]:
    """What a registered version writes: its manifest, and its DVC pointer
    (derived: the artifact entry, pulled by DVC to ``<version>/<path>`` beside
    it), through which every stock DVC command knows the version's bytes."""
    path = layout.version_path(models_dir, document.model, document.version)
    pointer = layout.dvc_path(models_dir, document.model, document.version)
    return {path: render(document, path), pointer: document.artifact.dvc_file(document.version).encode()}


def render(document: Document, source: str) -> bytes:
    """YAML bytes for ``document``, validated against its schema first, and
    no larger than a reader loads (``yamlio.MAX_BYTES``): nothing is
    written that its own reads would refuse (too large is the input's
    fault: exit 2)."""
    doc = document.to_doc()
    schema.validate(_plain(doc), document.KIND, source)
    data = yamlio.dump(doc).encode("utf-8")
    if len(data) > yamlio.MAX_BYTES:
        raise UsageError(f"{source}: the file would be {len(data):,} bytes, over the {yamlio.MAX_BYTES:,}-byte limit")
    return data
