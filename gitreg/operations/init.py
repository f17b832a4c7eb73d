"""``gitreg init``: make a folder, a repository or a URL a registry (its
config, DVC's config with a remote of the registry's own, optionally CI
files) in one commit; ``--adopt`` continues in ``operations.adopt``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitreg import lazy
from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot
from gitreg.core.transaction import Change
from gitreg.documents import layout, manifest, tags
from gitreg.documents.manifest import RegistryConfig
from gitreg.documents.names import check_name
from gitreg.errors import ConflictError, NotFoundError, UsageError
from gitreg.storage import credentials
from gitreg.storage import location as locations
from gitreg.storage.git import Repo

if TYPE_CHECKING:
    from gitreg.ci import workflows as ci_templates
    from gitreg.documents import yamlio
    from gitreg.storage import dvcconfig
else:  # loaded when init runs
    ci_templates, dvcconfig, yamlio = (
        lazy.module(f"gitreg.{name}") for name in ("ci.workflows", "storage.dvcconfig", "documents.yamlio")
    )

DEFAULT_STORAGE = ".gitreg/storage"


@dataclass(frozen=True)
class Initialised:
    root: str  # the registry's folder, or its URL
    commit: str | None  # None: already a registry, nothing changed
    remote: str
    remote_url: str
    files: tuple[str, ...] = ()  # what the commit wrote
    adopted: Any = None  # gitreg.operations.adopt.Adopted, with --adopt


def create(
    path: str | os.PathLike[str] = ".",
    *,
    remote: str | None = None,
    models_dir: str = "models",
    ci: str | None = None,
    ci_owners: str | None = None,
    ci_install: str | None = None,
    adopt: bool = False,
    ci_namespace_owners: Mapping[str, str] | None = None,
) -> Initialised:
    """Make ``path`` a registry: a folder that does not exist yet or is in
    no git repo becomes a new repo; a folder inside a repo makes that
    repo (its top level) the registry. ``ci="github"`` also writes the
    check and tag-sync workflows and a CODEOWNERS template (files that
    already exist are kept as they are). A repository GTO manages is
    refused unless ``adopt`` (``gitreg.operations.adopt`` then brings its versions in)."""
    if ci not in (None, "github"):
        raise UsageError(f"unknown CI {ci!r}: gitreg writes files for github")
    if ci and ci_install:
        ci_templates.check_install(ci_install)
    if ci_owners is not None:
        ci_owners = ci_templates.check_owners(ci_owners)
    for space, team in (ci_namespace_owners or {}).items():
        check_name(space, "namespace")
        ci_templates.check_owners(team, f"owners of namespace {space}")
    if ci_namespace_owners and not ci:
        raise UsageError("--ci-namespace-owner writes CODEOWNERS: give it with --ci github")
    if remote and credentials.has_credentials(remote):
        raise UsageError(
            f"--remote {credentials.redact(remote)} carries credentials, which would be committed in "
            ".dvc/config: give the URL without them and keep them out of git (dvc remote modify --local "
            "NAME user/password ..., or the environment)"
        )
    where = locations.resolve(path)
    if where.remote:
        if remote is None:
            raise UsageError("a shared registry needs a shared artifact store: give --remote URL (any DVC remote)")
        registry = Registry.open(path)
    else:
        target = Path(path)
        if target.exists() and not target.is_dir():
            raise UsageError(f"{target} exists and is not a folder")
        try:
            repo = Repo(target) if target.exists() else _new_repo(target)
        except NotFoundError:
            repo = _new_repo(target)
        registry = Registry(repo)
    repo = registry.repo
    url = dvcconfig.normalise_url(remote) if remote else None
    own = dvcconfig.own_folder(url) if url else None  # chosen once: build may run more than once
    manifest.parse(  # validates models_dir before anything is written
        yamlio.dump(RegistryConfig(models_dir=models_dir).to_doc()), RegistryConfig, "--models-dir"
    )
    outcome: dict[str, str] = {}

    def build(snap: Snapshot) -> Change:
        branch = (repo.head_ref() or "refs/heads/main").removeprefix("refs/heads/")
        ci_files = ci_templates.files(
            models_dir, branch, ci_owners or ci_templates.DEFAULT_OWNERS, ci_install, ci_namespace_owners
        )
        paths = [
            layout.CONFIG_PATH,
            layout.DVC_CONFIG_PATH,
            layout.DVC_GITIGNORE_PATH,
            layout.DVCIGNORE_PATH,
            ".gitreg/.gitignore",
            *(ci_files if ci else ()),
        ]
        current = snap.read_files(paths)
        files: dict[str, bytes | None] = {}
        dvc_text = (current[layout.DVC_CONFIG_PATH] or b"").decode("utf-8")
        default, known = dvcconfig.remotes(dvc_text, layout.DVC_CONFIG_PATH)
        config_data = current[layout.CONFIG_PATH]
        if config_data is not None:
            config = manifest.parse(config_data, RegistryConfig, layout.CONFIG_PATH)
            name = config.remote
            if url is not None and known.get(name) != url and not dvcconfig.is_own_folder(known.get(name), url):
                raise ConflictError(
                    f"{registry.name} is already a registry storing artifacts in DVC remote {name!r} "
                    f"({known.get(name, 'not configured')}); change it with `dvc remote modify {name} url ...`"
                )
        else:
            if not adopt:
                _refuse_gto_managed(repo, snap)
            name, wanted = _choose_remote(default, known, url, own, repo.root)
            config = RegistryConfig(models_dir=models_dir, remote=name)
            files[layout.CONFIG_PATH] = manifest.render(config, layout.CONFIG_PATH)
            if wanted is not None:
                dvc_text = dvcconfig.with_remote(dvc_text, name, wanted, default is None, layout.DVC_CONFIG_PATH)
                files[layout.DVC_CONFIG_PATH] = dvc_text.encode("utf-8")
                if wanted == str(repo.root / DEFAULT_STORAGE) and current[".gitreg/.gitignore"] is None:
                    files[".gitreg/.gitignore"] = b"/storage/\n"
        if name not in dvcconfig.remotes(dvc_text, layout.DVC_CONFIG_PATH)[1]:
            raise ConflictError(
                f"DVC remote {name!r} named in {layout.CONFIG_PATH} is missing from {layout.DVC_CONFIG_PATH}"
            )
        if current[layout.DVC_GITIGNORE_PATH] is None:
            files[layout.DVC_GITIGNORE_PATH] = dvcconfig.DVC_GITIGNORE.encode()
        if current[layout.DVCIGNORE_PATH] is None:
            files[layout.DVCIGNORE_PATH] = dvcconfig.DVCIGNORE.encode()
        if ci:
            ci_files = ci_templates.files(
                config.models_dir, branch, ci_owners or ci_templates.DEFAULT_OWNERS, ci_install, ci_namespace_owners
            )
            files |= {path: data for path, data in ci_files.items() if current[path] is None}
        outcome["remote"] = name
        outcome["url"] = dvcconfig.remotes(dvc_text, layout.DVC_CONFIG_PATH)[1][name]
        outcome["written"] = "\n".join(files)
        summary = "Initialize gitreg registry" if config_data is None else "Add gitreg files"
        return Change(files, summary, {"Gitreg-Action": "init"})

    change = build(registry.snapshot())
    commit = registry.apply(build).commit if change.files else None
    if dvcconfig.is_local(outcome["url"]):
        Path(outcome["url"]).mkdir(parents=True, exist_ok=True)
    written = tuple(outcome["written"].split("\n")) if commit and outcome["written"] else ()
    return Initialised(registry.name, commit, outcome["remote"], outcome["url"], written)


def _new_repo(target: Path) -> Repo:
    """A new git repository for a registry, caching the untracked-file scan
    (an optional index extension every git library skips). No split index:
    its ``link`` extension is mandatory, and libgit2 (pygit2, so DVC and
    DVC Studio) refuses such an index and hangs; a write at 1,000 x 100
    costs ~0.1 s more without it (docs/dvc-gto.md)."""
    repo = Repo.init(target)
    repo.run(["config", "core.untrackedCache", "true"])
    return repo


def _refuse_gto_managed(repo: Repo, snap: Snapshot) -> None:
    """A repository GTO manages (its artifacts.yaml, or tags in its grammar)
    is not made a registry in place: gitreg would not know GTO's versions,
    and mirroring its own files would contradict GTO's assignments."""
    found = [name for name, _, _ in repo.tag_targets(tags.patterns("@v*", "#*")) if tags.parse(name) is not None]
    has_index = snap.commit is not None and snap.read_files(["artifacts.yaml"])["artifacts.yaml"] is not None
    if found or has_index:
        what = f"{len(found)} GTO tag(s), e.g. {found[0]}" if found else "artifacts.yaml"
        raise ConflictError(
            f"{repo.root} is managed by GTO ({what}): gitreg init --adopt brings its versions and stages in "
            "(a manifest per version, a pointer per holder, every tag kept); plain init would leave them "
            "without manifests"
        )


def _choose_remote(
    default: str | None, known: Mapping[str, str], url: str | None, own: str | None, root: Path
) -> tuple[str, str | None]:
    """(remote name to use, URL to write or None to keep the config as is).
    A remote the repository already has is used as it is (``url`` naming
    it, or its default); a new one given by ``url`` is ``own``, a folder of
    the registry's own in it (``dvcconfig.own_folder``)."""
    if url is None:
        if default is not None and default in known:
            return default, None
        url = own = str(root / DEFAULT_STORAGE)
    for name, existing in known.items():
        if existing == url:
            return name, None
    url = own or url
    name = "storage"
    suffix = 2
    while name in known:
        name, suffix = f"storage{suffix}", suffix + 1
    return name, url
