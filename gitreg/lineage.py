"""What a registration records about where a model came from: the training
code (repository, commit, branch, whether the tree was dirty), the run (the
CI job, or an id/url given), and the parent version. Every source is
optional: what is absent is noted, never an error (unless the caller asks
for a clean tree). Nothing secret is copied: credentials are cut from URLs
and only named CI variables are read."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitreg.errors import ConflictError, NotFoundError
from gitreg.git import Repo

_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@")


def strip_credentials(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://host/x`` (scp-like ``git@host:x`` is kept)."""
    return _USERINFO.sub(r"\1", url)


@dataclass(frozen=True)
class Captured:
    lineage: Mapping[str, Any]
    notes: tuple[str, ...]  # what could not be captured, in plain words


def _code(start: Path, require_clean: bool, notes: list[str]) -> dict[str, Any] | None:
    try:
        repo = Repo(start if start.is_dir() else start.parent)
    except NotFoundError:
        notes.append(f"code: {start} is not in a git repository")
        return None
    commit = repo.resolve("HEAD")
    if commit is None:
        notes.append(f"code: {repo.root} has no commits yet")
        return None
    code: dict[str, Any] = {}
    remotes = repo.remotes()
    if remotes:
        name = "origin" if "origin" in remotes else remotes[0]
        url = repo.run(["remote", "get-url", name], check=False)[1].decode().strip()
        if url:
            code["repo"] = strip_credentials(url)
    else:
        notes.append(f"code: {repo.root} has no git remote, so no repository URL")
    code["commit"] = commit
    branch = repo.head_ref()
    if branch:
        code["branch"] = branch.removeprefix("refs/heads/")
    changed = repo.run(["status", "--porcelain", "--untracked-files=no"])[1].decode().splitlines()
    code["dirty"] = bool(changed)
    if changed and require_clean:
        raise ConflictError(
            f"the training repository {repo.root} has uncommitted changes ({len(changed)} file(s)); "
            "commit them, or register without --require-clean"
        )
    return code


def _ci_run(env: Mapping[str, str]) -> dict[str, str] | None:
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_RUN_ID"):
        run_id = env["GITHUB_RUN_ID"] + (f"-{env['GITHUB_RUN_ATTEMPT']}" if env.get("GITHUB_RUN_ATTEMPT") else "")
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env['GITHUB_RUN_ID']}"
        return {"system": "github-actions", "id": run_id, "url": strip_credentials(url)}
    if env.get("GITLAB_CI") == "true" and (env.get("CI_JOB_ID") or env.get("CI_PIPELINE_ID")):
        run = {"system": "gitlab-ci", "id": env.get("CI_JOB_ID") or env["CI_PIPELINE_ID"]}
        if env.get("CI_JOB_URL"):
            run["url"] = strip_credentials(env["CI_JOB_URL"])
        return run
    return None


def capture(
    artifact: Path,
    *,
    run_id: str | None = None,
    run_url: str | None = None,
    parent: str | None = None,
    require_clean: bool = False,
    env: Mapping[str, str] | None = None,
) -> Captured:
    """Lineage for an artifact registered from the training repo it sits in."""
    notes: list[str] = []
    lineage: dict[str, Any] = {}
    code = _code(artifact.absolute(), require_clean, notes)
    if code:
        lineage["code"] = code
    run = _ci_run(os.environ if env is None else env)
    if run_id or run_url:
        run = {"id": run_id} if run_id else {}
        if run_url:
            run["url"] = strip_credentials(run_url)
    if run:
        lineage["run"] = run
    else:
        notes.append("run: no --run-id/--run-url and not running in GitHub Actions or GitLab CI")
    if parent:
        lineage["parent"] = parent
    return Captured(lineage, tuple(notes))
