"""Lineage captured at registration: code, run, parent — and never a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import ConflictError, NotFoundError
from gitreg.operations.lineage import capture
from gitreg.storage.credentials import strip as strip_credentials
from tests.conftest import Cli, git


@pytest.fixture
def training(tmp_path: Path) -> Path:
    repo = tmp_path / "training"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "exp")
    git(repo, "remote", "add", "origin", "https://alice:ghp_secret@github.com/acme/fraud-train.git")
    (repo / "train.py").write_text("print('train')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-qm", "train")
    (repo / "out").mkdir()
    (repo / "out" / "model.pkl").write_bytes(b"weights")
    return repo


def test_code_lineage_from_the_training_repo(registry: Path, training: Path, cli: Cli) -> None:
    result = cli(
        "register",
        "fraud",
        "-a",
        training / "out" / "model.pkl",
        "--run-id",
        "42",
        "--run-url",
        "https://ci.example.com/runs/42",
        "-R",
        registry,
    )
    assert result.stderr == "note: lineage not captured: data: the artifact is not in a DVC project\n"
    v = api.show("fraud@1.0.0", registry=registry)
    assert dict(v.lineage["code"]) == {
        "repo": "https://github.com/acme/fraud-train.git",
        "commit": git(training, "rev-parse", "HEAD"),
        "branch": "exp",
        "dirty": False,
    }
    assert dict(v.lineage["run"]) == {"id": "42", "url": "https://ci.example.com/runs/42"}
    assert "ghp_secret" not in (registry / "models" / "fraud" / "versions" / "1.0.0.yaml").read_text()


def test_a_dirty_tree_is_flagged_or_refused(registry: Path, training: Path) -> None:
    (training / "train.py").write_text("print('tweaked')\n")
    v = api.register("fraud", training / "out" / "model.pkl", registry=registry).manifest
    assert v.lineage["code"]["dirty"] is True
    with pytest.raises(ConflictError, match="has uncommitted changes"):
        api.register("fraud", training / "out" / "model.pkl", require_clean=True, registry=registry)
    assert [x.version for x in api.list_versions("fraud", registry=registry)] == ["1.0.0"]


def test_ci_runs_are_recognised_without_copying_the_environment(tmp_path: Path) -> None:
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": "99",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/train",
        "GITHUB_TOKEN": "s3cr3t",
    }
    captured = capture(tmp_path / "m.pkl", env=github)
    assert captured.lineage["run"] == {
        "system": "github-actions",
        "id": "99-2",
        "url": "https://github.com/acme/train/actions/runs/99",
    }
    assert "s3cr3t" not in json.dumps(captured.lineage)
    gitlab = {"GITLAB_CI": "true", "CI_JOB_ID": "7", "CI_JOB_URL": "https://gitlab.example.com/x/-/jobs/7"}
    assert capture(tmp_path / "m.pkl", env=gitlab).lineage["run"] == {
        "system": "gitlab-ci",
        "id": "7",
        "url": "https://gitlab.example.com/x/-/jobs/7",
    }


def test_absent_sources_are_noted_not_fatal(registry: Path, artifact: Path, cli: Cli) -> None:
    result = cli("register", "fraud", "-a", artifact, "-R", registry)
    assert "note: lineage not captured: code:" in result.stderr and "run: no --run-id" in result.stderr
    data = json.loads(cli("register", "fraud", "-a", artifact, "--json", "-R", registry).stdout)
    assert data["lineage"] == {} and len(data["lineage_notes"]) == 3


def test_parent_version(registry: Path, artifact: Path) -> None:
    api.register("fraud", artifact, registry=registry)
    tuned = api.register("fraud", artifact, parent="1.0.0", registry=registry).manifest
    assert tuned.lineage["parent"] == "1.0.0"
    with pytest.raises(NotFoundError, match=r"parent fraud 3\.0\.0 is not registered"):
        api.register("fraud", artifact, parent="3.0.0", registry=registry)


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://user:tok@github.com/a/b.git", "https://github.com/a/b.git"),
        ("https://tok@host/x", "https://host/x"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("s3://bucket/key", "s3://bucket/key"),
    ],
)
def test_strip_credentials(url: str, clean: str) -> None:
    assert strip_credentials(url) == clean


def test_lineage_command_follows_parents(registry: Path, training: Path, cli: Cli) -> None:
    model = training / "out" / "model.pkl"
    api.register("fraud", model, registry=registry, run_id="1")
    api.register("fraud", model, registry=registry, parent="1.0.0", run_id="2")
    api.register("fraud", model, registry=registry, parent="1.0.1", run_id="3")
    chain = json.loads(cli("lineage", "fraud@latest", "--json", "-R", registry).stdout)
    assert [c["version"] for c in chain] == ["1.0.2", "1.0.1", "1.0.0"]
    text = cli("lineage", "fraud@1.0.2", "-R", registry).stdout.splitlines()
    assert text[0].startswith("fraud 1.0.2") and text[2].startswith("    fraud 1.0.0")
    assert "https://github.com/acme/fraud-train.git@" in text[0] and "run 3" in text[0]


def test_load_artifact_pulls_once(registry: Path, artifact: Path) -> None:
    api.register("fraud", artifact, registry=registry)
    path = api.load_artifact("fraud@latest", registry=registry)
    assert path.read_bytes() == artifact.read_bytes()
    (registry / ".gitreg" / "storage").rename(registry / "storage-away")
    assert api.load_artifact("fraud@1.0.0", registry=registry) == path


def test_data_lineage_from_dvc_lock(registry: Path, training: Path, cli: Cli) -> None:
    (training / ".dvc").mkdir()
    (training / "dvc.lock").write_text(
        "schema: '2.0'\n"
        "stages:\n"
        "  prepare:\n"
        "    cmd: python prepare.py\n"
        "    outs:\n"
        "    - path: data/clean.csv\n"
        "      md5: '11111111111111111111111111111111'\n"
        "  train:\n"
        "    cmd: python train.py\n"
        "    deps:\n"
        "    - path: data/clean.csv\n"
        "      hash: md5\n"
        "      md5: '11111111111111111111111111111111'\n"
        "      size: 120\n"
        "    - path: data/images\n"
        "      hash: md5\n"
        "      md5: 22222222222222222222222222222222.dir\n"
        "      size: 4096\n"
        "      nfiles: 3\n"
        "    params:\n"
        "      params.yaml:\n"
        "        lr: 0.01\n"
        "        epochs: 5\n"
        "    outs:\n"
        "    - path: out/model.pkl\n"
        "      md5: '33333333333333333333333333333333'\n"
    )
    result = cli("register", "fraud", "-a", training / "out" / "model.pkl", "--run-id", "7", "-R", registry)
    assert "note: lineage" not in result.stderr
    v = api.show("fraud@1.0.0", registry=registry)
    assert v.lineage["stage"] == "train"
    assert [dict(d) for d in v.lineage["data"]] == [
        {"path": "data/clean.csv", "size": 120, "md5": "11111111111111111111111111111111"},
        {"path": "data/images", "size": 4096, "nfiles": 3, "md5": "22222222222222222222222222222222.dir"},
    ]
    assert dict(v.params) == {"lr": 0.01, "epochs": 5}  # from the stage, as no --params was given
    other = training / "other.pkl"
    other.write_bytes(b"x")
    notes = json.loads(cli("register", "fraud", "-a", other, "--json", "-R", registry).stdout)["lineage_notes"]
    assert any("other.pkl is not an output of any stage" in n for n in notes)


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://ci.example.com/run/5?access_token=s3cr3t", "https://ci.example.com/run/5"),
        ("https://h/x?a=1&private_token=s3cr3t&b=2", "https://h/x?a=1&b=2"),
        ("https://acct.blob.core.windows.net/c/m?sv=2020&sig=s3cr3t", "https://acct.blob.core.windows.net/c/m?sv=2020"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Signature=s3cr3t&X-Amz-Date=1",
            "https://b.s3.amazonaws.com/k?X-Amz-Date=1",
        ),
    ],
)
def test_query_secrets_are_stripped(url: str, clean: str) -> None:
    """(SECURITY.md class 9)"""
    assert strip_credentials(url) == clean
