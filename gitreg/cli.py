"""The command line: a thin click layer over the core (``gitreg.api``).

Options carry the Python API's keyword names. Errors print one line and map
to exit codes: 1 refused by a registry rule, 2 usage, 3 unexpected (the
traceback goes to a log file), 130 interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from gitreg.core.registry import Registry

F = TypeVar("F", bound=Callable[..., Any])

REGISTRY_HELP = (
    "The registry: a path in its git repository, or a git URL [default: $GITREG_REGISTRY, "
    "then registry in gitreg.toml, then .]."
)


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` with control characters shown escaped: text read from a
    registry (reasons, descriptions, commit subjects of hand-made commits)
    can never drive the terminal (ESC and OSC sequences, C1 codes, bidi)."""
    from gitreg.documents.names import escaped

    click.echo(escaped(message), err=err, nl=nl)


def registry_here(func: Any) -> Any:
    """``registry_option`` whose default is the current folder, never
    ``GITREG_REGISTRY`` or a ``gitreg.toml`` (for ``check``: a pull request
    could add either to make the required check judge another repository)."""
    return registry_option(func, here=True)


def registry_option(func: Any, *, here: bool = False) -> Any:
    """``--registry`` and ``--offline``; the command receives the opened
    Registry as ``registry``."""

    @functools.wraps(func)
    def opened(*args: Any, registry: str | None, offline: bool, **kwargs: Any) -> Any:
        from gitreg import api

        where = "." if here and registry is None else registry
        return func(*args, registry=api.open_registry(where, offline=offline), **kwargs)

    opened = click.option(
        "--offline", is_flag=True, help="For a registry given by URL: read the local clone as is, without fetching."
    )(opened)
    text = "The registry: a path in its git repository, or a git URL [default: ., not $GITREG_REGISTRY or gitreg.toml]."
    return click.option("--registry", "-R", default=None, metavar="PATH|URL", help=text if here else REGISTRY_HELP)(
        opened
    )


def progress_option(func: Any) -> Any:
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress bars for transfers over 8 MiB [default: only on a terminal, never with --json or in CI].",
    )(func)


def _show_progress(progress: bool | None, as_json: bool) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not as_json and not os.environ.get("CI")


def at_option(func: Any) -> Any:
    return click.option(
        "--at",
        metavar="REV|DATE",
        help="Answer as of a revision (commit, tag, HEAD~3) or an ISO date/time (a date alone: the end of that "
        "day, UTC) [default: now].",
    )(func)


def json_option(func: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of text.")(func)


def branch_options(func: Any) -> Any:
    func = click.option(
        "--pr-body",
        "pr_body",
        type=click.Path(dir_okay=False, writable=True),
        metavar="FILE",
        help="With --branch: write the pull-request body (markdown) to FILE instead of printing it.",
    )(func)
    return click.option(
        "--branch",
        is_flag=False,
        flag_value="",
        default=None,
        metavar="[NAME]",
        help="Commit to a new branch for a pull request instead (pushed to origin if there is one); "
        "merging it is the change. Default name: gitreg/<action>-<model>-<stage>-<version>.",
    )(func)


def pairs_option(flag: str, dest: str, what: str, help: str, *, typed: bool = False) -> Callable[[F], F]:
    """A repeatable ``--flag K=V`` whose values reach the command (and the API
    keyword of the same name) as one mapping."""

    def mapping(ctx: click.Context, param: click.Parameter, given: tuple[str, ...]) -> dict[str, Any]:
        from gitreg.documents import inputs

        return inputs.pairs(given, what, typed=typed)

    return click.option(flag, dest, multiple=True, metavar="K=V", callback=mapping, help=help)


def metrics_options(func: Any, *, file_help: str, pair_help: str) -> Any:
    """``--metrics-file FILE`` (also spelled ``--metrics``) and repeatable
    ``--metric K=V`` on top of it: the API's ``metrics_file`` and ``metrics``."""
    func = click.option("--metrics-file", "--metrics", "metrics_file", metavar="FILE", help=file_help)(func)
    return pairs_option("--metric", "metrics", "metric", pair_help)(func)


def _names(ctx: click.Context, read: Callable[[Any], list[str]], incomplete: str) -> list[str]:
    """Shell completion from the registry the command line names (or the
    default one), read offline; a completion never fails, it offers nothing."""
    from gitreg import api

    try:
        registry = api.open_registry(ctx.params.get("registry"), offline=True)
        return [name for name in read(registry) if name.startswith(incomplete)]
    except Exception:  # a broken registry or bad input must not break the user's shell
        return []


def _models(registry: Any) -> list[str]:
    from gitreg import api

    return [m.name for m in api.list_models(registry=registry)]


def _versions(registry: Any, model: str) -> list[str]:
    from gitreg import api

    return [v.version for v in api.list_versions(model, registry=registry)]


def _stages(registry: Any) -> list[str]:
    from gitreg import api

    return list(api.list_models(registry=registry).stages)


def complete_models(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return _names(ctx, _models, incomplete)


def complete_versions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return _names(ctx, lambda r: _versions(r, ctx.params.get("model") or ""), incomplete)


def complete_stages(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return _names(ctx, _stages, incomplete)


def complete_refs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """MODEL, then MODEL@ followed by its stages, latest and versions."""
    model, at, _ = incomplete.partition("@")
    if not at:
        return _names(ctx, _models, incomplete)

    def refs(registry: Any) -> list[str]:
        return [f"{model}@{name}" for name in [*_stages(registry), "latest", *_versions(registry, model)]]

    return _names(ctx, refs, incomplete)


model_argument = functools.partial(click.argument, "model", shell_complete=complete_models)
version_argument = functools.partial(click.argument, "version", shell_complete=complete_versions)


# What each command looks like in use: shown under its --help (and in
# docs/cli.md); tests/test_cli.py parses every one against its command.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "init": ("gitreg init registry", "gitreg init registry --remote s3://ml-artifacts/registry --ci github"),
    "register": (
        "gitreg register fraud -a model.pkl --metrics-file metrics.json --metric f1=0.81 --label team=risk",
        "gitreg register fraud -a out/ --bump minor --parent 1.2.0 --require-clean",
        "gitreg register fraud -a model.onnx --signature signature.json --input-example example.json "
        "--requirements requirements.txt",
        "gitreg register fraud -a model.pkl --dataset transactions@2026.12.1 --eval-dataset holdout@1.2.0",
        "gitreg register fraud --from-run 3f2a9c1d5e7b8a60 -a model.pkl",
    ),
    "list": ("gitreg list", "gitreg list fraud --json", "gitreg list --where 'metrics.auc > 0.9' --label team=risk"),
    "show": ("gitreg show fraud@production", "gitreg show fraud@1.0.2 --at 2026-06-01"),
    "check": ("gitreg check", "gitreg check --base origin/main --format markdown"),
    "promote": (
        "gitreg promote fraud 1.0.2 --to staging --reason 'auc 0.93 on holdout'",
        "gitreg promote fraud 1.0.2 --to production --branch --pr-body body.md",
    ),
    "demote": ("gitreg demote fraud 1.0.2 --to staging --reason 'latency regression'",),
    "unassign": ("gitreg unassign fraud --stage canary --reason 'experiment over'",),
    "rollback": ("gitreg rollback fraud", "gitreg rollback fraud --stage staging --to 1.0.0 --dry-run"),
    "archive": (
        "gitreg archive fraud 0.9.0",
        "gitreg archive transactions 2026.6.1 --force --reason 'deletion request DPO-311'",
    ),
    "deprecate": ("gitreg deprecate fraud 1.0.1",),
    "history": (
        "gitreg history fraud",
        "gitreg history fraud --stage production --json",
        "gitreg history fraud --metrics",
    ),
    "compare": ("gitreg compare fraud 1.0.1 1.0.2", "gitreg compare fraud production 1.0.3 --json"),
    "env": ("gitreg env fraud@production", "gitreg env fraud@1.0.2 --format conda"),
    "status": ("gitreg status fraud", "gitreg status fraud --stale-days 2 --json"),
    "resolve": ("gitreg resolve fraud@production --json", "gitreg resolve models:/fraud/3 --at 2026-06-01"),
    "diff": ("gitreg diff HEAD~5", "gitreg diff 2026-05-01 2026-06-01 --json"),
    "site": (
        "gitreg site -o public --base-url https://acme.github.io/registry/",
        "gitreg site -o site-june --at 2026-06-30",
        "gitreg site --serve --port 8080",
    ),
    "sync": ("gitreg sync -R https://github.com/acme/registry.git",),
    "doctor": ("gitreg doctor",),
    "pull": (
        "gitreg pull fraud@production -o model.pkl",
        "gitreg pull fraud@1.0.2 -o serving/ --force",
        "gitreg pull fraud@production --input-example",
        "gitreg pull transactions@2026.12.1 -o data.csv --record-usage --purpose 'retrain fraud'",
    ),
    "verify": ("gitreg verify", "gitreg verify fraud@1.0.2 --remote", "gitreg verify --repair"),
    "lineage": ("gitreg lineage fraud@production", "gitreg lineage --used-by transactions@2026.12.1 --json"),
    "evaluate": ("gitreg evaluate fraud 1.0.2 --metric auc=0.91 --environment shadow",),
    "approve": ("gitreg approve fraud 1.0.2 --for production --note 'reviewed in RISK-142'",),
    "sign": (
        "gitreg sign fraud 1.0.2 key:release.key",
        "gitreg sign fraud 1.0.2 certificate:release.pem,release.key,ca.pem",
    ),
    "annotate": (
        "gitreg annotate fraud 1.0.2 --label approved=yes --description 'Retrained on June data'",
        "gitreg annotate fraud 1.0.2 --unset-label approved --reason 'approval withdrawn'",
        "gitreg annotate fraud 1.0.2 --clear-degraded --reason 'the drop was a broken feature pipeline'",
    ),
    "monitor": (
        "gitreg monitor fraud --metric auc=0.87",
        "gitreg monitor fraud --metrics-file live.json --threshold 0.1",
    ),
    "deploy": ("gitreg deploy fraud --dry-run", "gitreg deploy fraud --strategy conservative --min-improvement 0.01"),
    "gc": (
        "gitreg gc --dry-run",
        "gitreg gc --remove-artifacts --branch",
        "gitreg gc --force --reason 'retention of raw data ends after 90 days'",
    ),
    "export": ("gitreg export -o registry.json", "gitreg export fraud --at 2026-06-01"),
    "import": (
        "gitreg import registry.json --dry-run",
        "gitreg export -R old | gitreg import - -R new",
        "gitreg import --from mlflow sqlite:///mlflow.db --stage-map champion=production --dry-run",
    ),
    "upgrade": ("gitreg upgrade --dry-run", "gitreg upgrade --branch gitreg-upgrade"),
    "tags sync": ("gitreg tags sync", "gitreg tags sync --dry-run --json"),
    "run start": (
        "gitreg run start fraud-training --param lr=0.05 --label team=risk",
        "gitreg run start fraud-training --params-file params.yaml --json",
    ),
    "run log": (
        "gitreg run log 3f2a9c1d5e7b8a60 --metric loss=0.41 --step 3",
        "gitreg run log 3f2a9c --metrics-file eval.json --artifact model.pkl",
    ),
    "run end": ("gitreg run end 3f2a9c1d5e7b8a60", "gitreg run end 3f2a9c --status failed --reason 'out of memory'"),
    "runs list": ("gitreg runs list", "gitreg runs list fraud-training --where 'metrics.auc > 0.9' --json"),
    "runs show": ("gitreg runs show 3f2a9c", "gitreg runs show 3f2a9c1d5e7b8a60 --json"),
    "runs compare": ("gitreg runs compare 3f2a9c 9b01d4", "gitreg runs compare 3f2a9c 9b01d4 77e0aa --json"),
    "runs gc": ("gitreg runs gc --keep 20 --dry-run", "gitreg runs gc --keep 5 --experiment fraud-training"),
    "dataset register": (
        "gitreg dataset register transactions -a data/transactions.csv --versioning date --schema schema.yaml",
        "gitreg dataset register images -a data/images/ --label source=s3-export -d 'June export'",
    ),
    "dataset list": ("gitreg dataset list", "gitreg dataset list --json"),
    "dataset show": ("gitreg dataset show transactions", "gitreg dataset show transactions@2026.12.1 --json"),
    "model show": ("gitreg model show fraud",),
    "model set": (
        "gitreg model set fraud --owner risk-team --gate production:min_auc=0.9",
        "gitreg model set fraud --remove-gate production:min_auc --monitor-threshold 0.05",
        "gitreg model set fraud --auto-deploy stage=staging --auto-deploy metric=auc",
        "gitreg model set fraud --require-signature production:key=.gitreg/keys/release.pub",
    ),
    "demo": ("gitreg demo", "gitreg demo --dir /tmp/gitreg-demo"),
}


class GitregCommand(click.Command):
    """A command that emits one structured event (``gitreg.core.events``) and
    ends its help with examples."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        examples = EXAMPLES.get(" ".join(ctx.command_path.split()[1:]), ())
        if examples:
            formatter.write_paragraph()
            formatter.write_text("Examples:")
            for line in examples:
                formatter.write(f"  {line}\n")

    def invoke(self, ctx: click.Context) -> Any:
        from gitreg.core import events

        name = ".".join(ctx.command_path.split()[1:]) or "main"
        with events.operation(name):
            events.arguments(ctx.params)
            return super().invoke(ctx)


class GitregGroup(click.Group):
    """Maps the core's exceptions to one-line messages and exit codes."""

    command_class = GitregCommand
    group_class = type

    def invoke(self, ctx: click.Context) -> Any:
        from gitreg.errors import GitregError, exit_code_for

        try:
            return super().invoke(ctx)
        except GitregError as exc:
            if ctx.params.get("debug"):
                raise
            echo(f"gitreg: error: {exc}", err=True)
            ctx.exit(exit_code_for(exc))
        except KeyboardInterrupt as exc:
            echo("gitreg: interrupted", err=True)
            ctx.exit(exit_code_for(exc))
        except BrokenPipeError as exc:  # the reader went away (``gitreg list | head``): end quietly, as git does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(exit_code_for(exc))
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            import tempfile
            import traceback

            with tempfile.NamedTemporaryFile("w", prefix="gitreg-error-", suffix=".log", delete=False) as log:
                traceback.print_exc(file=log)
            echo(
                f"gitreg: unexpected error: {type(exc).__name__}: {exc} "
                f"(traceback in {log.name}; run with --debug to see it here)",
                err=True,
            )
            ctx.exit(exit_code_for(exc))


@click.group(cls=GitregGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--log-json",
    is_flag=True,
    help="Write one JSON event per operation (gitreg.<command>.complete|error) to standard error; "
    "GITREG_LOG=FILE appends them to FILE.",
)
@click.version_option(package_name="gitreg", message="gitreg %(version)s")
def main(debug: bool, log_json: bool) -> None:
    """gitreg: a model registry whose database is a git repository.

    Every change is a commit on the registry's branch, mirrored as GTO-style
    tags; artifacts are stored by hash in DVC remotes.
    """
    from gitreg import render
    from gitreg.core import events

    events.log_to_stderr(log_json)
    render.show_warnings(lambda line: echo(line, err=True))


@main.command()
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option(
    "--remote",
    metavar="URL",
    help="DVC remote URL or path for artifacts, which go to a folder of the registry's own in it (URL/gitreg-<8 hex>) "
    "[default: a local folder, .gitreg/storage].",
)
@click.option("--models-dir", default="models", show_default=True, help="Folder of the repo that holds the models.")
@click.option(
    "--ci",
    type=click.Choice(["github"]),
    help="Also write CI: the gitreg check workflow for pull requests, the tags sync workflow, CODEOWNERS.",
)
@click.option(
    "--ci-owners", metavar="OWNERS", help="With --ci: approvers for CODEOWNERS [default: @your-org/ml-approvers]."
)
@pairs_option(
    "--ci-namespace-owner",
    "ci_namespace_owners",
    "namespace owners",
    "With --ci: NAMESPACE=OWNERS, the approvers of that namespace's models in CODEOWNERS (repeatable).",
)
@click.option(
    "--ci-install",
    metavar="SPEC",
    help="With --ci: a pinned source the workflows pip install (git+https://…@COMMIT, a .whl URL with "
    "#sha256=…, or ./path.whl in the repo) [default: a wheel of this gitreg, committed in .github/gitreg/].",
)
@click.option(
    "--adopt",
    is_flag=True,
    help="Make a repository GTO manages a registry in place: a manifest per GTO version (its bytes as DVC "
    "tracked them at the tagged commit), a pointer per stage holder, every tag kept.",
)
@json_option
def init(path: str, as_json: bool, **options: Any) -> None:
    """Make PATH (default: here) a registry (with --ci, also its CI).

    A PATH that does not exist yet, or is in no git repo, becomes a new repo;
    a folder inside a git repo makes that repo the registry. Writes
    .gitreg/config.yaml and DVC's config with a default remote, in one commit
    that includes nothing else. Re-running is harmless.

    A repository GTO manages is refused unless --adopt: then a second commit
    writes a manifest for each GTO version, a pointer for each stage's holder
    as gto show has it, and GTO's stages in the config; deregistered versions
    become deprecated; no tag is moved, added or removed. What cannot be
    carried (a name gitreg refuses, bytes DVC did not track) is listed and
    left to GTO.
    """
    from gitreg import api, render

    result = api.init(path, **options)
    echo(render.to_json(render.initialised_json(result)) if as_json else render.initialised_text(result))


@main.command()
@model_argument()
@click.option(
    "--artifact",
    "-a",
    metavar="PATH",
    help="The model file or folder to store (with --from-run: which of the run's artifacts, by name).",
)
@click.option(
    "--from-run",
    "from_run",
    metavar="RUN",
    help="Register a run of the experiment registry (its id): its artifact, metrics, params, lineage, environment.",
)
@click.option("--version", "version", metavar="X.Y.Z", help="Version to register [default: next after the highest].")
@click.option(
    "--bump",
    type=click.Choice(["patch", "minor", "major"]),
    help="Which part to bump for the next version [default: the registry's policy, patch].",
)
@functools.partial(
    metrics_options,
    file_help="Metrics file (JSON or YAML mapping of numbers; nested keys joined with '.').",
    pair_help="A metric (repeatable; overrides --metrics-file).",
)
@click.option("--params", metavar="FILE", help="Params file (JSON or YAML mapping), e.g. DVC's params.yaml.")
@pairs_option("--metadata", "metadata", "metadata", "Metadata (repeatable); true/false and numbers typed.", typed=True)
@pairs_option("--label", "labels", "label", "A label (repeatable).")
@click.option("--description", "-d", help="What this version is.")
@click.option("--run-id", help="The training run's id [default: the CI run, under GitHub Actions or GitLab CI].")
@click.option("--run-url", help="A link to the training run.")
@click.option("--parent", metavar="VERSION", help="The version this one was fine-tuned from.")
@click.option("--require-clean", is_flag=True, help="Refuse if the training repository has uncommitted changes.")
@click.option(
    "--signature",
    metavar="FILE",
    help="The I/O signature: JSON or YAML, gitreg's form or MLflow's (an MLmodel file too).",
)
@click.option(
    "--input-example",
    metavar="FILE",
    help="An input example (.json, .csv, .npy, .npz), stored and verified beside the artifact.",
)
@click.option(
    "--requirements",
    metavar="FILE",
    help="The training environment as a pip requirements file [default: this interpreter's].",
)
@click.option("--conda", metavar="FILE", help="The training environment as a conda environment.yml.")
@click.option(
    "--no-environment",
    "environment",
    flag_value=False,
    default=True,
    help="Record no environment (by default this interpreter's Python, platform and packages).",
)
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    metavar="NAME@VERSION",
    help="A registered dataset version it was trained on (repeatable; NAME@latest too). "
    "Those its DVC project tracked by the same hash are linked without asking.",
)
@click.option(
    "--eval-dataset",
    "eval_datasets",
    multiple=True,
    metavar="NAME@VERSION",
    help="A registered dataset version it was evaluated on (repeatable).",
)
@click.option(
    "--no-auto-deploy",
    "auto_deploy",
    flag_value=False,
    default=True,
    help="Do not run model.yaml's auto_deploy after registering.",
)
@click.option(
    "--sign",
    metavar="SPEC",
    help="Sign the artifact (OMS) right after registering: key:PRIVATE_KEY, certificate:CERT,KEY,CHAIN[,CHAIN...] "
    "or sigstore (needs gitreg[signing]).",
)
@branch_options
@progress_option
@registry_option
@json_option
def register(
    model: str, artifact: str | None, progress: bool | None, pr_body: str | None, as_json: bool, **options: Any
) -> None:
    """Register a new version of MODEL from an artifact (or a run).

    The artifact is hashed, stored in the DVC cache and pushed to the
    registry's DVC remote; the version manifest is committed with a GTO tag
    MODEL@vVERSION. The first version of a model also creates its model.yaml.

    The version records the environment it was trained in: this
    interpreter's Python, platform and installed distributions, unless
    --requirements or --conda name the training's (or --no-environment).
    --signature and --input-example say what the model takes and returns;
    the example must fit the signature.

    --from-run RUN registers what a run of the experiment registry logged
    (`gitreg run`, `gitreg.start_run`): its artifact (-a names one when it
    logged several), and unless given here its last metrics, its params and
    its environment; the version's lineage is the run's, and names it.

    When model.yaml sets auto_deploy (`gitreg model set --auto-deploy`), a
    second commit then promotes the new version through the stage's gates
    if the strategy chooses it (with --branch: on a pull-request branch), or
    says why not; the registration stands either way.
    """
    from gitreg import api, render

    registered = api.register(model, artifact, progress=_show_progress(progress, as_json), **options)
    deployed = registered.deployed
    promotion = _report_move(deployed.moved, True, pr_body) if deployed and deployed.moved else None
    if as_json:
        echo(render.to_json(render.registered_json(registered) | render.auto_deployed_json(deployed, promotion)))
        return
    if registered.lineage_notes:
        echo(f"note: lineage not captured: {'; '.join(registered.lineage_notes)}", err=True)
    echo(render.registered_text(registered))
    if registered.signed is not None:
        echo(render.signed_text(registered.signed))
    if deployed is not None:
        echo(render.auto_deployed_text(deployed))
        if deployed.moved:
            _report_move(deployed.moved, False, pr_body)


@main.command("list")
@model_argument(required=False)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="EXPR",
    help="Only versions where EXPR holds, e.g. 'metrics.auc > 0.9 and stage == production' (repeatable; "
    "fields metrics.X params.X metadata.X labels.X version stage status created_by created_at; "
    "ops > >= < <= == != ~).",
)
@pairs_option("--label", "labels", "label", "Only versions with this label (repeatable).")
@click.option("--namespace", metavar="NAMESPACE", help="Only the models NAMESPACE/NAME.")
@at_option
@registry_option
@json_option
def list_(
    model: str | None,
    where: tuple[str, ...],
    labels: dict[str, str],
    namespace: str | None,
    at: str | None,
    registry: Registry,
    as_json: bool,
) -> None:
    """List models, or the versions of MODEL (newest first), or search versions.

    For models: latest version, the version in each stage, number of
    versions. For a model: each version's stage, registration and key metrics.
    With --where or --label: the matching versions (of MODEL, or of every
    model). --namespace keeps the models of one namespace (NAMESPACE/NAME).
    """
    from gitreg import api, render

    if where or labels or model is not None:
        found = api.list_versions(model, where=where, labels=labels, namespace=namespace, at=at, registry=registry)
        echo(render.to_json(render.versions_json(found)) if as_json else render.versions_text(found))
        return
    listed = api.list_models(namespace=namespace, at=at, registry=registry)
    echo(render.to_json(render.summaries_json(listed)) if as_json else render.summaries_text(listed, listed.stages))


@main.command()
@click.argument("ref", metavar="MODEL[@VERSION|@STAGE|@latest]", shell_complete=complete_refs)
@at_option
@registry_option
@json_option
def show(ref: str, at: str | None, registry: Registry, as_json: bool) -> None:
    """Show a version's full manifest, or a model's versions.

    MODEL@VERSION, MODEL@STAGE and MODEL@latest (the newest active version)
    print the manifest, as do GTO's MODEL@vX.Y.Z and MODEL#STAGE and MLflow's
    models:/MODEL@STAGE and models:/MODEL/VERSION; a bare MODEL prints its
    versions as `gitreg list MODEL` does. The text form is the manifest
    file as committed, then, as YAML comments, how its environment differs
    from the version it follows (its parent, else the previous version);
    --json adds `stages`, the stages the version holds, and
    `environment_differences`.
    """
    from gitreg import api, render
    from gitreg.documents import reference

    if not reference.names_version(ref):
        versions = api.list_versions(reference.split(ref)[0], at=at, registry=registry)
        echo(render.to_json(render.versions_json(versions)) if as_json else render.versions_text(versions))
        return
    version = api.show(ref, at=at, registry=registry)
    named = f"{version.model}@{version.version}"
    against, differences = api.environment_differences(named, at=at, registry=registry)
    if not as_json:
        echo(render.version_text(version) + render.environment_note(against, differences))
        return
    held = api.stages_held(named, at=at, registry=registry)
    doc = render.version_json(version, held) | render.environment_differences_json(against, differences)
    echo(render.to_json(doc))


@main.command()
@click.option("--base", metavar="REF", help="Also check what changed since REF (e.g. origin/main, the PR's target).")
@click.option(
    "--format",
    "format",
    type=click.Choice(["text", "json", "markdown", "github"]),
    default="text",
    show_default=True,
    help="markdown: a PR comment / job summary; github: workflow annotations.",
)
@click.option("--head", default="HEAD", show_default=True, metavar="REV", help="The revision to check.")
@click.option(
    "--staged",
    is_flag=True,
    help="Check what the index would commit: every rule on the staged tree, and the change against HEAD "
    "(for pre-commit).",
)
@click.option(
    "--require-signed",
    type=click.Choice(["all", "moves"]),
    is_flag=False,
    flag_value="all",
    help="With --base: every commit of the change (moves: every commit that moves a pointer) must carry a good "
    "signature by an allowed signer, as git verifies it.",
)
@click.option(
    "--allowed-signers",
    metavar="FILE",
    help="The SSH allowed-signers file for --require-signed [default: .gitreg/allowed_signers on the base].",
)
@registry_here
def check(
    base: str | None,
    format: str,
    head: str,
    staged: bool,
    require_signed: str | None,
    allowed_signers: str | None,
    registry: Registry,
) -> None:
    """Check the registry's rules; exit 1 if any fails.

    Without --base: every registry file parses, validates and agrees with its
    path, and every pointer names an existing active version in a configured
    stage. With --base: what the change did — no version deleted (unless the
    base's retention policy lets it expire) or its core edited, evaluations
    only appended, and every moved pointer passes the gates and stage order
    read from the base (a move back to an earlier holder is a rollback).
    Every violation is reported, with file and field.

    --require-signed checks the change's commits too: each (or each that
    moves a pointer) must be signed by a key the allowed-signers file names
    (SSH signing: `git config gpg.format ssh`; gitreg's own commits and tags
    are signed when `commit.gpgSign` is on).
    """
    from gitreg import api, render

    report = api.check(
        base=base,
        head=head,
        staged=staged,
        require_signed=require_signed,
        allowed_signers=allowed_signers,
        registry=registry,
    )
    if format == "json":
        echo(render.to_json(render.report_json(report)))
    else:
        formats = {"text": render.report_text, "markdown": render.report_markdown, "github": render.report_github}
        echo(formats[format](report))
    if not report.ok:
        click.get_current_context().exit(1)


def reason_option(func: Any) -> Any:
    return click.option("--reason", default="", help="Why: recorded in the pointer file and the commit.")(func)


def dry_run_option(func: Any) -> Any:
    return click.option(
        "--dry-run", is_flag=True, help="Show the plan (gates, deltas, the pointer diff) and write nothing."
    )(func)


force_degraded_option = click.option(
    "--force-degraded",
    "force_degraded",
    metavar="TEXT",
    help="Move a version marked degraded all the same, for this reason (the commit clears the mark).",
)


def move_options(func: Any) -> Any:
    """What every pointer move takes besides its own arguments: --reason,
    --dry-run, --branch, --pr-body, the registry and --json."""
    for option in (json_option, registry_option, branch_options, dry_run_option, reason_option):
        func = option(func)
    return func


def _show_move(
    call: Any,
    *args: str | None,
    reason: str,
    dry_run: bool,
    branch: str | None,
    pr_body: str | None,
    registry: Registry,
    as_json: bool,
    **options: str | None,
) -> None:
    """Run a pointer move (``api.promote`` and the like, with the command's
    own ``args`` and ``options``) and print its plan; a refused promotion
    prints its gate table before the error line."""
    from gitreg import render

    with _gate_table_if_refused(as_json):
        moved = call(*args, **options, reason=reason, dry_run=dry_run, branch=branch, registry=registry)
    doc = _report_move(moved, as_json, pr_body)
    if doc is not None:
        echo(render.to_json(doc))


@contextlib.contextmanager
def _gate_table_if_refused(as_json: bool) -> Iterator[None]:
    """A promotion its gates refuse prints its gate table, then the error line."""
    from gitreg import render
    from gitreg.operations.lifecycle import GateFailed

    try:
        yield
    except GateFailed as exc:
        echo(render.to_json(render.plan_json(exc.plan)) if as_json else render.plan_text(exc.plan, commit=""))
        raise


def _report_move(moved: Any, as_json: bool, pr_body: str | None) -> dict[str, Any] | None:
    """Write the PR body if asked; print a move as text, or return its JSON document."""
    from gitreg import render
    from gitreg.storage.files import atomic_write

    body = render.pr_body(moved.plan, moved.branch) if moved.branch else None
    if body is not None and pr_body:
        atomic_write(pr_body, body.encode("utf-8"))
    if as_json:
        return render.move_json(moved, body)
    echo(render.move_text(moved, body, pr_body))
    return None


@main.command()
@model_argument()
@version_argument()
@click.option(
    "--to", "to", required=True, metavar="STAGE", shell_complete=complete_stages, help="The stage to promote to."
)
@force_degraded_option
@move_options
def promote(model: str, version: str, to: str, force_degraded: str | None, **move: Any) -> None:
    """Promote VERSION of MODEL to a stage, through its gates.

    The model's gates for the stage (model.yaml: min_, max_, min_improvement_,
    min_improvement_pct_, require_) and the stage-order policy (.gitreg/config.yaml) must pass;
    otherwise the gate table is printed, nothing is written, exit 1. A
    version marked degraded (by `gitreg monitor`) is refused.
    """
    from gitreg import api

    _show_move(api.promote, model, version, to=to, force_degraded=force_degraded, **move)


@main.command()
@model_argument()
@version_argument()
@click.option(
    "--to", "to", required=True, metavar="STAGE", shell_complete=complete_stages, help="The stage to demote to."
)
@move_options
def demote(model: str, version: str, to: str, **move: Any) -> None:
    """Demote VERSION of MODEL to a lower stage.

    It leaves every stage above STAGE and takes STAGE's pointer (unless STAGE
    is the lowest stage, where versions without a pointer are). No gates.
    """
    from gitreg import api

    _show_move(api.demote, model, version, to=to, **move)


@main.command()
@model_argument()
@click.option("--stage", shell_complete=complete_stages, required=True, help="The stage whose pointer to remove.")
@move_options
def unassign(model: str, stage: str, **move: Any) -> None:
    """Remove MODEL's pointer for a stage: no version holds it afterwards."""
    from gitreg import api

    _show_move(api.unassign, model, stage=stage, **move)


@main.command()
@model_argument()
@click.option(
    "--stage", shell_complete=complete_stages, default="production", show_default=True, help="The stage to roll back."
)
@click.option("--to", "to", metavar="VERSION", help="The version to restore [default: the previous holder].")
@force_degraded_option
@move_options
def rollback(model: str, stage: str, to: str | None, force_degraded: str | None, **move: Any) -> None:
    """Give a stage back to its previous holder.

    The previous holder comes from the pointer file's own git history: the
    one before the current holder that is still active, not degraded and
    unchanged. Repeated rollbacks keep walking back. Metric gates are skipped
    for a version that held the stage; --to another version must pass them.
    """
    from gitreg import api

    _show_move(api.rollback, model, stage=stage, to=to, force_degraded=force_degraded, **move)


@main.command()
@model_argument()
@version_argument()
@click.option(
    "--force",
    is_flag=True,
    help="Archive a dataset version even though a stage holder was trained or evaluated on it (needs --reason).",
)
@click.option("--reason", help="Why (recorded in the commit; required with --force).")
@registry_option
@json_option
def archive(model: str, version: str, force: bool, reason: str | None, registry: Registry, as_json: bool) -> None:
    """Mark VERSION of MODEL archived.

    Refused while the version holds a stage; for a dataset version, also
    while a version that holds a stage was trained or evaluated on it,
    unless --force with a --reason.
    """
    from gitreg import api, render

    done = api.archive(model, version, force=force, reason=reason, registry=registry)
    echo(render.to_json(render.version_json(done)) if as_json else f"{model} {done.version} is now archived")


@main.command()
@model_argument()
@version_argument()
@registry_option
@json_option
def deprecate(model: str, version: str, registry: Registry, as_json: bool) -> None:
    """Mark VERSION of MODEL deprecated.

    Refused while the version holds a stage.
    """
    from gitreg import api, render

    done = api.deprecate(model, version, registry=registry)
    echo(render.to_json(render.version_json(done)) if as_json else f"{model} {done.version} is now deprecated")


@main.command()
@model_argument()
@click.option(
    "--stage",
    shell_complete=complete_stages,
    help="Only the moves of this stage's pointer, with the version before and after.",
)
@click.option(
    "--metrics",
    "metrics",
    is_flag=True,
    help="The performance trend instead: per version and metric, registered, best and latest value and the change.",
)
@click.option("--environment", metavar="ENV", help="With --metrics: only evaluations made in ENV.")
@at_option
@registry_option
@json_option
def history(
    model: str,
    stage: str | None,
    metrics: bool,
    environment: str | None,
    at: str | None,
    registry: Registry,
    as_json: bool,
) -> None:
    """The audit trail of MODEL, read from git: when, who, what, reason, commit.

    With --metrics: how each version performed after registration (from the
    evaluations that `gitreg evaluate` and `gitreg monitor` appended).
    """
    from gitreg import api, render
    from gitreg.errors import UsageError

    if metrics:
        if stage is not None:
            raise UsageError("--metrics and --stage cannot be combined")
        rows = api.metric_history(model, environment=environment, at=at, registry=registry)
        echo(render.to_json(render.trend_json(rows)) if as_json else render.trend_text(rows))
        return
    if environment is not None:
        raise UsageError("--environment applies to --metrics only")
    events = api.history(model, stage=stage, at=at, registry=registry)
    echo(render.to_json(render.events_json(events)) if as_json else render.events_text(events))


@main.command()
@model_argument()
@click.option(
    "--stale-days",
    type=float,
    default=7.0,
    show_default=True,
    metavar="DAYS",
    help="A holder unmeasured this long, or an unheld version older than every holder registered this long ago, "
    "is stale.",
)
@at_option
@registry_option
@json_option
def status(model: str, stale_days: float, at: str | None, registry: Registry, as_json: bool) -> None:
    """How MODEL is doing, and what to do about it.

    Each stage's holder with its latest measurement in that stage, the
    versions marked degraded, deprecated or archived, and recommendations,
    each with the command that carries it out: what to promote (deploy's
    best choice, or the best version held back and why), what to roll back
    (a degraded holder), what to measure (a stale holder) and what to clean
    up (degraded, stale or expired versions).
    """
    from gitreg import api, render

    found = api.status(model, stale_days=stale_days, at=at, registry=registry)
    echo(render.to_json(render.status_json(found)) if as_json else render.status_text(found))


@main.command()
@model_argument()
@click.argument("versions", nargs=-1, required=True)
@at_option
@registry_option
@json_option
def compare(model: str, versions: tuple[str, ...], at: str | None, registry: Registry, as_json: bool) -> None:
    """Compare VERSIONS of MODEL: metrics with deltas against the first, the
    params and metadata that differ, and how each later version's signature
    and environment differ from the first's.

    A version may be named by the stage it holds (`gitreg compare fraud
    production 1.0.3`) or as latest. A signature change that would break
    callers of the first version (an input dropped, retyped or narrowed, a
    new required input, an output dropped or retyped) is marked BREAKING
    and listed in --json's `signature_breaking`.
    """
    from gitreg import api, render

    result = api.compare(model, versions, at=at, registry=registry)
    echo(render.to_json(render.comparison_json(result)) if as_json else render.comparison_text(result))


@main.command("env")
@click.argument("ref", metavar="MODEL@STAGE|MODEL@VERSION|MODEL@latest", shell_complete=complete_refs)
@click.option(
    "--format",
    "format",
    type=click.Choice(["requirements", "conda"]),
    default="requirements",
    show_default=True,
    help="pip requirements, or a conda environment.yml.",
)
@at_option
@registry_option
def env(ref: str, format: str, at: str | None, registry: Registry) -> None:
    """Print a file that rebuilds the environment a version was trained in.

    The environment is what `register` recorded: the training
    interpreter's packages (name==version), or the --requirements or
    --conda file given then. `gitreg env fraud@production > requirements.txt`,
    then `pip install -r requirements.txt`; or `--format conda` for
    `conda env create -f`.
    """
    from gitreg import api

    echo(api.environment_file(ref, format=format, at=at, registry=registry), nl=False)


@main.command()
@click.argument("ref", metavar="MODEL@STAGE|MODEL@VERSION|MODEL@latest", shell_complete=complete_refs)
@at_option
@registry_option
@json_option
def resolve(ref: str, at: str | None, registry: Registry, as_json: bool) -> None:
    """Resolve a reference for deploy scripts: version, commits, artifact hash and remote.

    MODEL@latest is the newest active version (deprecated and archived ones
    are skipped). GTO's MODEL@vX.Y.Z and MODEL#STAGE and MLflow's
    models:/MODEL@STAGE, models:/MODEL/VERSION are read too, here and
    wherever a reference is taken.
    """
    from gitreg import api, render

    found = api.resolve(ref, at=at, registry=registry)
    echo(render.to_json(render.resolved_json(found)) if as_json else render.resolved_text(found))


@main.command()
@click.argument("old", metavar="REV1|DATE1")
@click.argument("new", metavar="[REV2|DATE2]", default="HEAD")
@registry_option
@json_option
def diff(old: str, new: str, registry: Registry, as_json: bool) -> None:
    """What changed in the registry between two states (default REV2: HEAD).

    Each state is a revision or an ISO date/time, as for --at. Lists models
    and versions added or removed, pointers moved, annotations (description,
    labels, status, evaluations) and gates changed.
    """
    from gitreg import api, render

    found = api.diff(old, new, registry=registry)
    echo(render.to_json(render.diff_json(found)) if as_json else render.diff_text(found))


@main.command()
@click.option("-o", "--out", default="site", show_default=True, help="The folder to write the site into.")
@at_option
@click.option("--base-url", metavar="URL", help="Where the site will be published (for canonical links).")
@click.option(
    "--commit-url",
    metavar="TEMPLATE",
    help="A commit's web page, {commit} standing for its id [default: from the origin remote, "
    "for GitHub, GitLab, Gitea and Forgejo].",
)
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes for a large build [default: the cores].")
@click.option("--serve", is_flag=True, help="Then serve the site on 127.0.0.1 and build again when the registry moves.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="The port for --serve.")
@registry_option
@json_option
def site(
    out: str,
    at: str | None,
    base_url: str | None,
    commit_url: str | None,
    jobs: int | None,
    serve: bool,
    port: int,
    registry: Registry,
    as_json: bool,
) -> None:
    """Write the registry as a static web site: no server, no external URL.

    An overview of every model with its stage holders; a page per model with
    a chart of each metric across versions, the promotion timeline of each
    stage and its gates; a page per version with its manifest, its metrics
    beside the stage holders' and how to pull it; the newest changes. A
    rebuild into the same folder rewrites only what changed. Publish the
    folder anywhere (GitHub Pages: `gitreg init --ci github`).
    """
    from gitreg import api, render

    if serve:
        if as_json:
            from gitreg.errors import UsageError

            raise UsageError("--json and --serve cannot be combined")
        api.serve_site(
            out, port=port, at=at, base_url=base_url, commit_url=commit_url, announce=echo, registry=registry
        )
        return
    built = api.build_site(out, at=at, base_url=base_url, commit_url=commit_url, jobs=jobs, registry=registry)
    echo(render.to_json(render.site_json(built)) if as_json else render.site_text(built))


@main.command()
@registry_option
@json_option
def sync(registry: Registry, as_json: bool) -> None:
    """Bring the local copy of the registry up to date.

    A registry given by URL: its private clone is fetched. A checkout: origin
    is fetched and the branch fast-forwarded when it is only behind.
    """
    from gitreg import api, render

    done = api.sync(registry=registry)
    echo(render.to_json(render.synced_json(done)) if as_json else render.synced_text(done))


@main.command()
@registry_option
@json_option
def doctor(registry: Registry, as_json: bool) -> None:
    """Report the registry's health with a fix for each problem; exit 1 if any.

    Checks: the remote is reachable, the local copy is consistent (git fsck),
    git knows who you are, the index is readable by every git library, the
    DVC remote is configured (and exists, if a folder), the GTO tags match
    the files, and the files derived for DVC (pointers, dvc.yaml) match the
    manifests.
    """
    from gitreg import api, render

    findings = api.doctor(registry=registry)
    echo(render.to_json(render.findings_json(findings)) if as_json else render.findings_text(findings))
    if not all(f.ok for f in findings):
        click.get_current_context().exit(1)


@main.command()
@click.argument("ref", metavar="MODEL@VERSION|MODEL@STAGE|MODEL@latest", shell_complete=complete_refs)
@click.option("--output", "-o", type=click.Path(), help="Where to write it [default: its own name, here].")
@click.option("--force", is_flag=True, help="Replace what is at the output path.")
@click.option(
    "--verify-signature",
    is_flag=True,
    help="Require a signature the stage's require_signature policy accepts, and re-hash the bytes against it.",
)
@click.option("--input-example", is_flag=True, help="Pull the version's input example instead of its model.")
@click.option(
    "--record-usage",
    is_flag=True,
    help="Then record the use (who, when, this host) beside the registry branch; `gitreg status` shows the last.",
)
@click.option("--purpose", default="", help="With --record-usage: what for (e.g. 'serving eu-west').")
@progress_option
@at_option
@registry_option
@json_option
def pull(
    ref: str,
    output: str | None,
    force: bool,
    verify_signature: bool,
    input_example: bool,
    record_usage: bool,
    purpose: str,
    progress: bool | None,
    at: str | None,
    registry: Registry,
    as_json: bool,
) -> None:
    """Download a version's artifact, verifying every byte against its manifest.

    It goes through the local DVC cache (a second pull needs no download) and
    appears at the output path whole or not at all. --verify-signature:
    first a signature of the version must satisfy the require_signature
    policy of the stage named (MODEL@STAGE; else of any stage of the model),
    then the pulled bytes are re-hashed against the digests it signed.
    --input-example pulls the example registered with the version (for a
    smoke test of the served model), verified by its hashes.
    --record-usage appends a usage record on refs/gitreg/usage/MODEL (never
    a commit on the registry branch); `gitreg status` shows the last use.
    """
    from gitreg import api, render

    if purpose and not record_usage:
        raise click.UsageError("--purpose goes with --record-usage")
    path = api.pull(
        ref,
        output=output,
        force=force,
        progress=_show_progress(progress, as_json),
        at=at,
        verify_signature=verify_signature,
        input_example=input_example,
        record_usage=record_usage,
        purpose=purpose,
        registry=registry,
    )
    echo(render.to_json({"ref": ref, "path": str(path)}) if as_json else str(path))


@main.command()
@click.argument("target", required=False, metavar="[MODEL[@VERSION]]")
@click.option("--remote", "remote", is_flag=True, help="Download and re-hash every byte, not just check presence.")
@click.option(
    "--repair",
    is_flag=True,
    help="Put each missing or damaged object back from this clone's DVC cache, where it holds the good bytes.",
)
@at_option
@registry_option
@json_option
def verify(target: str | None, remote: bool, repair: bool, at: str | None, registry: Registry, as_json: bool) -> None:
    """Check that artifacts are in their DVC remote (all versions, a model's,
    or one); with --remote, that their bytes match the manifests. Exit 1 if a
    problem remains (with --repair: one that could not be put right)."""
    from gitreg import api, render

    results = api.verify(target, remote=remote, repair=repair, at=at, registry=registry)
    echo(render.to_json(render.verified_json(results)) if as_json else render.verified_text(results, remote))
    if not all(r.ok for r in results):
        click.get_current_context().exit(1)


@main.command("lineage")
@click.argument("ref", required=False, metavar="MODEL@VERSION|MODEL@STAGE|MODEL@latest", shell_complete=complete_refs)
@click.option(
    "--used-by",
    "used_by",
    metavar="DATASET@VERSION",
    help="Instead: every model version trained or evaluated on this dataset version, and the stages it holds.",
)
@at_option
@registry_option
@json_option
def lineage_command(ref: str | None, used_by: str | None, at: str | None, registry: Registry, as_json: bool) -> None:
    """A version and its chain of parents, with the code, the run and the
    datasets behind each; or, with --used-by, the model versions that used
    a dataset version."""
    from gitreg import api, render

    if (ref is None) == (used_by is None):
        raise click.UsageError("give a version (MODEL@VERSION) or --used-by DATASET@VERSION, not both")
    if ref is None:
        uses = api.used_by(str(used_by), at=at, registry=registry)
        echo(render.to_json(render.uses_json(str(used_by), uses)) if as_json else render.uses_text(str(used_by), uses))
        return
    chain = api.lineage(ref, at=at, registry=registry)
    echo(render.to_json(render.lineage_json(chain)) if as_json else render.lineage_text(chain))


measurement_options = functools.partial(
    metrics_options,
    file_help="Metrics file (JSON or YAML mapping of numbers).",
    pair_help="A measured metric (repeatable; overrides --metrics-file).",
)


@main.command()
@model_argument()
@version_argument()
@measurement_options
@click.option("--environment", metavar="ENV", help="Where it was measured, e.g. production, shadow, offline-eval.")
@registry_option
@json_option
def evaluate(
    model: str,
    version: str,
    metrics: dict[str, str],
    metrics_file: str | None,
    environment: str | None,
    registry: Registry,
    as_json: bool,
) -> None:
    """Append an evaluation of VERSION to its performance history.

    Records when, who, where (--environment) and the metrics, in one commit;
    the version's registered core (metrics included) is never changed. See
    the trend with `gitreg history MODEL --metrics`.
    """
    from gitreg import api, render

    updated = api.evaluate(
        model, version, metrics=metrics, metrics_file=metrics_file, environment=environment, registry=registry
    )
    echo(render.to_json(render.version_json(updated)) if as_json else render.evaluated_text(updated))


@main.command()
@model_argument()
@version_argument()
@pairs_option("--label", "labels", "label", "Set a label (repeatable).")
@click.option("--unset-label", "unset_labels", multiple=True, metavar="KEY", help="Remove a label (repeatable).")
@click.option("--description", metavar="TEXT", help="Replace the version's description.")
@click.option("--clear-degraded", is_flag=True, help="Clear the degraded mark `gitreg monitor` set (needs --reason).")
@click.option("--reason", default="", metavar="TEXT", help="Why (kept in the record and the commit).")
@registry_option
@json_option
def annotate(model: str, version: str, registry: Registry, as_json: bool, **options: Any) -> None:
    """Say something about VERSION after its registration.

    Appends one record (who, when, why, what) to the version's manifest, in
    one commit: labels set or removed, a new description, or the degraded
    mark cleared. Records are never rewritten: the manifest keeps every one,
    and `gitreg check` refuses any other edit of a registered version.
    """
    from gitreg import api, render

    updated = api.annotate(model, version, registry=registry, **options)
    echo(render.to_json(render.version_json(updated)) if as_json else render.annotated_text(updated))


@main.command()
@model_argument()
@version_argument()
@click.option(
    "--for", "stage", required=True, metavar="STAGE", shell_complete=complete_stages, help="The stage approved for."
)
@click.option("--note", default="", metavar="TEXT", help="What was reviewed, or a ticket.")
@registry_option
@json_option
def approve(model: str, version: str, stage: str, note: str, registry: Registry, as_json: bool) -> None:
    """Approve VERSION of MODEL for a stage, as yourself.

    Appends an approval (your git identity, now, the note) to the version's
    manifest in one commit. A stage's `require_approvals: N` gate counts
    distinct approvers; `require_owner_approvals: N` only the model's owners
    (listed by email). `gitreg check --base` counts the approvals the base
    branch has: one added in the same pull request as the promotion does not.
    """
    from gitreg import api, render

    updated = api.approve(model, version, stage=stage, note=note, registry=registry)
    echo(render.to_json(render.version_json(updated)) if as_json else render.approved_text(updated, stage))


@main.command()
@model_argument()
@version_argument()
@click.argument("spec", metavar="SPEC")
@registry_option
@json_option
def sign(model: str, version: str, spec: str, registry: Registry, as_json: bool) -> None:
    """Sign VERSION of MODEL: an OMS signature over its artifact's files.

    SPEC is key:PRIVATE_KEY (an elliptic-curve key, PEM),
    certificate:CERT,PRIVATE_KEY,CHAIN[,CHAIN...] (a signing certificate, its key
    and the certificates up to the authority) or sigstore (keyless, needs
    the network). The bytes are pulled and verified first; the bundle is
    committed as models/MODEL/signatures/VERSION/<sha256>.sig. A version
    may gain signatures, never lose or change one. A stage's
    require_signature policy (model.yaml or .gitreg/config.yaml) admits a
    version only with a valid signature by an allowed signer; `promote`
    and `gitreg check --base` verify it from the bundle alone. Needs
    gitreg[signing].
    """
    from gitreg import api, render

    signed = api.sign(model, version, spec, registry=registry)
    echo(render.to_json(render.signed_json(signed)) if as_json else render.signed_text(signed))


MONITOR_EXIT = {"healthy": 0, "rolled-back": 4, "degraded": 5}


@main.command()
@model_argument()
@measurement_options
@click.option(
    "--stage",
    shell_complete=complete_stages,
    default="production",
    show_default=True,
    help="The stage whose holder was measured.",
)
@click.option(
    "--threshold",
    type=float,
    metavar="FRACTION",
    help="Relative drop that triggers the rollback, e.g. 0.05 = 5% [default: model.yaml monitor.threshold, else 0.05].",
)
@click.option("--environment", metavar="ENV", help="Where it was measured [default: the stage's name].")
@click.option("--version", "version", metavar="X.Y.Z", help="The version measured [default: the stage's holder].")
@click.option("--dry-run", is_flag=True, help="Say what would happen and write nothing.")
@registry_option
@json_option
def monitor(model: str, as_json: bool, **options: Any) -> None:
    """Record a production measurement; roll back if it degraded.

    The measurement is appended to the holder's evaluations. If any metric is
    worse than the holder's registered value by more than the threshold
    (relative; lower is better for metrics with a max_ gate), the stage goes
    back to its previous holder in the same commit, the reason in the message.

    Exit status for schedulers: 0 healthy; 4 rolled back (with --dry-run:
    would roll back); 5 degraded but no earlier active holder to roll back
    to; 1/2/3 errors as for every command.
    """
    from gitreg import api, render

    done = api.monitor(model, **options)
    echo(render.to_json(render.monitored_json(done)) if as_json else render.monitored_text(done))
    click.get_current_context().exit(MONITOR_EXIT[done.outcome])


@main.command()
@model_argument()
@click.option(
    "--strategy",
    type=click.Choice(["best", "conservative"]),
    default="best",
    show_default=True,
    help="best: the best-scoring eligible version if it beats the holder; conservative: only if it beats it "
    "by --min-improvement and --min-improvement-pct.",
)
@click.option(
    "--metric", metavar="NAME", help="The metric to rank by [default: the stage's first metric gate in model.yaml]."
)
@click.option(
    "--min-improvement",
    type=float,
    metavar="DELTA",
    help="conservative: how much better than the holder, in the metric's units [default: 0, i.e. strictly better].",
)
@click.option(
    "--min-improvement-pct",
    type=float,
    metavar="PERCENT",
    help="conservative: how much better than the holder, in percent of the holder's score.",
)
@click.option(
    "--to",
    "to",
    default="production",
    show_default=True,
    metavar="STAGE",
    shell_complete=complete_stages,
    help="The stage to deploy to.",
)
@force_degraded_option
@reason_option
@dry_run_option
@branch_options
@registry_option
@json_option
def deploy(model: str, pr_body: str | None, as_json: bool, **options: Any) -> None:
    """Choose the version a stage should run and promote it through its gates.

    Eligible versions are active, not marked degraded (unless
    --force-degraded gives the reason to rank them too), have the metric,
    meet the stage-order policy and pass the stage's gates. Prints the
    ranking and the decision; when the holder should stay, nothing is
    written (exit 0).
    """
    from gitreg import api, render

    with _gate_table_if_refused(as_json):
        decision = api.deploy(model, **options)
    if not as_json:
        echo(render.decision_text(decision))
    promotion = _report_move(decision.moved, as_json, pr_body) if decision.moved else None
    if as_json:
        echo(render.to_json(render.decision_json(decision) | {"promotion": promotion}))


@main.command()
@click.option("--dry-run", is_flag=True, help="List what would be removed and why the rest is kept; write nothing.")
@click.option(
    "--remove-artifacts",
    is_flag=True,
    help="Then delete from the DVC remote the artifacts of removed versions that no remaining version uses.",
)
@click.option(
    "--branch",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[NAME]",
    help="Commit to a new branch for review instead (pushed to origin if there is one) "
    "[default name: gitreg/gc-<UTC time>].",
)
@click.option(
    "--force",
    is_flag=True,
    help="Also remove expired dataset versions that a stage holder was trained or evaluated on (needs --reason).",
)
@click.option("--reason", help="Why (recorded in the commit; required with --force).")
@registry_option
@json_option
def gc(
    dry_run: bool,
    remove_artifacts: bool,
    branch: str | None,
    force: bool,
    reason: str | None,
    registry: Registry,
    as_json: bool,
) -> None:
    """Remove expired versions under the retention policy, in one commit.

    The policy is `retention` in .gitreg/config.yaml (max_versions,
    keep_days, keep_stages, keep_labels). Removed manifests stay in git's
    history; GTO sees deregistration tags. A version that holds a stage, or
    that a stage would roll back to, is never removed; nor is a dataset
    version a stage holder was trained or evaluated on, unless --force with
    a --reason. `gitreg check` accepts exactly the removals the base's
    policy allows.
    """
    from gitreg import api, render

    done = api.gc(
        dry_run=dry_run,
        remove_artifacts=remove_artifacts,
        branch=branch,
        force=force,
        reason=reason,
        registry=registry,
    )
    echo(render.to_json(render.collected_json(done)) if as_json else render.collected_text(done, dry_run))


@main.command("export")
@click.argument("models", nargs=-1, metavar="[MODEL]...")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE instead of standard output.")
@click.option("--runs", is_flag=True, help="Also the experiment registry's runs, with every metric point.")
@at_option
@registry_option
def export_command(models: tuple[str, ...], output: str | None, runs: bool, at: str | None, registry: Registry) -> None:
    """Print the full state of the registry (or of MODELs) as JSON.

    Every model.yaml, version manifest and stage pointer, and the DVC
    remotes holding the artifacts (credentials removed), validated against
    schemas/RegistryExport.schema.json. Load it elsewhere with `gitreg import`.
    """
    from gitreg import api, render

    document = api.export_registry(models, output=output, at=at, runs=runs, registry=registry)
    if output is None:
        echo(render.to_json(document))


@main.command("import")
@click.argument("document", metavar="FILE|-|TRACKING_URI")
@click.option(
    "--from",
    "source_kind",
    type=click.Choice(["export", "mlflow", "gto"]),
    default="export",
    show_default=True,
    help="What DOCUMENT is: a `gitreg export`, an MLflow tracking URI (sqlite:///mlflow.db, http://HOST:PORT), "
    "or a GTO repository (a path or git URL).",
)
@click.option("--model", "models", multiple=True, metavar="NAME", help="--from mlflow: only this model (repeatable).")
@pairs_option(
    "--stage-map",
    "stage_map",
    "stage mapping",
    "--from mlflow: ALIAS=STAGE or MLFLOW_STAGE=STAGE (repeatable) [default: an alias's own name; Staging, "
    "Production: staging, production].",
)
@click.option(
    "--verify",
    is_flag=True,
    help="--from mlflow or gto: read the source again afterwards and compare it field by field with the "
    "registry (exit 1 on any difference).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be imported and write nothing.")
@registry_option
@json_option
def import_command(
    document: str,
    source_kind: str,
    models: tuple[str, ...],
    stage_map: dict[str, str],
    verify: bool,
    dry_run: bool,
    registry: Registry,
    as_json: bool,
) -> None:
    """Import a `gitreg export` (FILE, or - for standard input), or an MLflow registry.

    An export: versions keep their numbers, timestamps and authors, stages
    their holders; artifacts are copied into this registry's DVC remote when
    they live elsewhere (credentials from the environment, as DVC reads them).
    Refuses anything that would overwrite different content; nothing is
    written then. Importing the same export twice writes nothing the second time.

    --from mlflow TRACKING_URI (needs gitreg[mlflow]): every registered model
    and version through MLflow's client — MLflow's version N as N.0.0, tags,
    descriptions, run metrics and params, artifacts stored in this
    registry's DVC remote and verified, aliases and legacy stages as stage
    pointers, history replayed at MLflow's dates — and a report of every
    mapping, skip and flag. A second run imports only what is new.

    --from gto PATH|URL: a GTO registry in another repository, its tags
    replayed as commits at GTO's times (registrations with their bytes
    copied from the source's DVC remote, assignments, deregistrations,
    deprecations), each with its GTO tag here.
    """
    from gitreg import api, render

    if source_kind == "gto":
        if models or stage_map:
            from gitreg.errors import UsageError

            raise UsageError("--model and --stage-map are for --from mlflow")
        replayed = api.import_gto(document, dry_run=dry_run, verify=verify, registry=registry)
        echo(render.to_json(render.gto_json(replayed)) if as_json else render.gto_text(replayed, dry_run))
        if replayed.differences:
            click.get_current_context().exit(1)
        return
    if source_kind == "mlflow":
        report = api.import_mlflow(
            document, models=models, stage_map=stage_map, dry_run=dry_run, verify=verify, registry=registry
        )
        echo(render.to_json(render.mlflow_json(report)) if as_json else render.mlflow_text(report, dry_run))
        if report.differences:
            click.get_current_context().exit(1)
        return
    if models or stage_map or verify:
        from gitreg.errors import UsageError

        raise UsageError("--model, --stage-map and --verify are for --from mlflow")
    source = sys.stdin if document == "-" else document
    done = api.import_registry(source, dry_run=dry_run, registry=registry)
    echo(render.to_json(render.imported_json(done)) if as_json else render.imported_text(done, dry_run))


@main.command()
@click.option("--dry-run", is_flag=True, help="List what would be written; write nothing.")
@click.option("--branch", metavar="NAME", help="Commit on a new branch NAME (for a pull request) instead.")
@registry_option
@json_option
def upgrade(dry_run: bool, branch: str | None, registry: Registry, as_json: bool) -> None:
    """Bring a registry made by an older gitreg up to date, in one commit.

    Writes every version's DVC pointer (versions/VERSION.dvc, derived from
    its manifest) so that stock DVC (dvc gc, dvc get, dvc import) knows
    every registered artifact, and dvc.yaml's artifacts: entries (each
    model's highest version) for dvc artifacts get and DVC Studio. Running
    it again writes nothing.
    """
    from gitreg import api, render

    done = api.upgrade(dry_run=dry_run, branch=branch, registry=registry)
    echo(render.to_json(render.upgraded_json(done)) if as_json else render.upgraded_text(done, dry_run))


@main.group()
def tags() -> None:
    """The GTO-format tags that mirror the registry files."""


@tags.command("sync")
@dry_run_option
@registry_option
@json_option
def tags_sync(dry_run: bool, registry: Registry, as_json: bool) -> None:
    """Create the tags the files imply and are missing (e.g. after a PR merge).

    Idempotent: never moves or deletes an existing tag. Push them with
    `git push origin --tags`.
    """
    from gitreg import api, render

    result = api.tags_sync(dry_run=dry_run, registry=registry)
    echo(render.to_json(render.tags_synced_json(result)) if as_json else render.tags_synced_text(result))


@main.group()
def run() -> None:
    """Record a training run in the experiment registry, step by step.

    A run is a ref beside the registry branch (refs/gitreg/runs/EXPERIMENT/ID),
    never a commit on it: thousands of runs leave the branch, the checker
    and GTO as they are. From Python: `with gitreg.start_run(...) as run`.
    """


@run.command("start")
@click.argument("experiment", shell_complete=complete_models)
@click.option("--name", default="", help="A name for the run.")
@pairs_option("--param", "params", "param", "A param (repeatable); true/false and numbers typed.", typed=True)
@click.option("--params-file", "params_file", metavar="FILE", help="Params file (JSON or YAML mapping).")
@pairs_option("--label", "labels", "label", "A label (repeatable).")
@click.option(
    "--no-environment",
    "environment",
    flag_value=False,
    default=True,
    help="Record no environment (by default this interpreter's Python, platform and packages).",
)
@registry_option
@json_option
def run_start(experiment: str, as_json: bool, **options: Any) -> None:
    """Start a run of EXPERIMENT; print its id (for `gitreg run log` and `end`)."""
    from gitreg import api, render

    started = api.start_run(experiment, **options).run
    echo(render.to_json(render.run_json(started)) if as_json else started.id)


@run.command("log")
@click.argument("run")
@functools.partial(
    metrics_options,
    file_help="Metrics file (JSON or YAML mapping of numbers).",
    pair_help="A metric point (repeatable).",
)
@click.option("--step", type=click.IntRange(min=0), help="The step of these points [default: each metric's next].")
@pairs_option("--param", "params", "param", "A param (repeatable); true/false and numbers typed.", typed=True)
@click.option("--params-file", "params_file", metavar="FILE", help="Params file (JSON or YAML mapping).")
@pairs_option("--label", "labels", "label", "A label (repeatable).")
@click.option(
    "--artifact",
    "artifacts",
    multiple=True,
    metavar="PATH",
    help="A file or folder to store in the registry's DVC remote (repeatable).",
)
@registry_option
@json_option
def run_log(run: str, as_json: bool, **options: Any) -> None:
    """Add metric points, params, labels and artifacts to RUN (its id, or the first 6+ digits)."""
    from gitreg import api, render

    logged = api.log_run(run, **options)
    echo(render.to_json(render.run_json(logged)) if as_json else render.run_logged_text(logged))


@run.command("end")
@click.argument("run")
@click.option(
    "--status",
    type=click.Choice(["finished", "failed", "killed"]),
    default="finished",
    show_default=True,
    help="How the run ended.",
)
@click.option("--reason", default="", help="Why (for a failed or killed run).")
@registry_option
@json_option
def run_end(run: str, status: str, reason: str, registry: Registry, as_json: bool) -> None:
    """End RUN."""
    from gitreg import api, render

    ended = api.end_run(run, status=status, reason=reason, registry=registry)
    echo(render.to_json(render.run_json(ended)) if as_json else f"Run {ended.id} {ended.status}")


@main.group()
def runs() -> None:
    """Read, compare and prune the experiment registry's runs."""


@runs.command("list")
@click.argument("experiment", required=False, shell_complete=complete_models)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="EXPR",
    help="Only runs where EXPR holds, e.g. 'metrics.auc > 0.9 and params.lr < 0.1' (repeatable; fields "
    "metrics.X params.X labels.X id experiment name status started_at started_by ended_at).",
)
@registry_option
@json_option
def runs_list(experiment: str | None, where: tuple[str, ...], registry: Registry, as_json: bool) -> None:
    """List runs (of EXPERIMENT), newest first."""
    from gitreg import api, render

    found = api.list_runs(experiment, where=where, registry=registry)
    echo(render.to_json([render.run_json(r) for r in found]) if as_json else render.runs_text(found))


@runs.command("show")
@click.argument("run")
@registry_option
@json_option
def runs_show(run: str, registry: Registry, as_json: bool) -> None:
    """Show RUN: its params, last metrics, artifacts, lineage (--json: every metric point too)."""
    from gitreg import api, render

    found = api.show_run(run, registry=registry)
    if as_json:
        points = api.run_points(found.id, registry=registry)
        echo(render.to_json(render.run_json(found) | {"points": [dataclasses.asdict(p) for p in points]}))
        return
    echo(render.run_text(found))


@runs.command("compare")
@click.argument("runs", metavar="RUN RUN...", nargs=-1, required=True)
@registry_option
@json_option
def runs_compare(runs: tuple[str, ...], registry: Registry, as_json: bool) -> None:
    """Compare runs: params side by side (those that differ marked), and each
    metric's last value with its difference from the first run's."""
    from gitreg import api, render

    found = api.compare_runs(runs, registry=registry)
    echo(render.to_json(render.run_comparison_json(found)) if as_json else render.run_comparison_text(found))


@runs.command("gc")
@click.option("--keep", type=click.IntRange(min=0), required=True, help="Ended runs to keep per experiment.")
@click.option("--experiment", shell_complete=complete_models, help="Only this experiment's runs.")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@registry_option
@json_option
def runs_gc(keep: int, experiment: str | None, dry_run: bool, registry: Registry, as_json: bool) -> None:
    """Remove all but the newest KEEP ended runs of each experiment.

    Running runs stay, and so does every run a registered version came from
    (register --from-run).
    """
    from gitreg import api, render

    done = api.gc_runs(keep=keep, experiment=experiment, dry_run=dry_run, registry=registry)
    echo(render.to_json(render.runs_collected_json(done)) if as_json else render.runs_collected_text(done))


@main.group()
def dataset() -> None:
    """The data registry: datasets versioned like models, linked to the
    model versions trained and evaluated on them."""


@dataset.command("register")
@click.argument("name", shell_complete=complete_models)
@click.option("--artifact", "-a", required=True, metavar="PATH", help="The dataset file or folder to store.")
@click.option("--version", "version", metavar="VERSION", help="Version to register [default: the next one].")
@click.option(
    "--bump",
    type=click.Choice(["patch", "minor", "major"]),
    help="Which part to bump for the next semantic version [default: the registry's policy, patch].",
)
@click.option(
    "--versioning",
    type=click.Choice(["semver", "date"]),
    default="semver",
    show_default=True,
    help="A new dataset's scheme: semantic versions, or by date (YYYY.M.D, then YYYY.M.D-2 for a second that day).",
)
@click.option(
    "--schema",
    metavar="FILE",
    help="The columns it must have (JSON or YAML: columns with name, type, nullable; or a Table Schema).",
)
@pairs_option("--metadata", "metadata", "metadata", "Metadata (repeatable); true/false and numbers typed.", typed=True)
@pairs_option("--label", "labels", "label", "A label (repeatable).")
@click.option("--description", "-d", help="What this version is.")
@click.option("--run-id", help="The run that produced it [default: the CI run, under GitHub Actions or GitLab CI].")
@click.option("--run-url", help="A link to that run.")
@click.option("--parent", metavar="VERSION", help="The version this one was derived from.")
@click.option("--require-clean", is_flag=True, help="Refuse if the repository it sits in has uncommitted changes.")
@progress_option
@registry_option
@json_option
def dataset_register(name: str, artifact: str, progress: bool | None, as_json: bool, **options: Any) -> None:
    """Register a new version of the dataset NAME from a file or folder.

    The bytes are stored as a model's are (DVC cache and remote, verified
    on every pull), with the data's metadata: format, size and file count,
    and for CSV, TSV and Parquet (pip install 'gitreg[data]') its rows and
    each column's type and fraction of missing values. With --schema the
    data must fit the declared columns. The first version creates the
    dataset's model.yaml (type: dataset, and its --versioning).
    """
    from gitreg import api, render

    registered = api.register_dataset(name, artifact, progress=_show_progress(progress, as_json), **options)
    if as_json:
        echo(render.to_json(render.registered_json(registered)))
        return
    if registered.lineage_notes:
        echo(f"note: {'; '.join(registered.lineage_notes)}", err=True)
    echo(render.registered_text(registered))


@dataset.command("list")
@at_option
@registry_option
@json_option
def dataset_list(at: str | None, registry: Registry, as_json: bool) -> None:
    """List the datasets: latest version, the version in each stage, number of versions."""
    from gitreg import api, render

    listed = api.list_models(type="dataset", at=at, registry=registry)
    echo(
        render.to_json(render.summaries_json(listed))
        if as_json
        else render.summaries_text(listed, listed.stages, "dataset")
    )


@dataset.command("show")
@click.argument("ref", metavar="NAME[@VERSION|@STAGE|@latest]", shell_complete=complete_refs)
@at_option
@registry_option
@json_option
def dataset_show(ref: str, at: str | None, registry: Registry, as_json: bool) -> None:
    """A dataset version: its data (format, size, rows, columns), schema,
    lineage, and the model versions trained or evaluated on it."""
    from gitreg import api, render
    from gitreg.documents import reference

    named = ref if reference.names_version(ref) else f"{ref}@latest"
    version = api.show(named, at=at, registry=registry)
    uses = api.used_by(f"{version.model}@{version.version}", at=at, registry=registry)
    held = api.stages_held(f"{version.model}@{version.version}", at=at, registry=registry)
    if as_json:
        echo(render.to_json(render.version_json(version, held) | {"used_by": render.uses_json(named, uses)["used_by"]}))
        return
    echo(render.dataset_text(version, held, uses))


@main.group()
def model() -> None:
    """Read and edit a model's model.yaml (description, owners, labels, gates)."""


@model.command("show")
@model_argument(metavar="MODEL")
@at_option
@registry_option
@json_option
def model_show(model: str, at: str | None, registry: Registry, as_json: bool) -> None:
    """Print MODEL's model.yaml."""
    from gitreg import api, render

    found = api.model_show(model, at=at, registry=registry)
    echo(render.to_json(render.plain(found.to_doc())) if as_json else render.model_text(found))


@model.command("set")
@model_argument(metavar="MODEL")
@click.option("--description", help="Replace the description.")
@click.option("--owner", "owners", multiple=True, help="An owner (repeatable; replaces the list).")
@pairs_option("--label", "labels", "label", "Set a label (repeatable).")
@click.option(
    "--gate",
    "gates",
    multiple=True,
    metavar="STAGE:KEY=VALUE",
    callback=lambda ctx, param, given: _gate_mapping(given),
    help="Set a gate, e.g. production:min_auc=0.9 or production:require_approved=true (repeatable).",
)
@click.option(
    "--remove-gate",
    "remove_gates",
    multiple=True,
    metavar="STAGE:KEY",
    help="Remove a gate, e.g. production:min_auc (repeatable).",
)
@click.option(
    "--monitor-threshold",
    type=float,
    metavar="FRACTION",
    help="The relative drop at which `gitreg monitor` rolls back, e.g. 0.05 = 5%.",
)
@pairs_option(
    "--auto-deploy",
    "auto_deploy",
    "auto-deploy setting",
    "After each registration, promote the new version if a strategy chooses it (repeatable; replaces the "
    "settings): stage=STAGE, strategy=best|conservative, metric=NAME, min_improvement=D, min_improvement_pct=P.",
    typed=True,
)
@click.option("--no-auto-deploy", is_flag=True, help="Remove the auto-deploy settings.")
@click.option(
    "--require-signature",
    "require_signature",
    multiple=True,
    metavar="STAGE:FIELD=VALUE",
    callback=lambda ctx, param, given: _signature_mapping(given),
    help="Admit a version to STAGE only with an OMS signature by: key=PATH (a PEM public key committed under "
    ".gitreg/), certificate=PATH (a CA), identity=NAME, issuer=URL (repeatable; replaces the stage's policy).",
)
@click.option(
    "--remove-require-signature",
    "remove_require_signature",
    multiple=True,
    metavar="STAGE",
    help="Remove a stage's signature policy (repeatable).",
)
@registry_option
@json_option
def model_set(model: str, as_json: bool, auto_deploy: dict[str, Any], no_auto_deploy: bool, **options: Any) -> None:
    """Edit MODEL's model.yaml in one commit (created if missing)."""
    from gitreg import api, render

    if auto_deploy and no_auto_deploy:
        from gitreg.errors import UsageError

        raise UsageError("give --auto-deploy or --no-auto-deploy, not both")
    deploying = False if no_auto_deploy else auto_deploy or None
    edited = api.set_model(model, auto_deploy=deploying, **options)
    echo(render.to_json(render.model_edited_json(edited)) if as_json else render.model_edited_text(edited))


def _signature_mapping(given: tuple[str, ...]) -> dict[str, dict[str, list[str]]] | None:
    from gitreg.documents import inputs

    return inputs.signature_pairs(given) or None


def _gate_mapping(given: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``--gate STAGE:KEY=VALUE`` values as the API's ``gates`` mapping."""
    from gitreg.documents import inputs

    return inputs.gate_pairs(given)


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="Where to build the demo [default: a new temporary folder].",
)
def demo(directory: str | None) -> None:
    """Run the main job end to end on a local registry with a local DVC remote.

    Creates a registry with gates, registers the training data as a
    dataset, trains a tiny model three times as runs of the experiment
    registry and registers each run (linked to the data), promotes through
    the gates (one is refused), records production measurements with
    `monitor` (the degraded one rolls back), lists the result, its history,
    `status` (what to do next), the runs and the data's users, and tells you
    where to look.
    """
    from gitreg import api

    api.demo(directory, narrate=click.echo)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
