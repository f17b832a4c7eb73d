"""`gitreg sync` and `gitreg doctor`: keep a registry's local copy current,
and say what is wrong with it and how to fix each thing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitreg.core.registry import Registry
from gitreg.documents import layout
from gitreg.errors import GitregError, InvalidDocumentError
from gitreg.operations import tags_sync as mirror
from gitreg.storage import dvcconfig


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Synced:
    commit: str | None
    ahead: int = 0  # commits here that the remote does not have
    behind: int = 0  # commits the remote has that are not here (after a fast-forward: 0)
    remote: str | None = None


def sync(registry: Registry) -> Synced:
    """A URL registry was fetched when it was opened; a checkout fetches its
    ``origin`` and fast-forwards its branch when it is only behind."""
    repo = registry.repo
    if registry.cache is not None:
        return Synced(registry.snapshot().commit, remote=registry.name)
    if "origin" not in repo.remotes():
        return Synced(registry.snapshot().commit)
    ref = registry.branch_ref()
    branch = ref.removeprefix("refs/heads/")
    repo.run(["fetch", "--quiet", "origin"])
    upstream = repo.resolve(f"refs/remotes/origin/{branch}")
    if upstream is None:
        return Synced(repo.resolve(ref), remote="origin")
    counts = repo.run(["rev-list", "--left-right", "--count", f"{ref}...{upstream}"])[1].decode().split()
    ahead, behind = int(counts[0]), int(counts[1])
    if behind and not ahead:
        repo.run(["merge", "--quiet", "--ff-only", upstream])
        behind = 0
    return Synced(repo.resolve(ref), ahead, behind, "origin")


def _remote(registry: Registry) -> Finding:
    repo = registry.repo
    if "origin" not in repo.remotes():
        return Finding("remote", True, "no remote: a local registry")
    code, _, err = repo.run(["ls-remote", "--quiet", "origin", "HEAD"], check=False)
    if code == 0:
        return Finding("remote", True, f"{registry.name if registry.cache else 'origin'} is reachable")
    reason = err.decode("utf-8", "replace").strip().splitlines()
    return Finding(
        "remote",
        False,
        f"cannot reach the remote: {reason[-1] if reason else code}",
        "check the URL, the network and your git credentials; `gitreg --offline` reads the last fetched state",
    )


def _consistency(registry: Registry) -> Finding:
    code, _, err = registry.repo.run(["fsck", "--connectivity-only", "--no-progress"], check=False)
    if code == 0:
        return Finding("repository", True, "objects and refs are consistent (git fsck)")
    where = registry.cache.slot if registry.cache else registry.root
    fix = f"delete {where} to have it cloned afresh" if registry.cache else "see `git fsck` and restore from the remote"
    return Finding("repository", False, f"git fsck failed: {err.decode('utf-8', 'replace').strip()[:200]}", fix)


def _identity(registry: Registry) -> Finding:
    try:
        return Finding("identity", True, f"commits are made as {registry.repo.identity()}")
    except GitregError:
        return Finding(
            "identity",
            False,
            "git has no user.name/user.email here",
            "git config --global user.name 'Your Name'; git config --global user.email you@example.com",
        )


def _artifacts(registry: Registry) -> Finding:
    snap = registry.snapshot()
    config = snap.config
    text = (snap.read_files([layout.DVC_CONFIG_PATH])[layout.DVC_CONFIG_PATH] or b"").decode("utf-8")
    urls = dvcconfig.remotes(text, layout.DVC_CONFIG_PATH)[1]
    url = urls.get(config.remote)
    if url is None:
        return Finding(
            "artifacts",
            False,
            f"DVC remote {config.remote!r} is not in .dvc/config",
            f"dvc remote add {config.remote} URL, and commit .dvc/config",
        )
    if dvcconfig.is_local(url) and not Path(url).is_dir():
        detail = f"DVC remote {config.remote!r} is the folder {url}, which does not exist"
        fix = f"mkdir -p {url}, or point it at the shared store: dvc remote modify {config.remote} url URL"
        return Finding("artifacts", False, detail, fix)
    return Finding("artifacts", True, f"artifacts go to DVC remote {config.remote!r} ({url})")


def _index(registry: Registry) -> Finding:
    code, out, _ = registry.repo.run(["config", "--bool", "core.splitIndex"], check=False)
    if registry.repo.bare or code != 0 or out.decode().strip() != "true":
        return Finding("index", True, "the index is readable by every git library")
    return Finding(
        "index",
        False,
        "core.splitIndex is on: libgit2-based tools (pygit2, so DVC) refuse its 'link' extension and hang",
        "git config core.splitIndex false && git update-index --no-split-index",
    )


def _tags(registry: Registry) -> Finding:
    missing = mirror.sync(registry, dry_run=True)
    untrue = [s for s in missing.skipped if "does not hold the registered manifest" in s]
    if untrue:
        return Finding("tags", False, f"{len(untrue)} tag(s) contradict the files: {untrue[0]}", "git tag -d TAG")
    orphans = [s for s in missing.skipped if "names a version with no manifest" in s]
    if orphans:
        return Finding(
            "tags",
            False,
            f"{len(orphans)} version(s) have GTO tags but no manifest: {orphans[0]}",
            "register them with gitreg, or delete the tags if they are stale",
        )
    if not missing.created:
        return Finding("tags", True, "GTO tags match the files")
    fix = "gitreg tags sync" + (" (then: git push origin --tags)" if registry.cache is None else "")
    return Finding("tags", False, f"{len(missing.created)} GTO tag(s) missing, e.g. {missing.created[0]}", fix)


def _derived(registry: Registry) -> Finding:
    """The files gitreg derives from the manifests (DVC pointers, dvc.yaml)."""
    from gitreg.operations import upgrade as derived

    try:
        stale = derived.upgrade(registry, dry_run=True).files
    except InvalidDocumentError as exc:
        return Finding("derived", False, str(exc), "gitreg check, then move or fix what it names")
    if not stale:
        return Finding("derived", True, "DVC pointers and dvc.yaml match the manifests")
    detail = f"{len(stale)} derived file(s) missing or stale, e.g. {stale[0]} (DVC cannot see every version)"
    return Finding("derived", False, detail, "gitreg upgrade (--branch NAME for review)")


def diagnose(registry: Registry) -> list[Finding]:
    findings = [_remote(registry), _consistency(registry), _identity(registry), _index(registry)]
    try:
        findings += [_artifacts(registry), _tags(registry), _derived(registry)]
    except GitregError as exc:  # e.g. not a registry, or an unreadable config
        findings.append(Finding("registry", False, str(exc), "gitreg init here, or gitreg check for the details"))
    return findings
