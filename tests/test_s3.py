"""Artifacts on S3: a real S3-compatible server (moto's server mode) on
127.0.0.1, started here and stopped by its pid. Register, pull in a fresh
clone, verify; then an object corrupted and one deleted in the bucket."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitreg import api
from gitreg.storage import dvcconfig
from tests.conftest import Cli, free_port, git, wait_for_port

BUCKET = "models"


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    try:
        wait_for_port(port)
        client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


def client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def s3_registry(tmp_path: Path, endpoint: str) -> Path:
    """A registry whose artifacts go to s3://models/registry on the server;
    the endpoint is committed in .dvc/config, as a team with its own
    S3-compatible store would do (`dvc remote modify storage endpointurl ...`)."""
    registry = tmp_path / "registry"
    made = api.init(registry, remote=f"s3://{BUCKET}/registry")
    assert re.fullmatch(rf"s3://{BUCKET}/registry/gitreg-[0-9a-f]{{8}}", made.remote_url)  # a folder of its own
    config = registry / ".dvc" / "config"
    from configobj import ConfigObj

    conf = ConfigObj(config.read_text().splitlines())
    conf['remote "storage"']["endpointurl"] = endpoint
    conf['remote "storage"']["url"] = f"s3://{BUCKET}/registry"  # a prefix kept for the registry alone
    config.write_text("\n".join(conf.write()) + "\n")
    git(registry, "commit", "-qam", "S3 endpoint")
    assert dvcconfig.remotes(config.read_text(), "c")[1]["storage"] == f"s3://{BUCKET}/registry"
    return registry


def object_key(md5: str) -> str:
    return f"registry/files/md5/{md5[:2]}/{md5[2:]}"


@pytest.mark.stress
def test_register_pull_verify_on_s3(s3: str, tmp_path: Path, cli: Cli) -> None:
    registry = s3_registry(tmp_path, s3)
    model = tmp_path / "model.bin"
    model.write_bytes(bytes(range(256)) * 40_000)
    folder = tmp_path / "bert"
    (folder / "tok").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x01" * 200_000)
    (folder / "tok" / "vocab.txt").write_text("a\n")
    file_md5 = api.register("fraud", model, registry=registry).artifact.md5
    api.register("bert", folder, registry=registry)
    s3c = client(s3)
    assert s3c.get_object(Bucket=BUCKET, Key=object_key(file_md5))["Body"].read() == model.read_bytes()

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry), str(clone))
    assert api.pull("fraud@1.0.0", output=tmp_path / "pulled.bin", registry=clone).read_bytes() == model.read_bytes()
    pulled = api.pull("bert@1.0.0", output=tmp_path / "pulled-bert", registry=clone)
    assert (pulled / "tok" / "vocab.txt").read_text() == "a\n"
    assert "0 with problems (every byte re-hashed)" in cli("verify", "--remote", "-R", clone).stdout

    # stock DVC reads the same S3 remote
    artifact = api.show("fraud@1.0.0", registry=clone).artifact
    (clone / "model.bin.dvc").write_text(artifact.dvc_file())
    subprocess.run([sys.executable, "-m", "dvc", "pull", "-q"], cwd=clone, check=True, capture_output=True)
    assert (clone / "model.bin").read_bytes() == model.read_bytes()

    # corrupt the object in the bucket
    bad = b"tampered" + model.read_bytes()[8:]
    s3c.put_object(Bucket=BUCKET, Key=object_key(file_md5), Body=bad)
    actual = hashlib.md5(bad, usedforsecurity=False).hexdigest()
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(registry), str(fresh))
    out = cli("verify", "fraud", "--remote", "-R", fresh, code=1).stdout
    assert f"CORRUPTED fraud 1.0.0: model.bin (expected md5 {file_md5}, got {actual})" in out
    result = cli("pull", "fraud@1.0.0", "-o", tmp_path / "x.bin", "-R", fresh, code=1)
    assert f"hash mismatch for model.bin: expected md5 {file_md5}, got {actual}" in result.stderr
    assert not (tmp_path / "x.bin").exists()

    # delete it
    s3c.delete_object(Bucket=BUCKET, Key=object_key(file_md5))
    for args in (["verify", "fraud"], ["verify", "fraud", "--remote"]):
        assert f"MISSING   fraud 1.0.0: model.bin (md5 {file_md5})" in cli(*args, "-R", fresh, code=1).stdout
    result = cli("pull", "fraud@1.0.0", "-o", tmp_path / "x.bin", "-R", fresh, code=1)
    assert "is missing from DVC remote 'storage'" in result.stderr


def test_an_unreachable_s3_remote_names_the_remote(
    s3: str, tmp_path: Path, cli: Cli, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the message is under test, not botocore's retries (a minute)
    registry = s3_registry(tmp_path, "http://127.0.0.1:9")  # nothing listens there
    result = cli("register", "fraud", "-a", artifact, "-R", registry, code=1)
    assert "DVC remote 'storage'" in result.stderr and "testing" not in result.stderr
    assert git(registry, "tag") == ""


def test_missing_credentials_are_named(
    s3: str, tmp_path: Path, cli: Cli, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = s3_registry(tmp_path, s3)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    result = cli("register", "fraud", "-a", artifact, "-R", registry, code=1)
    assert "DVC remote 'storage' (s3://models/registry)" in result.stderr
    assert "credentials" in result.stderr.lower()
    assert git(registry, "tag") == ""


def test_export_from_s3_import_into_a_local_store_and_back(s3: str, tmp_path: Path, cli: Cli) -> None:
    registry = s3_registry(tmp_path, s3)
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x02" * 100_000)
    (folder / "vocab.txt").write_text("a b\n")
    api.register("bert", folder, registry=registry)
    api.promote("bert", "1.0.0", to="staging", registry=registry)
    exported = tmp_path / "bert.json"
    exported.write_text(cli("export", "-R", registry).stdout)
    assert json.loads(exported.read_text())["remotes"]["storage"] == {"url": "s3://models/registry", "endpointurl": s3}
    local = tmp_path / "local"
    api.init(local)
    done = api.import_registry(exported, registry=local)
    assert done.objects_copied == 3  # two files and the folder listing, read from the bucket
    pulled = api.pull("bert@staging", output=tmp_path / "out", registry=local)
    assert (pulled / "vocab.txt").read_text() == "a b\n"
    # and back into a second S3 prefix
    back = tmp_path / "back"
    api.init(back, remote=f"s3://{BUCKET}/other")
    config = back / ".dvc" / "config"
    config.write_text(config.read_text() + f"    endpointurl = {s3}\n")
    git(back, "commit", "-qam", "endpoint")
    assert api.import_registry(api.export_registry(registry=local), registry=back).objects_copied == 3
    keys = {o["Key"] for o in client(s3).list_objects_v2(Bucket=BUCKET, Prefix="other/")["Contents"]}
    assert len(keys) == 3


def test_a_damaged_object_in_the_bucket_is_replaced_not_reused(s3: str, tmp_path: Path, cli: Cli) -> None:
    """(SECURITY.md class 15) A registration that finds its object already in
    the bucket checks it; a folder's members too."""
    registry = s3_registry(tmp_path, s3)
    s3c = client(s3)
    model = tmp_path / "model.bin"
    model.write_bytes(bytes(range(256)) * 4_000)
    md5 = hashlib.md5(model.read_bytes(), usedforsecurity=False).hexdigest()
    for damaged in (b"truncated", bytes(len(model.read_bytes()))):  # the wrong size; the right size, wrong bytes
        s3c.put_object(Bucket=BUCKET, Key=object_key(md5), Body=damaged)
        cli("register", "fraud", "-a", model, "-R", registry)
        assert s3c.get_object(Bucket=BUCKET, Key=object_key(md5))["Body"].read() == model.read_bytes()
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "w.bin").write_bytes(bytes(range(256)) * 100)
    member = hashlib.md5((folder / "w.bin").read_bytes(), usedforsecurity=False).hexdigest()
    s3c.put_object(Bucket=BUCKET, Key=object_key(member), Body=b"x" * 25_600)
    cli("register", "bert", "-a", folder, "-R", registry)
    assert s3c.get_object(Bucket=BUCKET, Key=object_key(member))["Body"].read() == (folder / "w.bin").read_bytes()
    assert "0 with problems" in cli("verify", "--remote", "-R", registry).stdout
