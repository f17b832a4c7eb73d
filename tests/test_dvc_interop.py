"""Stock DVC fetches what gitreg stored: the manifest's artifact entry as a
.dvc file in a fresh clone of the registry, then `dvc pull`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitreg import api
from tests.conftest import git


def dvc(cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, check=True, capture_output=True, text=True)


def test_stock_dvc_pulls_a_file_and_a_folder(registry: Path, tmp_path: Path) -> None:
    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(bytes(range(256)) * 4096)
    folder = tmp_path / "bert"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x07" * 300_000)
    (folder / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
    api.register("fraud", model_file, registry=registry)
    api.register("bert", folder, registry=registry)

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry), str(clone))
    for ref in ("fraud@1.0.0", "bert@1.0.0"):
        artifact = api.show(ref, registry=clone).artifact
        (clone / f"{artifact.path}.dvc").write_text(artifact.dvc_file())
    dvc(clone, "pull")

    assert (clone / "model.pkl").read_bytes() == model_file.read_bytes()
    assert (clone / "bert" / "weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()
    assert (clone / "bert" / "tokenizer" / "vocab.txt").read_text() == "a\nb\nc\n"
    assert sorted(p.name for p in (clone / "bert").rglob("*") if p.is_file()) == ["vocab.txt", "weights.bin"]


def test_relative_artifact_paths_with_dotdot(registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder given as ../model (with a symlinked parent, too) is listed by
    its own relative paths, and stock DVC restores it."""
    real = tmp_path / "real"
    (real / "model" / "sub").mkdir(parents=True)
    (real / "model" / "weights").write_text("w\n")
    (real / "model" / "sub" / "cfg").write_text("c\n")
    (tmp_path / "alias").symlink_to(real)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    version = api.register("m", Path("..") / "alias" / "model", registry=registry)
    md5 = version.artifact.md5
    listing = json.loads((registry / ".gitreg" / "storage" / "files" / "md5" / md5[:2] / md5[2:]).read_text())
    assert [e["relpath"] for e in listing] == ["sub/cfg", "weights"]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry), str(clone))
    (clone / "model.dvc").write_text(version.artifact.dvc_file())
    dvc(clone, "pull")
    assert (clone / "model" / "sub" / "cfg").read_text() == "c\n"
    assert (clone / "model" / "weights").read_text() == "w\n"
