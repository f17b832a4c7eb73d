from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitreg import api
from gitreg.core.registry import Registry
from gitreg.documents import manifest
from gitreg.documents.manifest import RegistryConfig
from gitreg.errors import ConflictError, UsageError
from tests.conftest import Cli, git, state


def test_init_new_folder(tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "reg"
    out = cli("init", target).stdout
    assert "Initialized gitreg registry" in out
    assert git(target, "log", "--format=%s%n%b") == "Initialize gitreg registry\nGitreg-Action: init"
    assert git(target, "ls-files").splitlines() == [
        ".dvc/.gitignore",
        ".dvc/config",
        ".dvcignore",
        ".gitreg/.gitignore",
        ".gitreg/config.yaml",
    ]
    assert git(target, "status", "--porcelain") == ""
    config = Registry.open(target).snapshot().config
    assert config == RegistryConfig()
    dvc_config = (target / ".dvc" / "config").read_text()
    assert "remote = storage" in dvc_config and str(target / ".gitreg" / "storage") in dvc_config
    assert (target / ".gitreg" / "storage").is_dir()


def test_rerun_is_harmless(registry: Path, cli: Cli) -> None:
    before = state(registry)
    out = cli("init", registry).stdout
    assert "already a gitreg registry" in out
    assert json.loads(cli("init", registry, "--json").stdout) == {
        "root": str(registry),
        "commit": None,
        "remote": "storage",
        "remote_url": str(registry / ".gitreg" / "storage"),
        "files": [],
    }
    assert state(registry) == before


def test_init_keeps_unrelated_changes_out_of_the_commit(tmp_path: Path) -> None:
    repo = tmp_path / "training"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("print('v1')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "training code")
    (repo / "train.py").write_text("print('v2')\n")  # unstaged
    (repo / "data.csv").write_text("a,b\n")
    git(repo, "add", "data.csv")  # staged
    (repo / "notes.txt").write_text("untracked\n")

    api.init(repo)

    changed = git(repo, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert "train.py" not in changed and "data.csv" not in changed and "notes.txt" not in changed
    assert git(repo, "status", "--porcelain", "--untracked-files=all").splitlines() == [
        "A  data.csv",
        " M train.py",
        "?? notes.txt",
    ]
    assert (repo / "train.py").read_text() == "print('v2')\n"


def test_init_with_remote_url(tmp_path: Path) -> None:
    """The registry's artifacts go to a folder of its own in the remote
    given, which a DVC project sharing that remote never lists (its `dvc gc
    --cloud` cannot remove them); running init again changes nothing."""
    result = api.init(tmp_path / "reg", remote="s3://bucket/models/")
    assert result.remote == "storage" and re.fullmatch(r"s3://bucket/models/gitreg-[0-9a-f]{8}", result.remote_url)
    assert f"url = {result.remote_url}" in (tmp_path / "reg" / ".dvc" / "config").read_text()
    assert not (tmp_path / "reg" / ".gitreg" / ".gitignore").exists()
    assert api.init(tmp_path / "reg", remote="s3://bucket/models").commit is None
    assert api.init(tmp_path / "reg", remote=result.remote_url).commit is None


def test_init_reuses_an_existing_dvc_default_remote(tmp_path: Path) -> None:
    repo = tmp_path / "training"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".dvc").mkdir()
    (repo / ".dvc" / "config").write_text("[core]\n    remote = team\n['remote \"team\"']\n    url = /srv/dvc\n")
    git(repo, "add", ".dvc/config")
    git(repo, "commit", "-q", "-m", "dvc")
    result = api.init(repo)
    assert (result.remote, result.remote_url) == ("team", "/srv/dvc")
    assert "/srv/dvc" in (repo / ".dvc" / "config").read_text()
    assert git(repo, "show", "--name-only", "--format=", "HEAD").splitlines() == [
        ".dvc/.gitignore",
        ".dvcignore",
        ".gitreg/config.yaml",
    ]


def test_rerun_with_another_remote_is_refused(registry: Path) -> None:
    before = state(registry)
    with pytest.raises(ConflictError, match="already a registry storing artifacts in DVC remote 'storage'"):
        api.init(registry, remote="s3://elsewhere/x")
    assert state(registry) == before


def test_init_refuses_when_its_files_have_local_changes(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".dvcignore").write_text("mine\n")
    with pytest.raises(ConflictError, match=r"\.dvcignore has uncommitted changes"):
        api.init(repo)
    assert git(repo, "rev-list", "--all") == ""


def test_init_refuses_a_detached_head(registry: Path) -> None:
    git(registry, "checkout", "-q", "--detach")
    git(registry, "rm", "-q", ".gitreg/config.yaml")
    git(registry, "commit", "-q", "-m", "drop config")
    with pytest.raises(ConflictError, match="HEAD is detached"):
        api.init(registry)


def test_bad_models_dir(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="models_dir"):
        api.init(tmp_path / "r", models_dir="../outside")
    assert not (tmp_path / "r" / ".gitreg").exists()


def test_init_on_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        api.init(tmp_path / "f")


def test_custom_models_dir(tmp_path: Path, artifact: Path) -> None:
    api.init(tmp_path / "r", models_dir="ml/registry")
    api.register("m", artifact, registry=tmp_path / "r")
    assert (tmp_path / "r" / "ml" / "registry" / "m" / "versions" / "1.0.0.yaml").is_file()
    assert manifest.RegistryConfig().models_dir == "models"


def test_a_new_folder_inside_a_repo_becomes_its_own_registry(tmp_path: Path) -> None:
    outer = tmp_path / "project"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    result = api.init(outer / "registry")
    assert result.root == str(outer / "registry")
    assert git(outer, "rev-list", "--all") == ""


def test_an_existing_subfolder_uses_the_enclosing_repo(tmp_path: Path) -> None:
    outer = tmp_path / "project"
    (outer / "src").mkdir(parents=True)
    git(outer, "init", "-q", "-b", "main")
    result = api.init(outer / "src")
    assert result.root == str(outer)
    assert (outer / ".gitreg" / "config.yaml").is_file()


def test_relative_paths_from_the_cli(tmp_path: Path, artifact: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cli("init", "reg")
    assert (tmp_path / "reg" / ".gitreg" / "config.yaml").is_file()
    assert not (tmp_path / "reg" / "reg").exists()
    monkeypatch.chdir(tmp_path / "reg")
    cli("register", "fraud", "-a", Path("..") / "work" / "model.pkl")
    monkeypatch.chdir(tmp_path / "reg" / ".gitreg")
    assert "fraud" in cli("list").stdout
