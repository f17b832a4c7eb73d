"""Stock DVC fetches what gitreg stored: the manifest's artifact entry as a
.dvc file in a fresh clone of the registry, then `dvc pull`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
