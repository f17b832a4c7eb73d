"""The Python API: one function per CLI command, with the same argument names.

``registry`` is a path, a git URL (a private clone is fetched before reading
and pushed to after writing) or an open ``Registry``; by default
``GITREG_REGISTRY``, then ``registry`` in a ``gitreg.toml``, then the
current folder.

``metrics``/``params`` take a mapping or a path to a JSON/YAML file; the
CLI's repeatable ``--metric``/``--metadata``/``--label k=v`` options arrive
here as the mappings ``metrics``/``metadata``/``labels``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gitreg import lazy
from gitreg.core import events
from gitreg.core.registry import Registry
from gitreg.core.snapshot import ModelList, Resolved, VersionSummary
from gitreg.documents import names, reference
from gitreg.documents.manifest import Model, ModelVersion
from gitreg.documents.names import check_model_name, check_name
from gitreg.errors import ArtifactError, NotFoundError, UsageError
from gitreg.storage.git import Repo

if TYPE_CHECKING:
    from gitreg.ci import check as checking
    from gitreg.ci.check import Report
    from gitreg.documents import inputs, query
    from gitreg.documents.runs import Point, Run
    from gitreg.operations import annotate as annotating
    from gitreg.operations import approve as approving
    from gitreg.operations import compare as comparing
    from gitreg.operations import datasets as data_registry
    from gitreg.operations import deploy as deploying
    from gitreg.operations import diff as changes
    from gitreg.operations import doctor as diagnosis
    from gitreg.operations import environment as environments
    from gitreg.operations import export as exchange
    from gitreg.operations import gc as retention
    from gitreg.operations import history as hist
    from gitreg.operations import lifecycle
    from gitreg.operations import monitor as monitoring
    from gitreg.operations import runs as experiments
    from gitreg.operations import sign as signing
    from gitreg.operations import status as statusing
    from gitreg.operations import tags_sync as mirror
    from gitreg.operations.compare import Comparison
    from gitreg.operations.datasets import Use
    from gitreg.operations.deploy import Decision
    from gitreg.operations.diff import RegistryDiff
    from gitreg.operations.doctor import Finding, Synced
    from gitreg.operations.export import Imported
    from gitreg.operations.from_gto import GtoReport
    from gitreg.operations.from_mlflow import Report as MlflowReport
    from gitreg.operations.gc import Collected
    from gitreg.operations.history import Event
    from gitreg.operations.init import Initialised
    from gitreg.operations.lifecycle import Moved
    from gitreg.operations.model import ModelEdited
    from gitreg.operations.monitor import Monitored, Trend
    from gitreg.operations.register import Registered
    from gitreg.operations.runs import ActiveRun, FromRun, RunComparison, RunsCollected
    from gitreg.operations.sign import Signed
    from gitreg.operations.status import Status
    from gitreg.operations.tags_sync import SyncResult
    from gitreg.operations.upgrade import Upgraded
    from gitreg.site import build as site_build
    from gitreg.site import serve as site_serve
    from gitreg.site.build import Built
    from gitreg.storage.artifacts import Progress
else:  # each loads when a function here first uses it
    checking = lazy.module("gitreg.ci.check")
    site_build, site_serve = lazy.module("gitreg.site.build"), lazy.module("gitreg.site.serve")
    signing = lazy.module("gitreg.operations.sign")
    environments = lazy.module("gitreg.operations.environment")
    inputs, query = (lazy.module(f"gitreg.documents.{name}") for name in ("inputs", "query"))
    (
        annotating,
        approving,
        changes,
        comparing,
        data_registry,
        deploying,
        diagnosis,
        exchange,
        hist,
        lifecycle,
        mirror,
        monitoring,
        retention,
        experiments,
        statusing,
    ) = (
        lazy.module(f"gitreg.operations.{name}")
        for name in (
            "annotate",
            "approve",
            "diff",
            "compare",
            "datasets",
            "deploy",
            "doctor",
            "export",
            "history",
            "lifecycle",
            "tags_sync",
            "monitor",
            "gc",
            "runs",
            "status",
        )
    )

PathLike = str | os.PathLike[str]
RegistryArg = str | os.PathLike[str] | Registry | None


def open_registry(registry: RegistryArg = None, *, offline: bool = False) -> Registry:
    """The registry every other function takes as ``registry``: a path in its
    git repository or a git URL (None: ``GITREG_REGISTRY``, then
    ``gitreg.toml``, then the current folder). A URL's private clone is
    fetched now, unless ``offline``. Opening once and passing the result
    saves the fetch on every call."""
    opened = registry if isinstance(registry, Registry) else Registry.open(registry, offline=offline)
    events.opened(opened)
    return opened


_open = open_registry


def _metrics(metrics: Mapping[str, float | str] | PathLike | None, metrics_file: PathLike | None) -> dict[str, float]:
    """``metrics`` (a mapping or a file) over ``metrics_file``, checked."""
    return inputs.metrics(metrics_file) | inputs.metrics(metrics)


def _params(params: Mapping[str, Any] | None, params_file: PathLike | None) -> dict[str, Any]:
    """``params`` (a mapping) over ``params_file``, checked."""
    return inputs.params(params_file) | inputs.params(dict(params or {}))


def _progress(progress: bool | Progress) -> Progress | None:
    if progress is True:
        from gitreg import render

        return render.progress_bar
    return progress or None


@events.emits("init")
def init(
    path: PathLike = ".",
    *,
    remote: str | None = None,
    models_dir: str = "models",
    ci: str | None = None,
    ci_owners: str | None = None,
    ci_install: str | None = None,
    ci_namespace_owners: Mapping[str, str] | None = None,
    adopt: bool = False,
) -> Initialised:
    """Make ``path`` a registry (creating the folder and git repo if needed).

    Without ``remote`` artifacts go to a local folder, ``.gitreg/storage``;
    ``remote`` takes any DVC remote URL or path, in which the registry gets
    a folder of its own (``URL/gitreg-<8 hex>``: no DVC project sharing the
    remote can ``dvc gc`` its objects away). ``ci="github"`` adds the
    check and tag-sync workflows and a CODEOWNERS template (``ci_owners``
    for its approvers, ``ci_namespace_owners`` ``{namespace: owners}`` for
    the models of each namespace, ``ci_install`` for the pip spec the
    workflows install).
    Re-running is harmless.

    A repository GTO manages is refused, unless ``adopt``: then its
    versions, stage holders and deprecations become manifests and pointers
    in one more commit, every tag kept (``gitreg.operations.adopt``; the result's
    ``adopted`` says what was carried and what was left to GTO, and why).
    """
    from gitreg.operations import init as initialising

    if adopt:  # the adoption's modules load only for it
        from gitreg.operations import adopt as adoption

        adoption.preflight(Repo(path), models_dir)
    made = initialising.create(
        path,
        remote=remote,
        models_dir=models_dir,
        ci=ci,
        ci_owners=ci_owners,
        ci_install=ci_install,
        adopt=adopt,
        ci_namespace_owners=ci_namespace_owners,
    )
    return dataclasses.replace(made, adopted=adoption.adopt(_open(made.root))) if adopt else made


@events.emits("register")
def register(
    model: str,
    artifact: PathLike | None = None,
    *,
    version: str | None = None,
    bump: str | None = None,
    metrics: Mapping[str, float | str] | PathLike | None = None,
    metrics_file: PathLike | None = None,
    params: Mapping[str, Any] | PathLike | None = None,
    metadata: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    description: str | None = None,
    run_id: str | None = None,
    run_url: str | None = None,
    parent: str | None = None,
    require_clean: bool = False,
    progress: bool | Progress = False,
    auto_deploy: bool = True,
    branch: str | None = None,
    sign: str | None = None,
    signature: inputs.SignatureArg = None,
    input_example: Any = None,
    output_example: Any = None,
    requirements: PathLike | None = None,
    conda: PathLike | None = None,
    environment: bool = True,
    datasets: Sequence[str] = (),
    eval_datasets: Sequence[str] = (),
    from_run: str | None = None,
    registry: RegistryArg = None,
) -> Registered:
    """Store ``artifact`` and register it as a new version of ``model``.

    Without ``version`` the next ``bump`` (default: the registry's policy,
    patch) after the highest existing version is used; 1.0.0 for the first.
    ``metrics`` is a mapping or a JSON/YAML file (nested keys joined with
    '.'); ``metrics_file`` is read first and ``metrics`` overrides its keys.
    Lineage is captured on the way: the git repository the artifact sits in
    (URL without credentials, commit, branch, dirty flag; ``require_clean``
    refuses a dirty tree), the CI run (GitHub Actions, GitLab CI) or
    ``run_id``/``run_url``, and ``parent`` (an earlier version, for fine-tunes).
    ``progress``: True draws a bar on standard error for uploads over 8
    MiB, or give your own (``gitreg.storage.artifacts.Progress``).
    Returns the manifest with its commit and GTO tag (``.version``,
    ``.artifact`` and ``.model`` read through to the manifest).

    When model.yaml sets ``auto_deploy`` (and ``auto_deploy`` is not False
    here), a second commit promotes the new version through the stage's
    gates if the strategy chooses it, or to a pull-request ``branch``;
    ``.deployed`` says what happened, or why not (a refusal never undoes
    the registration).

    ``sign`` (``key:PATH``, ``certificate:CERT,KEY,CHAIN[,CHAIN...]``, ``sigstore``;
    the ``signing`` extra) commits an OMS signature of the artifact's bytes
    right after the registration, before any auto-deploy (``.signed``).

    ``signature`` (a mapping or a JSON/YAML file, gitreg's or MLflow's
    form, or MLflow's ``ModelSignature``; docs/signatures.md) says what the
    model takes and returns.
    ``input_example`` is a file (.json, .csv, .npy, .npz) or an object (a
    pandas DataFrame, a NumPy array, a dict of arrays), stored beside the
    artifact and verified like it; from an object, without ``signature``,
    the signature is inferred (with ``output_example``'s outputs; the
    ``infer`` extra). The environment is captured from this interpreter
    (Python, platform, installed distributions) unless ``environment`` is
    False, or read from ``requirements`` / ``conda`` (an environment.yml).

    ``datasets`` and ``eval_datasets`` (``NAME@VERSION``, or ``NAME@latest``)
    link the version to the registered dataset versions it was trained and
    evaluated on; a dataset version whose bytes the training project's DVC
    tracked as an input of the artifact's stage is linked without asking.

    ``from_run`` (a run of the experiment registry, by id: docs/experiments.md)
    takes the run's artifact (``artifact`` names it, when the run logged
    several), and, unless given here, its last metrics, its params and its
    environment; the version's lineage is the run's, and names the run.
    """
    from gitreg.operations import register as registering

    if from_run is None and artifact is None:
        raise UsageError("give the artifact to register (or --from-run RUN)")
    spec = signing.parse_spec(sign) if sign is not None else None
    if spec is not None:
        signing.check_available()
    io_signature, example = inputs.interface_inputs(signature, input_example, output_example)
    recorded, env_notes = environments.chosen(requirements, conda, environment)
    reg = _open(registry)
    if branch is not None:
        described = reg.snapshot().model(check_model_name(model))
        if not auto_deploy or described is None or described.auto_deploy is None:
            raise UsageError(f"--branch is for the auto-deploy promotion, and model {model!r} has no auto_deploy")
        branch = reg.repo.check_branch_name(branch) if branch else branch
    with _registration_source(reg, artifact, from_run) as (source, run):
        if run is not None and environment and requirements is None and conda is None and run.environment:
            recorded, env_notes = dict(run.environment), []
        registered = registering.register(
            reg,
            model,
            source,
            version=version,
            bump=bump,
            metrics=_metrics(metrics, metrics_file) or (run.metrics if run is not None else None),
            params=inputs.params(params) or (run.params if run is not None else None),
            metadata=inputs.metadata(metadata),
            labels=inputs.labels(labels),
            description=inputs.description(description),
            progress=_progress(progress),
            run_id=run_id,
            run_url=run_url,
            parent=parent,
            require_clean=require_clean,
            signature=io_signature,
            input_example=example,
            environment=recorded,
            environment_notes=tuple(env_notes),
            dataset_refs=[(ref, "train") for ref in datasets] + [(ref, "eval") for ref in eval_datasets],
            recorded_lineage=run.lineage if run is not None else None,
            expected_md5=run.md5 if run is not None else None,
        )
        if spec is not None:
            signed = signing.sign(reg, registered.model, registered.version, spec, source=Path(source))
            registered = dataclasses.replace(registered, signed=signed)
    if not auto_deploy:
        return registered
    deployed = deploying.after_registration(reg, registered.model, registered.version, branch=branch)
    return dataclasses.replace(registered, deployed=deployed) if deployed is not None else registered


@contextlib.contextmanager
def _registration_source(
    reg: Registry, artifact: PathLike | None, from_run: str | None
) -> Iterator[tuple[PathLike, FromRun | None]]:
    """The path to register (as given: checked where it is stored), and the
    run it comes from (``from_run``: the run's artifact pulled and verified
    into a temporary folder)."""
    if from_run is None:
        yield artifact or "", None
        return
    with experiments.registration_source(reg, from_run, None if artifact is None else os.fspath(artifact)) as taken:
        yield taken.path, taken


def register_dataset(
    name: str,
    artifact: PathLike,
    *,
    version: str | None = None,
    bump: str | None = None,
    versioning: str = "semver",
    schema: Mapping[str, Any] | PathLike | None = None,
    metadata: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    description: str | None = None,
    run_id: str | None = None,
    run_url: str | None = None,
    parent: str | None = None,
    require_clean: bool = False,
    progress: bool | Progress = False,
    registry: RegistryArg = None,
) -> Registered:
    """Store ``artifact`` (a file or folder) and register it as a new version
    of the dataset ``name``, with its data metadata: format, size and file
    count, and for CSV, TSV and Parquet (the ``data`` extra) its rows and
    each column's type and fraction of missing values.

    ``versioning`` is the scheme a new dataset takes: ``semver`` (like
    models; ``bump``), or ``date`` (``YYYY.M.D`` for the day, then
    ``YYYY.M.D-2``…). ``schema`` (a mapping or a JSON/YAML file: ``columns``
    with ``name``, ``type``, ``nullable``, or a Frictionless Table Schema)
    is recorded, and the data must fit it. The rest is as for ``register``.
    """
    from gitreg.documents import tabular
    from gitreg.operations import register as registering
    from gitreg.storage import artifacts

    if versioning not in names.VERSIONINGS:
        raise UsageError(f"invalid versioning {versioning!r}: use {' or '.join(names.VERSIONINGS)}")
    declared = None
    if isinstance(schema, Mapping):
        declared = tabular.parse_schema(schema, "the schema")
    elif schema is not None:
        declared = tabular.read_schema(schema)
    reg = _open(registry)
    data_registry.check_kind(check_model_name(name), reg.snapshot().model(name), "dataset")  # before reading the data
    source = artifacts.check_source(artifact).path
    computed = tabular.compute(source)
    data = dict(computed.data)
    if declared is not None:
        misfit = tabular.misfits(data, declared)
        if misfit:
            raise UsageError(f"{source.name} does not fit its schema: {'; '.join(misfit[:5])}")
        data["schema"] = declared
    registered = registering.register(
        reg,
        name,
        source,
        version=version,
        bump=bump,
        metadata=inputs.metadata(metadata),
        labels=inputs.labels(labels),
        description=inputs.description(description),
        progress=_progress(progress),
        run_id=run_id,
        run_url=run_url,
        parent=parent,
        require_clean=require_clean,
        kind="dataset",
        versioning=versioning,
        data=data,
    )
    return dataclasses.replace(registered, lineage_notes=(*registered.lineage_notes, *computed.notes))


def used_by(ref: str, *, at: str | None = None, registry: RegistryArg = None) -> list[Use]:
    """Every model version trained or evaluated on the dataset version
    ``ref`` (``NAME@VERSION``), with the stages it holds."""
    snap = _open(registry).snapshot_at(at)
    found = data_registry.dataset_version(snap, ref)
    return data_registry.used_by(snap, found.model, found.version)


def start_run(
    experiment: str,
    *,
    name: str = "",
    params: Mapping[str, Any] | None = None,
    params_file: PathLike | None = None,
    labels: Mapping[str, str] | None = None,
    environment: bool = True,
    code: PathLike | None = None,
    registry: RegistryArg = None,
) -> ActiveRun:
    """Start a run of ``experiment`` in the experiment registry: a ref beside
    the registry branch (``refs/gitreg/runs/EXPERIMENT/ID``), never a commit
    on it. Use it as a context manager::

        with gitreg.start_run("fraud-training", params={"lr": 0.1}) as run:
            run.log_metrics({"loss": 0.4}, step=1)
            run.log_artifact("model.pkl")

    The run records its code (the git repository ``code`` is in, by default
    the current folder's), the CI run, and this interpreter's environment
    (unless ``environment`` is False); it ends ``finished``, or ``failed``
    when the block raises.
    """
    recorded, _ = environments.chosen(None, None, environment)
    merged = _params(params, params_file)
    reg = _open(registry)
    run = experiments.start(
        reg,
        experiment,
        name=name,
        params=merged,
        labels=inputs.labels(labels),
        environment=recorded,
        where=Path(code) if code is not None else None,
    )
    return experiments.ActiveRun(reg, run)


def log_run(
    run: str,
    *,
    metrics: Mapping[str, float | str] | PathLike | None = None,
    metrics_file: PathLike | None = None,
    step: int | None = None,
    params: Mapping[str, Any] | None = None,
    params_file: PathLike | None = None,
    labels: Mapping[str, str] | None = None,
    artifacts: Sequence[PathLike] = (),
    registry: RegistryArg = None,
) -> Run:
    """Add to the run ``run`` (its id, or a unique prefix of it): metric
    points at ``step`` (default: each metric's next), params, labels, and
    files stored in the registry's DVC remote. One commit on the run's ref."""
    merged = _params(params, params_file)
    return experiments.log(
        _open(registry),
        run,
        metrics=_metrics(metrics, metrics_file),
        step=step,
        params=merged,
        labels=inputs.labels(labels),
        files=list(artifacts),
    )


def end_run(run: str, *, status: str = "finished", reason: str = "", registry: RegistryArg = None) -> Run:
    """End the run ``run``: ``finished``, ``failed`` or ``killed``."""
    return experiments.end(_open(registry), run, status, inputs.description(reason) if reason else "")


def list_runs(experiment: str | None = None, *, where: Sequence[str] = (), registry: RegistryArg = None) -> list[Run]:
    """The runs (of ``experiment``), newest first; ``where`` filters as
    ``list_versions`` does, over metrics.X, params.X, labels.X, id,
    experiment, name, status, started_at, started_by, ended_at."""
    return experiments.listed(_open(registry), experiment, where)


def show_run(run: str, *, registry: RegistryArg = None) -> Run:
    """The run ``run`` (its id, or a unique prefix of it)."""
    return experiments.find(_open(registry), run).run


def run_points(run: str, *, registry: RegistryArg = None) -> list[Point]:
    """Every metric point the run logged, in order."""
    reg = _open(registry)
    return experiments.points(reg, experiments.find(reg, run))


def compare_runs(runs: Sequence[str], *, registry: RegistryArg = None) -> RunComparison:
    """Params side by side and each metric's last value with its difference
    from the first run's."""
    return experiments.compare(_open(registry), runs)


def gc_runs(
    *, keep: int, experiment: str | None = None, dry_run: bool = False, registry: RegistryArg = None
) -> RunsCollected:
    """Keep the newest ``keep`` ended runs of each experiment (every running
    run, and every run a registered version came from, stays); remove the
    other runs' refs."""
    return experiments.gc(_open(registry), keep, experiment=experiment, dry_run=dry_run)


def list_models(
    *, namespace: str | None = None, type: str | None = None, at: str | None = None, registry: RegistryArg = None
) -> ModelList:
    """Every model and dataset (or those in ``namespace``, or of one ``type``,
    ``model`` or ``dataset``): latest version, version per stage, number of
    versions (a list, whose ``stages`` are the registry's, in order). ``at``
    (on every read) answers as of a revision or an ISO date/time."""
    space = check_name(namespace, "namespace") if namespace is not None else None
    if type not in (None, "model", "dataset"):
        raise UsageError(f"invalid type {type!r}: use model or dataset")
    snap = _open(registry).snapshot_at(at)
    found = [
        m for m in snap.summaries() if (space is None or names.namespace(m.name) == space) and type in (None, m.type)
    ]
    return ModelList(found, snap.config.stages)


def list_versions(
    model: str | None = None,
    *,
    where: str | Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    namespace: str | None = None,
    at: str | None = None,
    registry: RegistryArg = None,
) -> list[VersionSummary]:
    """The versions of ``model`` (or of every model, or of every model in
    ``namespace``), newest first, with stage and metrics; ``where``
    conditions such as ``"metrics.auc > 0.9"`` (one, or several that must
    all hold; see ``gitreg.documents.query``) and ``labels`` keep only the
    versions that match."""
    space = check_name(namespace, "namespace") if namespace is not None else None
    expressions = [where] if isinstance(where, str) else list(where)
    conditions = [c for text in expressions for c in query.parse(text)]
    conditions += [query.Condition(f"labels.{k}", "==", v) for k, v in inputs.labels(labels).items()]
    snap = _open(registry).snapshot_at(at)
    if model is not None:
        if space is not None and names.namespace(model) != space:
            raise UsageError(f"model {model!r} is not in namespace {space!r}")
        return snap.version_summaries(model, conditions)
    return snap.search(conditions, space)


def show(ref: str, *, at: str | None = None, registry: RegistryArg = None) -> ModelVersion:
    """The full manifest of ``MODEL@VERSION``, ``MODEL@STAGE`` or ``MODEL@latest``."""
    return _open(registry).snapshot_at(at).resolve(ref)


def environment_file(
    ref: str, *, format: str = "requirements", at: str | None = None, registry: RegistryArg = None
) -> str:
    """A file that rebuilds the environment ``ref``'s version was trained
    in: pip requirements (``format="requirements"``) or a conda
    environment.yml (``"conda"``: the one registered, else one pinning
    the recorded Python with the packages under ``pip:``)."""
    environments.check_format(format)
    version = _open(registry).snapshot_at(at).resolve(ref)
    if version.environment is None:
        raise NotFoundError(f"{version.model} {version.version} records no environment")
    return environments.rebuild_file(version.environment, format, f"{version.model}-{version.version}")


def environment_differences(
    ref: str, *, at: str | None = None, registry: RegistryArg = None
) -> tuple[str | None, list[environments.Difference]]:
    """How the environment of ``ref``'s version differs from the version it
    follows: its lineage parent, else the model's previous version (None,
    []: there is none)."""
    from gitreg.documents.names import Version

    snap = _open(registry).snapshot_at(at)
    version = snap.resolve(ref)
    parent = version.lineage.get("parent")
    earlier = [v for v in snap.versions(version.model) if v < Version.parse(version.version)]
    before = str(parent) if parent else str(earlier[-1]) if earlier else None
    other = snap.version(version.model, before) if before else None
    if other is None:
        return None, []
    return other.version, environments.differences(other.environment, version.environment)


def stages_held(ref: str, *, at: str | None = None, registry: RegistryArg = None) -> tuple[str, ...]:
    """The stages the version ``ref`` names holds, in the configured order
    (empty for none): a version may hold several at once."""
    snap = _open(registry).snapshot_at(at)
    version = snap.resolve(ref)
    return snap.holders(version.model).get(version.version, ())


def check(
    *,
    base: str | None = None,
    head: str = "HEAD",
    staged: bool = False,
    require_signed: str | None = None,
    allowed_signers: PathLike | None = None,
    registry: RegistryArg = None,
) -> Report:
    """The checker: the whole registry at ``head``, or with ``base`` what the
    change from ``base`` to ``head`` did (moved pointers through the base's
    gates). ``staged`` checks what the index would commit: the change against
    HEAD and every whole-tree rule on the staged tree (a pre-commit hook,
    which must fail on a broken tree even when nothing is staged).

    ``require_signed`` (with ``base``): ``all`` — every commit of the change
    carries a good signature by one of the ``allowed_signers`` (an SSH
    allowed-signers file; default: ``.gitreg/allowed_signers`` as the base
    has it), as git verifies it; ``moves`` — every commit that moves a
    stage pointer does.

    The registry judged is ``registry``, else the current folder: never one
    named by ``GITREG_REGISTRY`` or a ``gitreg.toml``, which a pull request
    could add to make the required check judge a repository of its choosing."""
    reg = _open(registry if registry is not None else ".")
    commit = reg.repo.resolve(head)
    if commit is None and head != "HEAD":
        raise NotFoundError(f"revision {head!r} does not exist")
    if require_signed is not None:
        if staged:
            raise UsageError("--require-signed judges the commits of a change, not the index: drop --staged")
        return _signed_change(reg, base, commit, require_signed, allowed_signers)
    if staged:
        if reg.repo.bare:
            raise UsageError("--staged needs a working tree")
        staged_commit = reg.repo.index_commit(commit)
        whole = checking.check_tree(reg.repo, staged_commit)
        if commit is None:
            return whole
        return checking.check_change(reg.repo, base or commit, staged_commit).with_tree(whole)
    if commit is None:
        raise NotFoundError(f"{reg.root} has no commits to check")
    return checking.check_change(reg.repo, base, commit) if base else checking.check_tree(reg.repo, commit)


def _signed_change(
    reg: Registry, base: str | None, commit: str | None, mode: str, allowed_signers: PathLike | None
) -> Report:
    """``check --base`` with every commit (or every pointer move) of the change signed."""
    if mode not in ("all", "moves"):
        raise UsageError(f"invalid --require-signed {mode!r}: all or moves")
    if base is None or commit is None:
        raise UsageError("--require-signed judges the commits of a change: give --base")
    if allowed_signers is not None:
        try:
            signers = Path(allowed_signers).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --allowed-signers {allowed_signers}: {exc.strerror}") from None
    else:
        found = reg.repo.read_paths(base, [checking.ALLOWED_SIGNERS])[checking.ALLOWED_SIGNERS]
        if found is None:
            raise UsageError(
                f"no allowed signers: give --allowed-signers FILE, or commit {checking.ALLOWED_SIGNERS} on the base"
            )
        signers = found
    report = checking.check_change(reg.repo, base, commit)
    unsigned = checking.unsigned_commits(reg.repo, base, commit, signers, moves_only=mode == "moves")
    return dataclasses.replace(report, violations=(*report.violations, *unsigned))


def sync(*, registry: RegistryArg = None) -> Synced:
    """Bring the local copy up to date: a URL registry's clone is fetched; a
    checkout fetches origin and fast-forwards when it is only behind."""
    return diagnosis.sync(_open(registry))


def doctor(*, registry: RegistryArg = None) -> list[Finding]:
    """The registry's health, one finding per check, with a fix for each problem."""
    return diagnosis.diagnose(_open(registry))


diagnose = doctor  # the name this function had before it took its command's


@events.emits("pull")
def pull(
    ref: str,
    *,
    output: PathLike | None = None,
    force: bool = False,
    progress: bool | Progress = False,
    at: str | None = None,
    verify_signature: bool = False,
    input_example: bool = False,
    record_usage: bool = False,
    purpose: str = "",
    registry: RegistryArg = None,
) -> Path:
    """Download the artifact of ``MODEL@VERSION`` / ``MODEL@STAGE`` /
    ``MODEL@latest`` to ``output`` (default: its own name in the current
    folder), verifying every byte against the manifest's hashes. A partial
    download never appears there. Returns the path.

    ``verify_signature``: first, a signature of the version must satisfy
    the ``require_signature`` policy of the stage ``ref`` names (else of
    any stage of the model); then the bytes pulled are re-hashed against
    the digests it signed (a mismatch removes them).

    ``input_example``: the version's input example instead (its own name:
    ``input_example.<format>``), verified by its hashes the same way.

    ``record_usage``: once the bytes are in place, append a usage record
    (who, when, which host, ``purpose``) beside the registry branch
    (``refs/gitreg/usage/MODEL``); ``status`` shows the last one."""
    from gitreg.operations import usage as usages
    from gitreg.storage import artifacts

    if record_usage:
        usages.check_purpose(purpose)
    elif purpose:
        raise UsageError("a purpose goes with record_usage")
    reg = _open(registry)
    snap = reg.snapshot_at(at)
    version = snap.resolve(ref)
    wanted = version.artifact
    if input_example:
        if verify_signature:
            raise UsageError("a signature covers the model's artifact, not its input example: pull them one by one")
        if version.input_example is None:
            raise NotFoundError(f"{version.model} {version.version} has no input example")
        wanted = version.input_example.artifact
    bundle = signing.trusted_bundle(snap, ref) if verify_signature else None
    store = artifacts.Store(reg.dvc_root(snap), wanted.remote, progress=_progress(progress))
    target = Path(output) if output is not None else Path.cwd() / wanted.path
    pulled = store.pull(wanted, target, force=force)
    if bundle is not None:
        from gitreg.documents import signatures

        fault = signatures.rehashed(bundle, artifacts.digests_on_disk(pulled))
        if fault is not None:
            artifacts.remove_path(pulled)
            raise ArtifactError(f"{ref}: {fault}; removed {pulled}")
    if record_usage:
        usages.record(reg, version, ref, purpose)
    return pulled


def load_artifact(ref: str, *, verify_signature: bool = False, registry: RegistryArg = None) -> Path:
    """The local path of a version's artifact, for serving code: pulled (and
    verified) once into ``GITREG_CACHE_DIR/artifacts/<md5>/``, then reused.
    ``verify_signature``: as ``pull``'s, on every call (a reused copy is
    re-hashed against the signed digests too)."""
    from gitreg.storage.cache import cache_root

    reg = _open(registry)
    snap = reg.snapshot()
    version = snap.resolve(ref)
    md5 = version.artifact.md5
    target = cache_root() / "artifacts" / md5 / version.artifact.path
    if target.exists():
        if verify_signature:
            from gitreg.documents import signatures
            from gitreg.storage import artifacts

            fault = signatures.rehashed(signing.trusted_bundle(snap, ref), artifacts.digests_on_disk(target))
            if fault is not None:
                raise ArtifactError(f"{ref}: the cached copy at {target}: {fault}")
        return target
    return pull(ref, output=target, verify_signature=verify_signature, registry=reg)


def load_model(
    ref: str,
    *,
    flavor: str | None = None,
    trust_pickle: bool = False,
    verify_signature: bool | None = None,
    registry: RegistryArg = None,
) -> Any:
    """A version's model as an object, for serving code (docs/signatures.md).

    ``flavor`` (default: told by the artifact's file name): ``onnx`` (an
    object whose ``predict`` runs it with onnxruntime; the ``onnx`` extra),
    ``safetensors`` (a dict of NumPy arrays), ``json``, ``text``; these run
    no code from the file. ``pickle`` and ``joblib`` do, so they are
    refused, before any download, unless ``trust_pickle`` is True; then the
    bytes on disk are re-hashed against the manifest's SHA-256 and, when a
    signature policy applies to ``ref`` (``verify_signature`` None: whenever
    one does), a signature is verified before anything is unpickled. The
    artifact is pulled and verified once, as ``load_artifact`` does."""
    from gitreg.operations import load as loading
    from gitreg.storage import artifacts

    reg = _open(registry)
    snap = reg.snapshot()
    version = snap.resolve(ref)
    kind = loading.flavor_of(version, flavor)
    loading.refuse_untrusted(version, kind, trust_pickle)
    if verify_signature is None:
        verify_signature = kind in loading.EXECUTING and signing.required(snap, ref)
    path = load_artifact(ref, verify_signature=verify_signature, registry=reg)
    if kind in loading.EXECUTING:
        artifacts.check_on_disk(version.artifact, path)
    return loading.load(loading.file_to_load(path, kind), kind)


def load_input_example(ref: str, *, registry: RegistryArg = None) -> Any:
    """A version's input example as objects: a pandas DataFrame for columns
    (a dict of lists without pandas), NumPy arrays for tensors (one, or a
    dict by name), cast to the signature's dtypes; ready for ``predict``.
    Pulled from the DVC remote and verified by its hashes."""
    from gitreg.documents import examples
    from gitreg.storage import artifacts
    from gitreg.storage.cache import cache_root

    reg = _open(registry)
    snap = reg.snapshot()
    version = snap.resolve(ref)
    example = version.input_example
    if example is None:
        raise NotFoundError(f"{version.model} {version.version} has no input example")
    target = cache_root() / "examples" / example.artifact.md5 / example.artifact.path
    if not target.exists():
        pull(f"{version.model}@{version.version}", output=target, input_example=True, registry=reg)
    artifacts.check_on_disk(example.artifact, target)
    return examples.load(target.read_bytes(), example.format, version.signature)


def lineage(ref: str, *, at: str | None = None, registry: RegistryArg = None) -> list[ModelVersion]:
    """``MODEL@VERSION`` and its chain of parents, newest first."""
    snap = _open(registry).snapshot_at(at)
    chain = [snap.resolve(ref)]
    while (parent := chain[-1].lineage.get("parent")) and all(v.version != parent for v in chain):
        found = snap.version(chain[-1].model, parent)
        if found is None:
            break
        chain.append(found)
    return chain


def verify(
    target: str | None = None,
    *,
    remote: bool = False,
    repair: bool = False,
    at: str | None = None,
    registry: RegistryArg = None,
) -> list[Verified]:
    """Check that each version's artifact (all, one model's, or
    ``MODEL@VERSION``) is in its DVC remote; with ``remote`` every byte is
    downloaded and re-hashed; with ``repair`` each missing or damaged object
    is put back from this clone's DVC cache where it holds the good bytes.
    Returns one entry per version checked."""
    from gitreg.storage import artifacts

    reg = _open(registry)
    snap = reg.snapshot_at(at)
    if target is not None and reference.names_version(target):
        versions = [snap.resolve(target)]
    elif target is not None:
        versions = snap.all_versions(check_model_name(target))
        if not versions:
            raise NotFoundError(f"model {target!r} is not registered")
    else:
        versions = [v for model in snap.model_names() for v in snap.all_versions(model)]
    stores: dict[str, artifacts.Store] = {}
    results = []
    for version in versions:
        problems = []
        for stored in version.stored:  # the model's bytes, and its input example's
            if stored.remote not in stores:
                stores[stored.remote] = artifacts.Store(reg.dvc_root(snap), stored.remote)
            problems += stores[stored.remote].verify(stored, remote, repair)
        results.append(Verified(version.model, version.version, tuple(problems)))
    return results


@dataclass(frozen=True)
class Verified:
    model: str
    version: str
    problems: tuple[Any, ...]  # gitreg.storage.artifacts.Problem

    @property
    def ok(self) -> bool:
        return all(p.repaired for p in self.problems)


@events.emits("upgrade")
def upgrade(*, dry_run: bool = False, branch: str | None = None, registry: RegistryArg = None) -> Upgraded:
    """Write what this gitreg derives and an older one did not (every
    version's DVC pointer, ``dvc.yaml``'s artifacts entries), in one commit (on ``branch``, for review, if
    given); nothing when the registry is current."""
    from gitreg.operations import upgrade as derived

    return derived.upgrade(_open(registry), dry_run=dry_run, branch=branch)


@events.emits("tags.sync")
def tags_sync(*, dry_run: bool = False, registry: RegistryArg = None) -> SyncResult:
    """Create the GTO tags the files at HEAD imply and are missing (after a
    merged pull request, a revert or a hand edit). Never moves or deletes a
    tag; running it again creates nothing."""
    return mirror.sync(_open(registry), dry_run=dry_run)


def _move(registry: RegistryArg, planner: lifecycle.Planner, dry_run: bool, branch: str | None) -> Moved:
    return lifecycle.move(_open(registry), planner, dry_run=dry_run, branch=branch)


@events.emits("promote")
def promote(
    model: str,
    version: str,
    *,
    to: str,
    reason: str = "",
    force_degraded: str | None = None,
    dry_run: bool = False,
    branch: str | None = None,
    registry: RegistryArg = None,
) -> Moved:
    """Move stage ``to``'s pointer to ``version`` if the model's gates for
    that stage and the stage-order policy pass; raises ``GateFailed`` (with
    the full plan) if not. ``dry_run`` returns the plan without writing.
    ``branch`` (also on demote, unassign, rollback) puts the commit on a new
    branch for a pull request instead ("" for a default name), pushed to
    ``origin`` when there is one; merging it is the promotion. A version
    marked degraded is refused unless ``force_degraded`` says why; the same
    commit then clears the mark, that reason on the record."""
    return _move(
        registry,
        lambda snap, who: lifecycle.plan_promote(snap, model, version, to, reason, who, force_degraded),
        dry_run,
        branch,
    )


@events.emits("demote")
def demote(
    model: str,
    version: str,
    *,
    to: str,
    reason: str = "",
    dry_run: bool = False,
    branch: str | None = None,
    registry: RegistryArg = None,
) -> Moved:
    """Take ``version`` out of every stage above ``to`` (and give it ``to``,
    unless that is the lowest stage). Gates do not apply to demotions."""
    return _move(
        registry, lambda snap, who: lifecycle.plan_demote(snap, model, version, to, reason, who), dry_run, branch
    )


@events.emits("unassign")
def unassign(
    model: str,
    *,
    stage: str,
    reason: str = "",
    dry_run: bool = False,
    branch: str | None = None,
    registry: RegistryArg = None,
) -> Moved:
    """Remove the stage's pointer: no version holds it afterwards."""
    return _move(registry, lambda snap, who: lifecycle.plan_unassign(snap, model, stage, reason, who), dry_run, branch)


@events.emits("rollback")
def rollback(
    model: str,
    *,
    stage: str = "production",
    to: str | None = None,
    reason: str = "",
    force_degraded: str | None = None,
    dry_run: bool = False,
    branch: str | None = None,
    registry: RegistryArg = None,
) -> Moved:
    """Give the stage back: to the holder before the current one that may
    still hold it (active, not degraded, its registered core unchanged),
    read from the pointer file's history; repeated rollbacks keep walking
    back. Or to ``to``: a rightful past holder skips the metric gates, any
    other active version must pass them as a promotion would. A version
    marked degraded is refused unless ``force_degraded`` says why."""
    return _move(
        registry,
        lambda snap, who: lifecycle.plan_rollback(snap, model, stage, to, reason, who, force_degraded),
        dry_run,
        branch,
    )


@events.emits("archive")
def archive(
    model: str, version: str, *, force: bool = False, reason: str | None = None, registry: RegistryArg = None
) -> ModelVersion:
    """Mark a version archived (refused while it holds a stage; for a
    dataset version, also while a stage holder was trained or evaluated on
    it, unless ``force`` with a ``reason``)."""
    return lifecycle.set_status(_open(registry), model, version, "archived", force=force, reason=reason)[0]


@events.emits("annotate")
def annotate(
    model: str,
    version: str,
    *,
    labels: Mapping[str, str] | None = None,
    unset_labels: Sequence[str] = (),
    description: str | None = None,
    clear_degraded: bool = False,
    reason: str = "",
    registry: RegistryArg = None,
) -> ModelVersion:
    """Append an annotation to a registered version: set ``labels``, remove
    ``unset_labels``, replace the ``description``, or (``clear_degraded``,
    with a ``reason``) clear the degraded mark ``gitreg monitor`` set. The
    record (who, when, why) stays in the manifest; the registered core is
    untouched."""
    return annotating.annotate(
        _open(registry),
        model,
        version,
        labels=labels,
        unset_labels=unset_labels,
        description=description,
        clear_degraded=clear_degraded,
        reason=reason,
    )[0]


@events.emits("sign")
def sign(model: str, version: str, spec: str, *, registry: RegistryArg = None) -> Signed:
    """Sign a registered version's artifact with an OMS signature and commit
    the bundle beside its manifest (``spec``: ``key:PATH``,
    ``certificate:CERT,KEY,CHAIN[,CHAIN...]`` or ``sigstore``; the ``signing``
    extra). The bytes are pulled and verified first; the signature must
    cover exactly the manifest's files and SHA-256 digests."""
    parsed = signing.parse_spec(spec)
    signing.check_available()
    return signing.sign(_open(registry), model, version, parsed)


@events.emits("approve")
def approve(model: str, version: str, *, stage: str, note: str = "", registry: RegistryArg = None) -> ModelVersion:
    """Record your approval (by your git identity, now) of ``version`` for
    ``stage``; the stage's ``require_approvals: N`` gate counts distinct
    approvers (``require_owner_approvals``: among the model's owners)."""
    return approving.approve(_open(registry), model, version, stage, note)[0]


@events.emits("deprecate")
def deprecate(model: str, version: str, *, registry: RegistryArg = None) -> ModelVersion:
    """Mark a version deprecated (refused while it holds a stage)."""
    return lifecycle.set_status(_open(registry), model, version, "deprecated")[0]


def history(
    model: str, *, stage: str | None = None, at: str | None = None, registry: RegistryArg = None
) -> list[Event]:
    """The model's audit trail from git, newest first (one stage's moves with ``stage``)."""
    reg = _open(registry)
    snap = reg.snapshot_at(at)
    if stage is not None:
        snap.check_stage(stage)
    check_model_name(model)
    return hist.events(reg.repo, snap.commit, snap.models_dir, model, stage) if snap.commit else []


def compare(model: str, versions: Sequence[str], *, at: str | None = None, registry: RegistryArg = None) -> Comparison:
    """Metrics side by side with deltas against the first version, the
    params and metadata that differ, and each later version's signature
    changes and environment differences against the first's. A version may
    be named by a stage it holds, or ``latest``."""
    return comparing.compare(_open(registry).snapshot_at(at), model, versions)


@events.emits("resolve")
def resolve(ref: str, *, at: str | None = None, registry: RegistryArg = None) -> Resolved:
    """``MODEL@STAGE``, ``MODEL@VERSION`` or ``MODEL@latest``: the version, the
    commits, and where its artifact is (``at``: as deployed then)."""
    reg = _open(registry)
    return reg.locate(ref) if at is None else reg.snapshot_at(at).locate(ref)


@events.emits("model.set")
def set_model(
    model: str,
    *,
    description: str | None = None,
    owners: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    gates: Mapping[str, Mapping[str, float | bool]] | None = None,
    remove_gates: Sequence[tuple[str, str] | str] = (),
    monitor_threshold: float | None = None,
    auto_deploy: Mapping[str, Any] | bool | None = None,
    require_signature: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    remove_require_signature: Sequence[str] = (),
    registry: RegistryArg = None,
) -> ModelEdited:
    """Edit model.yaml in one commit (created if missing): description,
    owners (replacing the list), labels (merged), gates (``{stage:
    {"min_auc": 0.9, "require_approved": True}}``), ``remove_gates``
    (``[(stage, key)]``) and the relative drop at which ``monitor`` rolls
    back (``monitor_threshold``), ``auto_deploy`` (``{"stage": "staging",
    "strategy": "conservative", "min_improvement_pct": 2}``: after each
    registration, promote the new version when the strategy chooses it;
    False removes it), ``require_signature`` (``{"production": {"keys":
    [".gitreg/keys/release.pub"]}}``, or ``certificates``, ``identities``,
    ``issuers``: replaces those stages' signature policies; the files must
    be committed) and ``remove_require_signature`` (stages). Returns
    model.yaml as it now is and the commit (None when nothing changed)."""
    from gitreg.operations import model as modelling

    return modelling.set_model(
        _open(registry),
        model,
        description=inputs.description(description) if description is not None else None,
        owners=owners or None,
        labels=inputs.labels(labels),
        gates=inputs.gate_edits(gates),
        remove_gates=inputs.gate_removals(remove_gates),
        monitor_threshold=inputs.threshold(monitor_threshold),
        auto_deploy=inputs.auto_deploy(auto_deploy) if auto_deploy is not False else False,
        require_signature=require_signature,
        remove_require_signature=tuple(remove_require_signature),
    )


def model_show(model: str, *, at: str | None = None, registry: RegistryArg = None) -> Model:
    """The model's model.yaml: description, owners, labels, gates."""
    found = _open(registry).snapshot_at(at).model(check_model_name(model))
    if found is None:
        raise NotFoundError(f"model {model!r} is not registered")
    return found


# -- operating models in production ----------------------------------------------


@events.emits("evaluate")
def evaluate(
    model: str,
    version: str,
    *,
    metrics: Mapping[str, float | str] | PathLike | None = None,
    metrics_file: PathLike | None = None,
    environment: str | None = None,
    registry: RegistryArg = None,
) -> ModelVersion:
    """Append an evaluation (now, by you, ``environment``, ``metrics`` over
    ``metrics_file``) to the version's performance history; its registered
    core is untouched."""
    return monitoring.evaluate(_open(registry), model, version, _metrics(metrics, metrics_file), environment)[0]


def metric_history(
    model: str, *, environment: str | None = None, at: str | None = None, registry: RegistryArg = None
) -> list[Trend]:
    """Per version and metric: registered value, best, latest evaluation and
    the change since registration (only ``environment``'s evaluations, if given)."""
    return monitoring.trend(_open(registry).snapshot_at(at), model, environment)


def status(model: str, *, stale_days: float = 7.0, at: str | None = None, registry: RegistryArg = None) -> Status:
    """How ``model`` is doing: each stage's holder and its latest measurement
    there, the versions marked degraded or set aside, and recommendations
    (what to promote, roll back, measure, clean up), each with its command.
    A holder unmeasured for ``stale_days`` is stale, as is an unheld version
    older than every holder registered longer ago. With ``at``, staleness is
    judged at that state's time."""
    reg = _open(registry)
    snap = reg.snapshot_at(at)
    now = None
    if at is not None and snap.commit:  # that state's time: when its commit was made
        now = float(reg.repo.log(snap.commit, [], ["%ct"], ["-1"])[0][0])
    from gitreg.operations import usage as usages

    found = statusing.status(snap, model, reg.repo.identity(), stale_days=stale_days, now=now)
    return dataclasses.replace(found, last_used=usages.last(reg, found.model, before=now))


@events.emits("monitor")
def monitor(
    model: str,
    *,
    metrics: Mapping[str, float | str] | PathLike | None = None,
    metrics_file: PathLike | None = None,
    stage: str = "production",
    threshold: float | None = None,
    environment: str | None = None,
    version: str | None = None,
    dry_run: bool = False,
    registry: RegistryArg = None,
) -> Monitored:
    """Record a production measurement of the stage's holder; roll the stage
    back to its previous holder in the same commit when a metric is worse
    than registered by more than ``threshold`` (relative); ``metrics``
    overrides ``metrics_file``. See ``Monitored.outcome``."""
    return monitoring.monitor(
        _open(registry),
        model,
        _metrics(metrics, metrics_file),
        stage=stage,
        threshold=threshold,
        environment=environment,
        version=version,
        dry_run=dry_run,
    )


@events.emits("deploy")
def deploy(
    model: str,
    *,
    strategy: str = "best",
    to: str = "production",
    metric: str | None = None,
    min_improvement: float | None = None,
    min_improvement_pct: float | None = None,
    reason: str = "",
    dry_run: bool = False,
    branch: str | None = None,
    force_degraded: str | None = None,
    registry: RegistryArg = None,
) -> Decision:
    """Pick the version ``strategy`` chooses (``best``, ``conservative``) and
    promote it to stage ``to`` through the gates; ``Decision.chosen`` is None
    when the stage should stay as it is. Versions marked degraded compete
    only with ``force_degraded`` (the reason the chosen one's mark is
    cleared with)."""
    return deploying.deploy(
        _open(registry),
        model,
        strategy=strategy,
        stage=to,
        metric=metric,
        min_improvement=min_improvement,
        min_improvement_pct=min_improvement_pct,
        reason=reason,
        dry_run=dry_run,
        branch=branch,
        force_degraded=force_degraded,
    )


def diff(old: str, new: str = "HEAD", *, registry: RegistryArg = None) -> RegistryDiff:
    """What changed between two registry states (each a revision or an ISO
    date/time): versions added and removed, pointers moved, annotations and
    gates changed."""
    reg = _open(registry)
    return changes.diff(reg.snapshot_at(old), reg.snapshot_at(new))


def build_site(
    out: PathLike = "site",
    *,
    at: str | None = None,
    base_url: str | None = None,
    commit_url: str | None = None,
    jobs: int | None = 1,
    registry: RegistryArg = None,
) -> Built:
    """Write the registry as a static web site into ``out`` (docs/site.md):
    overview, a page per model and per version, the Changes page. Only what
    changed since the last build into the same folder is rewritten.

    ``jobs``: worker processes for a large build (None: one per core). They
    are started the way ``multiprocessing`` starts them, so a script that
    asks for more than one runs the call under ``if __name__ == "__main__":``."""
    return site_build.build(_open(registry), Path(out), at=at, base_url=base_url, commit_url=commit_url, jobs=jobs)


def serve_site(
    out: PathLike = "site",
    *,
    port: int = 8000,
    at: str | None = None,
    base_url: str | None = None,
    commit_url: str | None = None,
    announce: Callable[[str], None] = lambda line: None,
    registry: RegistryArg = None,
) -> None:
    """``build_site``, then serve ``out`` on 127.0.0.1:``port`` until
    interrupted, building again when the registry branch moves; ``announce``
    receives the address, then a line per rebuild."""
    site_serve.serve(
        _open(registry), Path(out), port=port, at=at, base_url=base_url, commit_url=commit_url, announce=announce
    )


@events.emits("gc")
def gc(
    *,
    dry_run: bool = False,
    remove_artifacts: bool = False,
    branch: str | None = None,
    force: bool = False,
    reason: str | None = None,
    registry: RegistryArg = None,
) -> Collected:
    """Apply the retention policy (``retention`` in .gitreg/config.yaml):
    remove the manifests of expired versions in one commit (``branch``: on a
    new branch for review, "" for a default name). ``remove_artifacts`` then
    deletes from the DVC remote the artifacts of removed versions that no
    remaining version shares. Versions holding a stage or that a stage would
    roll back to are never touched; nor are dataset versions a stage holder
    was trained or evaluated on, unless ``force`` with a ``reason``."""
    return retention.gc(
        _open(registry), dry_run=dry_run, remove_artifacts=remove_artifacts, branch=branch, force=force, reason=reason
    )


def export_registry(
    models: Sequence[str] = (),
    *,
    output: PathLike | None = None,
    at: str | None = None,
    runs: bool = False,
    registry: RegistryArg = None,
) -> dict[str, Any]:
    """The full state of ``models`` (default: all) as a ``RegistryExport``
    document (validated against schemas/RegistryExport.schema.json): each
    model's model.yaml, every version manifest and every stage pointer, and
    the DVC remotes holding the artifacts (credentials removed). ``output``:
    also written there as JSON, whole or not at all. ``runs``: the
    experiment registry's runs too (as they are now, with every metric
    point; ``gitreg import`` adds those it does not have)."""
    reg = _open(registry)
    found = experiments.with_points(reg, experiments.listed(reg)) if runs else []
    document = exchange.export(reg.snapshot_at(at), reg.name, models, found)
    if output is not None:
        from gitreg import render
        from gitreg.storage.files import atomic_write

        atomic_write(output, (render.to_json(document) + "\n").encode("utf-8"))
    return document


@events.emits("import")
def import_registry(
    document: Mapping[str, Any] | PathLike | TextIO, *, dry_run: bool = False, registry: RegistryArg = None
) -> Imported:
    """Land an export (a path, an open text stream, or the document itself) in this registry:
    versions keep their numbers, timestamps and authors, stages their holders;
    artifacts are copied into this registry's DVC remote when it is not the
    one they are in. Refuses (writing nothing) anything that would overwrite
    different content; importing the same export again writes nothing."""
    if isinstance(document, Mapping):
        data, source = json.dumps(document), "the export"
    elif not isinstance(document, str | os.PathLike):
        data, source = document.read(), getattr(document, "name", "the stream")
        source = "standard input" if source == "<stdin>" else str(source)
    else:
        data, source = inputs.read_text_file(document, "export"), str(document)
    return exchange.import_state(_open(registry), data, source, dry_run=dry_run)


@events.emits("import")
def import_mlflow(
    uri: str,
    *,
    models: Sequence[str] = (),
    stage_map: Mapping[str, str] | None = None,
    dry_run: bool = False,
    verify: bool = False,
    registry: RegistryArg = None,
) -> MlflowReport:
    """Bring the MLflow model registry at tracking URI ``uri`` (sqlite:///…,
    a folder, http://… of an ``mlflow server``) into this registry: every
    version (MLflow's N as N.0.0), its tags, description, run metrics and
    params, artifacts (stored in this registry's DVC remote and verified),
    and the aliases and legacy stages as stage pointers (``stage_map``:
    ``{"champion": "production"}`` overrides the default, the alias's own
    name), history replayed at MLflow's dates. ``models``: only these
    MLflow names. A second run writes nothing. ``verify``: read the source
    again afterwards and compare it field by field with the registry
    (``.differences``, empty when they agree). Needs ``gitreg[mlflow]``.
    See ``gitreg.operations.from_mlflow`` for the whole mapping."""
    from gitreg.operations import from_mlflow

    return from_mlflow.import_mlflow(
        _open(registry), uri, models=list(models), mapping=stage_map, dry_run=dry_run, verify=verify
    )


@events.emits("import")
def import_gto(
    source: PathLike, *, dry_run: bool = False, verify: bool = False, registry: RegistryArg = None
) -> GtoReport:
    """Replay the GTO registry in the repository ``source`` (a path or git
    URL) here, event by event at GTO's times: registrations (bytes copied
    from the source's DVC remote and verified), assignments, unassignments,
    deregistrations and deprecations, each with its GTO tag. A second run
    replays only what is new. ``verify``: compare the registry afterwards
    with what GTO shows of the source (``.differences``). See
    ``gitreg.operations.from_gto``."""
    from gitreg.operations import from_gto

    return from_gto.import_gto(_open(registry), os.fspath(source), dry_run=dry_run, verify=verify)


def demo(directory: PathLike | None = None, *, narrate: Callable[[str], None] | None = None) -> Path:
    """Build the demo registry under ``directory`` (default: a new temporary
    folder): gates, the training data as a dataset, three training runs
    recorded and registered (linked to the data), promotions (one refused),
    monitored measurements (one rolls back). ``narrate`` receives each line
    of the walk-through. Returns the folder."""
    from gitreg.operations.demo import run

    return run(None if directory is None else str(directory), narrate or (lambda line: None))
