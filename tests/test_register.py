from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from gitreg import api
from gitreg.core.registry import Registry
from gitreg.errors import ConflictError
from gitreg.storage.git import Repo
from tests.conftest import Cli, git, state


def storage_files(registry: Path) -> set[str]:
    root = registry / ".gitreg" / "storage"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_first_registration(registry: Path, artifact: Path, cli: Cli) -> None:
    out = cli("register", "fraud", "--artifact", artifact, "-R", registry).stdout
    assert out.startswith("Registered fraud 1.0.0 (commit ")
    version = api.show("fraud@1.0.0", registry=registry)
    assert version.artifact.path == "model.pkl"
    assert version.artifact.size == artifact.stat().st_size
    assert version.artifact.nfiles is None and version.artifact.remote == "storage"
    assert version.created_by == "Ada Tester <ada@example.com>"
    assert version.status == "active"
    md5 = version.artifact.md5
    assert storage_files(registry) == {f"files/md5/{md5[:2]}/{md5[2:]}"}
    assert (
        registry / ".gitreg" / "storage" / "files" / "md5" / md5[:2] / md5[2:]
    ).read_bytes() == artifact.read_bytes()
    assert git(registry, "show", "--name-only", "--format=", "HEAD").splitlines() == [
        "dvc.yaml",  # its artifacts entry, derived: dvc artifacts get finds the version
        "models/fraud/model.yaml",
        "models/fraud/versions/1.0.0.dvc",  # its DVC pointer, derived: DVC knows the version
        "models/fraud/versions/1.0.0.yaml",
    ]
    assert git(registry, "status", "--porcelain", "--untracked-files=all") == ""


def test_commit_trailers_are_an_audit_trail(registry: Path, artifact: Path) -> None:
    api.register("fraud", artifact, registry=registry)
    message = git(registry, "log", "-1", "--format=%B")
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"], input=message, capture_output=True, text=True, check=True
    ).stdout
    assert parsed.splitlines() == ["Gitreg-Action: register", "Gitreg-Model: fraud", "Gitreg-Version: 1.0.0"]
    assert message.splitlines()[0] == "Register fraud 1.0.0"


def test_gto_registration_tag(registry: Path, artifact: Path) -> None:
    api.register("fraud", artifact, registry=registry)
    api.register("fraud", artifact, registry=registry)
    api.register("fraud", artifact, registry=registry)
    rows = git(
        registry,
        "for-each-ref",
        "--format=%(refname:short)|%(objecttype)|%(*objectname)|%(taggerdate:unix)|%(contents:subject)",
        "refs/tags",
    ).splitlines()
    assert [r.split("|")[0] for r in rows] == ["fraud@v1.0.0", "fraud@v1.0.1", "fraud@v1.0.2"]
    assert all(r.split("|")[1] == "tag" for r in rows)  # annotated, as GTO requires
    assert rows[1].split("|")[4] == "Registering artifact fraud version v1.0.1"
    times = [int(r.split("|")[3]) for r in rows]
    assert times[0] <= times[1] <= times[2] <= time.time()  # real times: ordered, never ahead of the clock
    for row in rows:
        name, _, target, _, _ = row.split("|")
        version = name.split("@v")[1]
        assert (
            git(registry, "log", "-1", "--format=%(trailers:key=Gitreg-Version,valueonly)", target).strip() == version
        )


def test_versions_bump(registry: Path, artifact: Path) -> None:
    def reg(**kwargs: str) -> str:
        return api.register("fraud", artifact, registry=registry, **kwargs).version

    assert reg() == "1.0.0"
    assert reg() == "1.0.1"
    assert reg(bump="minor") == "1.1.0"
    assert reg(bump="major") == "2.0.0"
    assert reg(version="1.5.0") == "1.5.0"
    assert reg() == "2.0.1"
    assert reg(version="3.0.0-rc.1") == "3.0.0-rc.1"
    assert reg() == "3.0.0"
    assert [v.version for v in api.list_versions("fraud", registry=registry)] == [
        "3.0.0",
        "3.0.0-rc.1",
        "2.0.1",
        "2.0.0",
        "1.5.0",
        "1.1.0",
        "1.0.1",
        "1.0.0",
    ]


def test_existing_version_is_refused(registry: Path, artifact: Path) -> None:
    api.register("fraud", artifact, registry=registry, version="1.0.0")
    before = state(registry)
    with pytest.raises(ConflictError, match=r"fraud 1\.0\.0 is already registered"):
        api.register("fraud", artifact, registry=registry, version="1.0.0")
    assert state(registry) == before


def test_a_foreign_tag_blocks_its_version(registry: Path, artifact: Path) -> None:
    git(registry, "tag", "-a", "-m", "by hand", "fraud@v1.0.0")
    with pytest.raises(ConflictError, match="already registered"):
        api.register("fraud", artifact, registry=registry, version="1.0.0")
    assert api.register("fraud", artifact, registry=registry).version == "1.0.1"


def test_directory_artifact(registry: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00" * 1000)
    (folder / "sub" / "config.json").write_text("{}")
    (folder / "link.json").symlink_to("sub/config.json")
    version = api.register("bert", folder, registry=registry)
    assert version.artifact.md5.endswith(".dir")
    assert version.artifact.nfiles == 3
    assert version.artifact.size == 1004
    listing_md5 = version.artifact.md5
    listing = json.loads(
        (registry / ".gitreg" / "storage" / "files" / "md5" / listing_md5[:2] / listing_md5[2:]).read_text()
    )
    assert sorted(entry["relpath"] for entry in listing) == ["link.json", "sub/config.json", "weights.bin"]


def test_metrics_params_metadata_labels(registry: Path, artifact: Path, tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps({"auc": 0.91, "train": {"loss": 0.2, "steps": 1000}}))
    (tmp_path / "params.yaml").write_text("lr: 0.001\nlayers: [64, 32]\noptimizer:\n  name: adam\n  beta: 0.9\n")
    cli(
        "register",
        "fraud",
        "-a",
        artifact,
        "-R",
        registry,
        "--metrics",
        tmp_path / "metrics.json",
        "--metric",
        "auc=0.93",
        "--metric",
        "f1=0.8",
        "--params",
        tmp_path / "params.yaml",
        "--metadata",
        "framework=sklearn",
        "--metadata",
        "approved=true",
        "--metadata",
        "n_features=30",
        "--metadata",
        "sklearn_version=1.10",
        "--label",
        "team=risk",
        "--description",
        "baseline",
    )
    v = api.show("fraud@latest", registry=registry)
    assert dict(v.metrics) == {"auc": 0.93, "train.loss": 0.2, "train.steps": 1000, "f1": 0.8}
    assert dict(v.params) == {"lr": 0.001, "layers": [64, 32], "optimizer": {"name": "adam", "beta": 0.9}}
    assert dict(v.metadata) == {"framework": "sklearn", "approved": True, "n_features": 30, "sklearn_version": "1.10"}
    assert dict(v.labels) == {"team": "risk"} and v.description == "baseline"


def test_python_api_takes_mappings(registry: Path, artifact: Path) -> None:
    v = api.register(
        "fraud",
        artifact,
        registry=registry,
        metrics={"auc": 0.9},
        params={"lr": 0.1},
        metadata={"gpu": False},
        labels={"team": "risk"},
    ).manifest
    assert v.version == "1.0.0" and v.metrics["auc"] == 0.9 and v.metadata["gpu"] is False


def test_unrelated_user_changes_stay_out_and_in_place(registry: Path, artifact: Path) -> None:
    (registry / "README.md").write_text("v1\n")
    git(registry, "add", "README.md")
    git(registry, "commit", "-q", "-m", "readme")
    (registry / "README.md").write_text("v2 unstaged\n")
    (registry / "staged.txt").write_text("staged\n")
    git(registry, "add", "staged.txt")
    (registry / "scratch.txt").write_text("untracked\n")
    api.register("fraud", artifact, registry=registry)
    assert git(registry, "show", "--name-only", "--format=", "HEAD").splitlines() == [
        "dvc.yaml",  # its artifacts entry, derived: dvc artifacts get finds the version
        "models/fraud/model.yaml",
        "models/fraud/versions/1.0.0.dvc",  # its DVC pointer, derived: DVC knows the version
        "models/fraud/versions/1.0.0.yaml",
    ]
    assert git(registry, "status", "--porcelain", "--untracked-files=all").splitlines() == [
        " M README.md",
        "A  staged.txt",
        "?? scratch.txt",
    ]


def test_a_hand_edited_registry_file_is_not_overwritten(registry: Path, artifact: Path) -> None:
    api.register("fraud", artifact, registry=registry)
    (registry / "models" / "fraud" / "versions" / "1.0.1.yaml").write_text("mine\n")
    before = state(registry)
    with pytest.raises(ConflictError, match=r"models/fraud/versions/1.0.1.yaml has uncommitted changes"):
        api.register("fraud", artifact, registry=registry)
    assert state(registry) == before


def test_failed_ref_update_leaves_everything_as_it_was(
    registry: Path, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.register("fraud", artifact, registry=registry)
    before = state(registry)

    def broken(self: Repo, updates: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Repo, "update_refs", broken)
    with pytest.raises(OSError, match="disk full"):
        api.register("fraud", artifact, registry=registry)
    after = state(registry)
    assert (after.refs, after.status) == (before.refs, before.status)


def test_a_concurrent_commit_is_not_lost(registry: Path, artifact: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer lands first: the compare-and-swap fails, the version is
    recomputed on the new tip, and both registrations survive."""
    api.register("fraud", artifact, registry=registry)
    real_commit_tree = Repo.commit_tree
    raced = []

    def racing_commit_tree(self: Repo, tree: str, parents: list[str], message: str, **dated: Any) -> str:
        if not raced:
            raced.append(True)
            api.register("fraud", artifact, registry=registry)  # lands 1.0.1 first
        return real_commit_tree(self, tree, parents, message, **dated)

    monkeypatch.setattr(Repo, "commit_tree", racing_commit_tree)
    ours = api.register("fraud", artifact, registry=registry)
    assert ours.version == "1.0.2"
    assert [v.version for v in api.list_versions("fraud", registry=registry)] == ["1.0.2", "1.0.1", "1.0.0"]
    assert git(registry, "tag").splitlines() == ["fraud@v1.0.0", "fraud@v1.0.1", "fraud@v1.0.2"]
    assert git(registry, "status", "--porcelain") == ""


def test_register_into_a_fresh_clone_pushes_nothing_to_git(registry: Path, artifact: Path, tmp_path: Path) -> None:
    """A registry clone with a remote: register commits locally (pushing is the
    shared-registry issue's job) and the clone stays consistent."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry), str(clone))
    version = api.register("fraud", artifact, registry=clone)
    assert version.version == "1.0.0"
    assert Registry.open(registry).snapshot().versions("fraud") == []
