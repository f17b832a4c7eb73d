"""The command line: a thin click layer over the core (``gitreg.api``).

Options carry the Python API's keyword names. Errors print one line and map
to exit codes: 1 refused by a registry rule, 2 usage, 3 unexpected (the
traceback goes to a log file), 130 interrupted.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from typing import Any

import click

REGISTRY_HELP = "The registry: a path inside its git repository [env: GITREG_REGISTRY; default: .]."


def registry_option(func: Any) -> Any:
    return click.option(
        "--registry",
        "-R",
        default=".",
        envvar="GITREG_REGISTRY",
        show_envvar=False,
        metavar="PATH",
        help=REGISTRY_HELP,
    )(func)


def json_option(func: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of text.")(func)


class GitregGroup(click.Group):
    """Maps the core's exceptions to one-line messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        from gitreg.errors import GitregError

        try:
            return super().invoke(ctx)
        except GitregError as exc:
            if ctx.params.get("debug"):
                raise
            click.echo(f"gitreg: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("gitreg: interrupted", err=True)
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            with tempfile.NamedTemporaryFile("w", prefix="gitreg-error-", suffix=".log", delete=False) as log:
                traceback.print_exc(file=log)
            click.echo(
                f"gitreg: unexpected error: {type(exc).__name__}: {exc} "
                f"(traceback in {log.name}; run with --debug to see it here)",
                err=True,
            )
            ctx.exit(3)


@click.group(cls=GitregGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="gitreg", message="gitreg %(version)s")
def main(debug: bool) -> None:
    """gitreg: a model registry whose database is a git repository.

    Every change is a commit on the registry's branch, mirrored as GTO-style
    tags; artifacts are stored by hash in DVC remotes.
    """


@main.command()
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option(
    "--remote", metavar="URL", help="DVC remote URL or path for artifacts [default: a local folder, .gitreg/storage]."
)
@click.option("--models-dir", default="models", show_default=True, help="Folder of the repo that holds the models.")
@json_option
def init(path: str, remote: str | None, models_dir: str, as_json: bool) -> None:
    """Make PATH (default: here) a registry.

    A PATH that does not exist yet, or is in no git repo, becomes a new repo;
    a folder inside a git repo makes that repo the registry. Writes
    .gitreg/config.yaml and DVC's config with a default remote, in one commit
    that includes nothing else. Re-running is harmless.
    """
    from gitreg import api

    result = api.init(path, remote=remote, models_dir=models_dir)
    if as_json:
        from gitreg import render

        doc = {
            "root": str(result.root),
            "commit": result.commit,
            "remote": result.remote,
            "remote_url": result.remote_url,
        }
        click.echo(render.to_json(doc))
    elif result.commit is None:
        where = f"DVC remote {result.remote!r} at {result.remote_url}"
        click.echo(f"{result.root} is already a gitreg registry (artifacts: {where})")
    else:
        click.echo(f"Initialized gitreg registry in {result.root} (commit {result.commit[:10]})")
        click.echo(f"Artifacts go to DVC remote {result.remote!r} at {result.remote_url}")


@main.command()
@click.argument("model")
@click.option("--artifact", "-a", required=True, metavar="PATH", help="The model file or folder to store.")
@click.option("--version", "version", metavar="X.Y.Z", help="Version to register [default: next after the highest].")
@click.option(
    "--bump",
    type=click.Choice(["patch", "minor", "major"]),
    help="Which part to bump for the next version [default: the registry's policy, patch].",
)
@click.option(
    "--metrics", metavar="FILE", help="Metrics file (JSON or YAML mapping of numbers; nested keys joined with '.')."
)
@click.option(
    "--metric", "metric_pairs", multiple=True, metavar="K=V", help="A metric (repeatable; overrides --metrics)."
)
@click.option("--params", metavar="FILE", help="Params file (JSON or YAML mapping), e.g. DVC's params.yaml.")
@click.option(
    "--metadata",
    "metadata_pairs",
    multiple=True,
    metavar="K=V",
    help="Metadata (repeatable); true/false and numbers are typed.",
)
@click.option("--label", "label_pairs", multiple=True, metavar="K=V", help="A label (repeatable).")
@click.option("--description", "-d", help="What this version is.")
@registry_option
@json_option
def register(
    model: str,
    artifact: str,
    version: str | None,
    bump: str | None,
    metrics: str | None,
    metric_pairs: tuple[str, ...],
    params: str | None,
    metadata_pairs: tuple[str, ...],
    label_pairs: tuple[str, ...],
    description: str | None,
    registry: str,
    as_json: bool,
) -> None:
    """Register a new version of MODEL from an artifact.

    The artifact is hashed, stored in the DVC cache and pushed to the
    registry's DVC remote; the version manifest is committed with a GTO tag
    MODEL@vVERSION. The first version of a model also creates its model.yaml.
    """
    from gitreg import inputs, render
    from gitreg.registry import Registry

    registered = Registry.open(registry).register(
        model,
        artifact,
        version=version,
        bump=bump,
        metrics=inputs.metrics(metrics, metric_pairs),
        params=inputs.params(params),
        metadata=inputs.metadata(None, metadata_pairs),
        labels=inputs.labels(None, label_pairs),
        description=inputs.description(description),
    )
    if as_json:
        doc = render.version_json(registered.version) | {"commit": registered.commit, "tag": registered.tag}
        click.echo(render.to_json(doc))
        return
    a = registered.version.artifact
    click.echo(
        f"Registered {model} {registered.version.version} "
        f"(commit {registered.commit[:10]}, tag {registered.tag}, artifact md5 {a.md5}, {a.size} bytes)"
    )


@main.command("list")
@click.argument("model", required=False)
@registry_option
@json_option
def list_(model: str | None, registry: str, as_json: bool) -> None:
    """List models, or the versions of MODEL (newest first).

    For models: latest version, the version in each stage, number of
    versions. For a model: each version's stage, registration and key metrics.
    """
    from gitreg import render
    from gitreg.registry import Registry

    snap = Registry.open(registry).snapshot()
    if model is None:
        items = snap.summaries()
        click.echo(
            render.to_json(render.summaries_json(items))
            if as_json
            else render.summaries_text(items, snap.config.stages)
        )
    else:
        versions = snap.version_summaries(model)
        click.echo(render.to_json(render.versions_json(versions)) if as_json else render.versions_text(versions))


@main.command()
@click.argument("ref", metavar="MODEL[@VERSION|@STAGE|@latest]")
@registry_option
@json_option
def show(ref: str, registry: str, as_json: bool) -> None:
    """Show a version's full manifest, or a model's versions.

    MODEL@VERSION, MODEL@STAGE and MODEL@latest print the manifest; a bare
    MODEL prints its versions as `gitreg list MODEL` does.
    """
    from gitreg import render
    from gitreg.registry import Registry

    snap = Registry.open(registry).snapshot()
    if "@" not in ref:
        versions = snap.version_summaries(ref)
        click.echo(render.to_json(render.versions_json(versions)) if as_json else render.versions_text(versions))
        return
    version = snap.resolve(ref)
    click.echo(render.to_json(render.version_json(version)) if as_json else render.version_text(version))


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="Where to build the demo [default: a new temporary folder].",
)
def demo(directory: str | None) -> None:
    """Run the main job end to end on a local registry with a local DVC remote.

    Creates a registry, trains a tiny model twice, registers both versions
    with their metrics and params, lists them, and tells you where to look.
    """
    from gitreg import demo as demo_module

    demo_module.run(directory, click.echo)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
