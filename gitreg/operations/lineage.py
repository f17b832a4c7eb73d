"""What a registration records about where a model came from: the training
code (repository, commit, branch, whether the tree was dirty), the run (the
CI job, or an id/url given), and the parent version. Every source is
optional: what is absent is noted, never an error (unless the caller asks
for a clean tree). Nothing secret is copied: credentials are cut from URLs
and only named CI variables are read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitreg.documents import yamlio
from gitreg.errors import ConflictError, GitregError, NotFoundError
from gitreg.storage import credentials
from gitreg.storage.git import Repo


@dataclass(frozen=True)
class Captured:
    lineage: Mapping[str, Any]
    notes: tuple[str, ...]  # what could not be captured, in plain words
    params: dict[str, Any] = field(default_factory=dict)  # the producing stage's params (from dvc.lock)
    metrics_files: tuple[str, ...] = ()  # the metrics files dvc.yaml declares for that stage


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
        url = repo.remote_url(name)
        if url:
            code["repo"] = credentials.strip(url)
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


def _dvc_project(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` with a .dvc/ folder (a DVC project)."""
    for folder in [start, *start.parents]:
        if (folder / ".dvc").is_dir():
            return folder
        if (folder / ".git").exists():
            return None
    return None


@dataclass(frozen=True)
class _Stage:
    """The dvc.lock stage whose output is the artifact."""

    name: str
    deps: list[dict[str, Any]]
    params: dict[str, Any]
    metrics_files: list[str]


def _data(artifact: Path, notes: list[str]) -> _Stage | None:
    """From dvc.lock (and dvc.yaml): the stage that produced the artifact,
    its deps with their DVC hashes, its params and its metrics files."""
    project = _dvc_project(artifact.parent if artifact.is_file() else artifact)
    if project is None:
        notes.append("data: the artifact is not in a DVC project")
        return None
    lock = project / "dvc.lock"
    if not lock.is_file():
        notes.append(f"data: {project} has no dvc.lock")
        return None
    try:
        doc = yamlio.load(lock.read_bytes(), str(lock))
    except GitregError as exc:
        notes.append(f"data: {exc}")
        return None
    relpath = artifact.absolute().relative_to(project.absolute()).as_posix()
    stages = doc.get("stages") if isinstance(doc, dict) else None
    for name, stage in (stages or {}).items():
        outs = stage.get("outs", []) if isinstance(stage, dict) else []
        if any(isinstance(o, dict) and str(o.get("path", "")).rstrip("/") == relpath for o in outs):
            deps = []
            for dep in stage.get("deps", []):
                if isinstance(dep, dict) and isinstance(dep.get("path"), str):
                    entry = {k: dep[k] for k in ("path", "size", "nfiles") if isinstance(dep.get(k), str | int)}
                    if isinstance(dep.get("md5"), str):  # DVC quotes hashes YAML would read as numbers
                        entry["md5"] = dep["md5"]
                    deps.append(entry)
            params = stage.get("params") if isinstance(stage.get("params"), dict) else {}
            return _Stage(str(name), deps, dict(params), _declared_metrics(project, str(name), notes))
    notes.append(f"data: {relpath} is not an output of any stage in {lock}")
    return None


def _declared_metrics(project: Path, stage: str, notes: list[str]) -> list[str]:
    """The metrics files dvc.yaml declares for ``stage`` (existing ones)."""
    spec = project / "dvc.yaml"
    try:
        doc = yamlio.load(spec.read_bytes(), str(spec)) if spec.is_file() else {}
    except GitregError as exc:
        notes.append(f"metrics: {exc}")
        return []
    stages = doc.get("stages") if isinstance(doc, dict) else None
    entries = (stages or {}).get(stage, {}).get("metrics", []) if isinstance(stages, dict) else []
    files = []
    for entry in entries if isinstance(entries, list) else []:
        name = entry if isinstance(entry, str) else next(iter(entry), None) if isinstance(entry, dict) else None
        if isinstance(name, str) and (project / name).is_file():
            files.append(str(project / name))
    return files


def _ci_run(env: Mapping[str, str]) -> dict[str, str] | None:
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_RUN_ID"):
        run_id = env["GITHUB_RUN_ID"] + (f"-{env['GITHUB_RUN_ATTEMPT']}" if env.get("GITHUB_RUN_ATTEMPT") else "")
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env['GITHUB_RUN_ID']}"
        return {"system": "github-actions", "id": run_id, "url": credentials.strip(url)}
    if env.get("GITLAB_CI") == "true" and (env.get("CI_JOB_ID") or env.get("CI_PIPELINE_ID")):
        run = {"system": "gitlab-ci", "id": env.get("CI_JOB_ID") or env["CI_PIPELINE_ID"]}
        if env.get("CI_JOB_URL"):
            run["url"] = credentials.strip(env["CI_JOB_URL"])
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
    stage = _data(artifact, notes)
    if stage is not None:
        lineage["stage"] = stage.name
        if stage.deps:
            lineage["data"] = stage.deps
    run = _ci_run(os.environ if env is None else env)
    if run_id or run_url:
        run = {"id": run_id} if run_id else {}
        if run_url:
            run["url"] = credentials.strip(run_url)
    if run:
        lineage["run"] = run
    else:
        notes.append("run: no --run-id/--run-url and not running in GitHub Actions or GitLab CI")
    if parent:
        lineage["parent"] = parent
    if stage is None:
        return Captured(lineage, tuple(notes))
    return Captured(lineage, tuple(notes), stage.params, tuple(stage.metrics_files))
