"""Hermetic tests against real git repositories and real DVC remotes.

Every test gets its own HOME, XDG folders, TMPDIR and DVC site cache inside
``tmp_path``, a fixed git identity, and no system git config; a test that
writes into the real home folder fails.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gitreg import api
from gitreg.cli import main
from gitreg.storage import dvcconfig

IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
}
_REAL_HOME = Path(os.path.expanduser("~"))
# What a test could write by mistake and nothing else on the machine does: the
# real home folder. (DVC's site cache, /var/tmp/dvc by default, is shared with
# every other process: each test points DVC_SITE_CACHE_DIR into its own
# folder instead, and so does the whole session, below.)
_WATCHED = [p for p in (_REAL_HOME, _REAL_HOME / ".cache", _REAL_HOME / ".config") if p.is_dir()]
os.environ["DVC_SITE_CACHE_DIR"] = tempfile.mkdtemp(prefix="gitreg-tests-dvc-site-")
atexit.register(shutil.rmtree, os.environ["DVC_SITE_CACHE_DIR"], ignore_errors=True)


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path / "_home"
    scratch = tmp_path / "_tmp"
    for folder in (home, scratch):
        folder.mkdir()
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "TMPDIR": str(scratch),
        "DVC_SITE_CACHE_DIR": str(scratch / "dvc-site"),
        "DVC_NO_ANALYTICS": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        **IDENTITY,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ci_variables = ("GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITLAB_CI", "CI_JOB_ID", "CI_PIPELINE_ID")
    for key in ("GITREG_REGISTRY", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITREG_FAILPOINT", *ci_variables):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = {p: p.stat().st_mtime_ns for p in _WATCHED}
    yield
    changed = [str(p) for p in _WATCHED if p.stat().st_mtime_ns != before[p]]
    assert not changed, f"the test wrote outside its temporary folder: {changed}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_for_port(port: int, seconds: float = 20) -> None:
    """Until a server accepts connections on 127.0.0.1:port (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as conn:
            if conn.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def git(cwd: Path, *args: str, check: bool = True) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=check, capture_output=True, text=True).stdout.rstrip("\n")


@dataclass(frozen=True)
class RepoState:
    """Everything an operation could change: refs, index+worktree status, the
    bytes of every file outside .git (the artifact remote and cache included)."""

    refs: str
    status: str
    files: str


def state(registry: Path) -> RepoState:
    digest = hashlib.sha256()
    for path in sorted(p for p in registry.rglob("*") if ".git" not in p.relative_to(registry).parts[:1]):
        digest.update(str(path.relative_to(registry)).encode() + b"\0")
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return RepoState(
        refs=git(registry, "for-each-ref", "--format=%(refname) %(objectname)"),
        status=git(registry, "status", "--porcelain", "--untracked-files=all", "--ignored"),
        files=digest.hexdigest(),
    )


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registry-templates")


@pytest.fixture
def registry(tmp_path: Path, _templates: Path) -> Path:
    """A registry as ``gitreg init`` makes it at ``tmp_path/registry``. One
    ``api.init`` per session makes a template (init costs ten copies); each
    test gets a copy whose storage path — the one absolute path ``init``
    commits — is made the copy's own in the first commit."""
    template = _templates / "init" / "registry"
    if not template.exists():
        api.init(template)
    path = tmp_path / "registry"
    shutil.copytree(template, path, symlinks=True)
    config = path / ".dvc" / "config"
    config.write_text(config.read_text().replace(str(template), str(path)))
    git(path, "commit", "-q", "--amend", "--no-edit", "--no-verify", "-a")
    return path


Setup = Callable[[Path, Path], None]  # (folder, artifact): make folder/"registry" and what goes beside it


def _skip_dvc_tmp(folder: str, names: list[str]) -> set[str]:
    return {"tmp"} if folder.endswith(".dvc") else set()


@pytest.fixture
def build_registry(tmp_path: Path, artifact: Path, _templates: Path) -> Callable[[Setup], Path]:
    """The one way a test gets a registry with content: ``setup`` builds it
    (in a folder laid out as a test's: the registry at ``registry``, an
    origin or anything else beside it, the artifact in ``work``) once per
    session, and each test gets its own copy in ``tmp_path``. Paths that
    point into the template are made to point into the copy: DVC remotes
    through ``.dvc/config.local`` (the committed config stays as built),
    git remotes through ``git remote set-url``."""

    def build(setup: Setup) -> Path:
        template = _templates / f"{setup.__module__}.{setup.__qualname__}"
        if not (template / ".built").exists():  # built where it stays: paths inside name it
            shutil.rmtree(template, ignore_errors=True)
            (template / "work").mkdir(parents=True)
            shutil.copy(artifact, template / "work" / artifact.name)
            setup(template, template / "work" / artifact.name)
            (template / ".built").touch()
        for item in template.iterdir():
            if item.name not in ("work", ".built"):
                shutil.copytree(item, tmp_path / item.name, symlinks=True, ignore=_skip_dvc_tmp)
        registry = tmp_path / "registry"
        _, remotes = dvcconfig.remotes((registry / ".dvc" / "config").read_text(), ".dvc/config")
        moved = {name: url.replace(str(template), str(tmp_path)) for name, url in remotes.items()}
        changed = {name: url for name, url in moved.items() if url != remotes[name]}
        local = "".join(f"['remote \"{name}\"']\n    url = {url}\n" for name, url in changed.items())
        (registry / ".dvc" / "config.local").write_text(local)
        for line in git(registry, "config", "--get-regexp", r"^remote\..*\.url$", check=False).splitlines():
            key, url = line.split(" ", 1)
            git(registry, "remote", "set-url", key.split(".")[1], url.replace(str(template), str(tmp_path)))
        return registry

    return build


def init_with_origin(folder: Path) -> Path:
    """``folder/registry``, made by ``gitreg init``, with an empty bare
    ``folder/origin.git`` as its ``origin`` (for a setup to push to)."""
    origin = folder / "origin.git"
    git(folder, "init", "-q", "--bare", "-b", "main", str(origin))
    registry = folder / "registry"
    api.init(registry)
    git(registry, "remote", "add", "origin", str(origin))
    return registry


def _pushed_fraud_and_churn(folder: Path, artifact: Path) -> None:
    registry = init_with_origin(folder)
    for auc in (0.80, 0.90, 0.95, 0.97):
        api.register("fraud", artifact, registry=registry, metrics={"auc": auc}, metadata={"approved": True})
    api.register("churn", artifact, registry=registry, metrics={"auc": 0.7})
    api.set_model(
        "fraud",
        gates={"staging": {"min_auc": 0.85}, "production": {"min_improvement_auc": 0.01, "require_approved": True}},
        registry=registry,
    )
    api.promote("fraud", "1.0.1", to="staging", registry=registry)
    git(registry, "push", "-q", "-u", "origin", "main", "--tags")


@pytest.fixture
def pr_registry(build_registry: Callable[[Setup], Path]) -> Path:
    """A registry with a bare origin: fraud 1.0.0-1.0.3 (auc .80/.90/.95/.97),
    churn 1.0.0, 1.0.1 in staging, gates on both stages, all pushed."""
    return build_registry(_pushed_fraud_and_churn)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "model.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"model weights \x00\x01\x02" * 100)
    return path


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str | os.PathLike[str], code: int = 0) -> Result:
        result = self.runner.invoke(main, [str(a) for a in args], catch_exceptions=False, prog_name="gitreg")
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        return result


@pytest.fixture
def cli() -> Cli:
    return Cli()


def run_guide(page: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a guide's ``sh`` blocks, in order, as one bash script in ``cwd``
    (stopping at the first failure, which fails the test), with this
    environment's scripts first on PATH."""
    blocks = re.findall(r"```sh\n(.*?)```", page.read_text(), re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert commands, f"{page} shows no commands"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = "set -e\n" + "\n".join(commands)
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done
