"""Artifacts come back bit-exact or not at all: `gitreg pull` and
`gitreg verify` against a local DVC remote, with objects corrupted, deleted
and forged."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from gitreg import api
from gitreg.documents import manifest
from gitreg.documents.manifest import Artifact, ModelVersion
from gitreg.errors import ArtifactError
from tests.conftest import Cli, git


@pytest.fixture
def stored(registry: Path, tmp_path: Path) -> dict[str, Path]:
    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(3_000_000))
    folder = tmp_path / "bert"
    (folder / "tok").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(os.urandom(500_000))
    (folder / "tok" / "vocab.txt").write_text("a\nb\n")
    api.register("fraud", model, registry=registry)
    api.register("bert", folder, registry=registry)
    return {"file": model, "folder": folder}


def object_path(registry: Path, md5: str) -> Path:
    return registry / ".gitreg" / "storage" / "files" / "md5" / md5[:2] / md5[2:]


def forget_cache(registry: Path) -> None:
    """As in a fresh clone: nothing cached locally, so pulls read the remote."""
    shutil.rmtree(registry / ".dvc" / "cache", ignore_errors=True)


def corrupt(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_pull_file_and_folder(registry: Path, stored: dict[str, Path], tmp_path: Path, cli: Cli) -> None:
    out = cli("pull", "fraud@1.0.0", "-o", tmp_path / "out" / "model.bin", "-R", registry).stdout
    assert out.strip() == str(tmp_path / "out" / "model.bin")
    assert (tmp_path / "out" / "model.bin").read_bytes() == stored["file"].read_bytes()
    path = api.pull("bert@latest", output=tmp_path / "bert-copy", registry=registry)
    assert tree(path) == tree(stored["folder"])
    os.chdir(tmp_path / "out")
    assert api.pull("bert@1.0.0", registry=registry) == tmp_path / "out" / "bert"


def test_a_second_pull_comes_from_the_cache(registry: Path, stored: dict[str, Path], tmp_path: Path) -> None:
    api.pull("fraud@1.0.0", output=tmp_path / "a.bin", registry=registry)
    (registry / ".gitreg" / "storage").rename(tmp_path / "storage-away")  # the remote is gone
    api.pull("fraud@1.0.0", output=tmp_path / "b.bin", registry=registry)
    assert (tmp_path / "b.bin").read_bytes() == stored["file"].read_bytes()


def test_an_existing_output_needs_force(registry: Path, stored: dict[str, Path], tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "model.bin.out"
    target.write_text("keep me")
    result = cli("pull", "fraud@1.0.0", "-o", target, "-R", registry, code=2)
    assert "already exists (use --force to replace it)" in result.stderr
    assert target.read_text() == "keep me"
    cli("pull", "fraud@1.0.0", "-o", target, "--force", "-R", registry)
    assert target.read_bytes() == stored["file"].read_bytes()


def test_verify_all_ok(registry: Path, stored: dict[str, Path], cli: Cli) -> None:
    out = cli("verify", "--remote", "-R", registry).stdout
    assert "ok      bert 1.0.0" in out and "ok      fraud 1.0.0" in out
    assert out.rstrip().endswith("2 version(s) checked, 0 with problems (every byte re-hashed)")


def test_a_corrupted_object_is_caught_by_verify_and_pull(
    registry: Path, stored: dict[str, Path], tmp_path: Path, cli: Cli
) -> None:
    md5 = api.show("fraud@1.0.0", registry=registry).artifact.md5
    obj = object_path(registry, md5)
    corrupt(obj)
    damaged = obj.read_bytes()
    actual = hashlib.md5(damaged, usedforsecurity=False).hexdigest()
    assert "0 with problems" in cli("verify", "-R", registry).stdout  # presence alone looks fine
    report = json.loads(cli("verify", "fraud", "--remote", "--json", "-R", registry, code=1).stdout)
    assert report == [
        {
            "model": "fraud",
            "version": "1.0.0",
            "ok": False,
            "problems": [
                {
                    "path": "model.bin",
                    "md5": md5,
                    "problem": "corrupted",
                    "digest": "md5",
                    "expected": md5,
                    "actual": actual,
                    "repaired": False,
                }
            ],
        }
    ]
    forget_cache(registry)
    result = cli("pull", "fraud@1.0.0", "-o", tmp_path / "x.bin", "-R", registry, code=1)
    assert result.stderr == (
        f"gitreg: error: hash mismatch for model.bin: expected md5 {md5}, got {actual} (in DVC remote 'storage')\n"
    )
    assert not (tmp_path / "x.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".x.bin")) == []
    assert obj.read_bytes() == damaged  # the remote is only ever read


def test_a_corrupted_file_inside_a_folder(registry: Path, stored: dict[str, Path], tmp_path: Path, cli: Cli) -> None:
    weights = hashlib.md5((stored["folder"] / "weights.bin").read_bytes(), usedforsecurity=False).hexdigest()
    corrupt(object_path(registry, weights))
    out = cli("verify", "bert@1.0.0", "--remote", "-R", registry, code=1).stdout
    assert f"CORRUPTED bert 1.0.0: bert/weights.bin (expected md5 {weights}, got " in out
    forget_cache(registry)
    result = cli("pull", "bert@1.0.0", "-o", tmp_path / "b", "-R", registry, code=1)
    assert f"hash mismatch for bert/weights.bin: expected md5 {weights}" in result.stderr
    assert not (tmp_path / "b").exists()


def test_a_deleted_object_is_reported_missing(
    registry: Path, stored: dict[str, Path], tmp_path: Path, cli: Cli
) -> None:
    md5 = api.show("fraud@1.0.0", registry=registry).artifact.md5
    object_path(registry, md5).unlink()
    for args in (["verify"], ["verify", "--remote"]):
        out = cli(*args, "-R", registry, code=1).stdout
        assert f"MISSING   fraud 1.0.0: model.bin (md5 {md5})" in out
    forget_cache(registry)
    result = cli("pull", "fraud@1.0.0", "-o", tmp_path / "x.bin", "-R", registry, code=1)
    assert f"model.bin: object {md5} is missing from DVC remote 'storage'" in result.stderr
    assert not (tmp_path / "x.bin").exists()


def test_a_damaged_local_cache_copy_is_fetched_again(registry: Path, stored: dict[str, Path], tmp_path: Path) -> None:
    md5 = api.show("fraud@1.0.0", registry=registry).artifact.md5
    api.pull("fraud@1.0.0", output=tmp_path / "first.bin", registry=registry)  # fills the cache
    cached = registry / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    corrupt(cached)
    api.pull("fraud@1.0.0", output=tmp_path / "ok.bin", registry=registry)
    assert (tmp_path / "ok.bin").read_bytes() == stored["file"].read_bytes()


def test_a_forged_listing_cannot_write_outside_the_output(registry: Path, tmp_path: Path) -> None:
    """A hand-committed manifest naming a folder listing whose entries climb
    out of the folder is refused before anything is written."""
    payload = b"pwned\n"
    payload_md5 = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    listing = json.dumps([{"md5": payload_md5, "relpath": "../../escaped.txt"}]).encode()
    listing_md5 = hashlib.md5(listing, usedforsecurity=False).hexdigest() + ".dir"
    for md5, data in ((payload_md5, payload), (listing_md5, listing)):
        obj = object_path(registry, md5)
        obj.parent.mkdir(parents=True, exist_ok=True)
        obj.write_bytes(data)
    forged = ModelVersion(
        "evil",
        "1.0.0",
        "2026-01-01T00:00:00Z",
        "Eve <e@x.y>",
        Artifact("model", listing_md5, len(payload), "storage", 1),
    )
    path = registry / "models" / "evil" / "versions" / "1.0.0.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(manifest.render(forged, str(path)))
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "forged")
    with pytest.raises(ArtifactError, match=r"unsafe path '\.\./\.\./escaped\.txt'"):
        api.pull("evil@1.0.0", output=tmp_path / "out" / "model", registry=registry)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out" / "model").exists()


def test_pull_through_a_url_registry(tmp_path: Path, artifact: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    url = f"file://{origin}"
    api.init(url, remote=str(tmp_path / "shared-storage"))
    api.register("fraud", artifact, registry=url)
    out = api.pull("fraud@latest", output=tmp_path / "pulled.pkl", registry=url)
    assert out.read_bytes() == artifact.read_bytes()
    assert all(v.ok for v in api.verify(registry=url, remote=True))


def test_progress_bars_only_when_asked(registry: Path, tmp_path: Path, cli: Cli) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024))
    quiet = cli("register", "big", "-a", big, "-R", registry)  # not a terminal: no bars
    assert "push big.bin" not in quiet.stderr
    loud = cli("register", "big", "-a", big, "--progress", "-R", registry)
    assert "push big.bin" in loud.stderr and "12.0M" in loud.stderr
    forget_cache(registry)
    pulled = cli("pull", "big@1.0.0", "-o", tmp_path / "out.bin", "--progress", "-R", registry)
    assert "pull big.bin" in pulled.stderr
    assert (tmp_path / "out.bin").read_bytes() == big.read_bytes()
    assert cli("pull", "big@1.0.1", "-o", tmp_path / "o2.bin", "--json", "-R", registry).stderr == ""


@pytest.mark.stress
def test_a_folder_of_thousands_of_files(registry: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    for i in range(2500):
        shard = folder / f"part-{i // 100:02d}" / f"{i:05d}.bin"
        shard.parent.mkdir(parents=True, exist_ok=True)
        shard.write_bytes(i.to_bytes(4, "little") * 8)
    version = api.register("shards", folder, registry=registry)
    assert version.artifact.nfiles == 2500
    forget_cache(registry)
    pulled = api.pull("shards@1.0.0", output=tmp_path / "copy", registry=registry)
    assert tree(pulled) == tree(folder)
    assert all(v.ok for v in api.verify("shards", remote=True, registry=registry))


# Two different 128-byte blocks with one md5 (Wang et al., 2004); an identical
# suffix keeps them colliding, md5 being a Merkle-Damgard hash.
COLLIDING = (
    bytes.fromhex(
        "d131dd02c5e6eec4693d9a0698aff95c2fcab58712467eab4004583eb8fb7f8955ad340609f4b30283e488832571415a"
        "085125e8f7cdc99fd91dbdf280373c5bd8823e3156348f5bae6dacd436c919c6dd53e2b487da03fd02396306d248cda0"
        "e99f33420f577ee8ce54b67080a80d1ec69821bcb6a8839396f9652b6ff72a70"
    ),
    bytes.fromhex(
        "d131dd02c5e6eec4693d9a0698aff95c2fcab50712467eab4004583eb8fb7f8955ad340609f4b30283e4888325f1415a"
        "085125e8f7cdc99fd91dbd7280373c5bd8823e3156348f5bae6dacd436c919c6dd53e23487da03fd02396306d248cda0"
        "e99f33420f577ee8ce54b67080280d1ec69821bcb6a8839396f965ab6ff72a70"
    ),
)


def swap_in(obj: Path, data: bytes) -> None:
    obj.chmod(0o644)
    obj.write_bytes(data)


def test_sha256_is_recorded_beside_md5(registry: Path, stored: dict[str, Path]) -> None:
    """Every new manifest records SHA-256: a file's, and a folder's per file
    and over its files (docs/design.md)."""
    fraud = api.show("fraud@1.0.0", registry=registry).artifact
    assert fraud.sha256 == hashlib.sha256(stored["file"].read_bytes()).hexdigest() and fraud.files is None
    bert = api.show("bert@1.0.0", registry=registry).artifact
    expected = {
        p.relative_to(stored["folder"]).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in stored["folder"].rglob("*")
        if p.is_file()
    }
    assert dict(bert.files or {}) == expected
    listed = json.dumps(sorted(expected.items()), separators=(",", ":")).encode()
    assert bert.sha256 == hashlib.sha256(listed).hexdigest()


def test_bytes_made_to_collide_with_md5_are_refused(registry: Path, tmp_path: Path, cli: Cli) -> None:
    """A remote object swapped for other bytes with the same md5 passed
    every check DVC makes; SHA-256 catches it in `pull` and `verify --remote`,
    for a file and for a file inside a folder."""
    good, evil = (block + b"the same suffix\n" * 100 for block in COLLIDING)
    assert hashlib.md5(good, usedforsecurity=False).digest() == hashlib.md5(evil, usedforsecurity=False).digest()
    (tmp_path / "model.bin").write_bytes(good)
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(good)
    (folder / "config.json").write_text("{}")
    api.register("fraud", tmp_path / "model.bin", registry=registry)
    api.register("bundle", folder, registry=registry)
    md5 = hashlib.md5(good, usedforsecurity=False).hexdigest()
    swap_in(object_path(registry, md5), evil)  # one object serves both: the file and the folder's member
    forget_cache(registry)
    for ref, where in (("fraud@1.0.0", "model.bin"), ("bundle@1.0.0", "bundle/weights.bin")):
        error = cli("pull", ref, "-o", tmp_path / "out", "-R", registry, code=1).stderr
        assert error.startswith(f"gitreg: error: sha256 mismatch for {where}: expected ") and error.count("\n") == 1
        assert "md5 matches" in error and not (tmp_path / "out").exists()
        forget_cache(registry)
    out = cli("verify", "--remote", "-R", registry, code=1).stdout
    assert f"CORRUPTED fraud 1.0.0: model.bin (expected sha256 {hashlib.sha256(good).hexdigest()}, got " in out
    assert "CORRUPTED bundle 1.0.0: bundle/weights.bin (expected sha256" in out
    report = json.loads(cli("verify", "fraud", "--remote", "--json", "-R", registry, code=1).stdout)
    problem = report[0]["problems"][0]
    assert problem["digest"] == "sha256" and problem["actual"] == hashlib.sha256(evil).hexdigest()
    swap_in(object_path(registry, md5), good)
    assert "0 with problems" in cli("verify", "--remote", "-R", registry).stdout
    api.pull("bundle@1.0.0", output=tmp_path / "bundle-back", registry=registry)
    assert tree(tmp_path / "bundle-back") == tree(folder)


def test_a_manifest_from_before_sha256_still_pulls(registry: Path, stored: dict[str, Path], tmp_path: Path) -> None:
    """Versions registered before gitreg recorded SHA-256 are checked by md5, as they were."""
    from gitreg.storage import artifacts

    older = dataclasses.replace(api.show("fraud@1.0.0", registry=registry).artifact, sha256=None)
    assert "sha256" not in older.to_doc()
    store = artifacts.Store(registry, "storage")
    forget_cache(registry)
    store.pull(older, tmp_path / "older.bin")
    assert (tmp_path / "older.bin").read_bytes() == stored["file"].read_bytes()
    assert store.verify(older, deep=True) == []
