"""gitreg export / gitreg import between real registries with their own DVC
remotes: the round trip is lossless, artifacts travel, bad input is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import ConflictError
from tests.conftest import Cli, Setup, git, state


def listing(cli: Cli, registry: Path) -> dict[str, object]:
    """Everything `gitreg list` shows, for the registry and each model."""
    models = json.loads(cli("list", "--json", "-R", registry).stdout)
    per_model = {m["model"]: json.loads(cli("list", m["model"], "--json", "-R", registry).stdout) for m in models}
    return {"models": models, "versions": per_model}


def _two_models(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    work = folder / "work"
    for i in range(3):
        (work / f"f{i}.bin").write_bytes(f"fraud weights {i}".encode() * 50)
        api.register(
            "fraud", work / f"f{i}.bin", metrics={"auc": 0.9 + i / 100}, labels={"team": "risk"}, registry=registry
        )
    tokenizer = work / "tokenizer"
    tokenizer.mkdir()
    (tokenizer / "vocab.txt").write_text("a b c")
    (tokenizer / "merges.txt").write_text("ab")
    api.register("fraud", tokenizer, metrics={"auc": 0.95}, description="with tokenizer", registry=registry)
    api.register("churn", work / "f0.bin", version="2.1.0", params={"depth": 6}, registry=registry)
    api.set_model(
        "fraud", description="Card fraud", owners=["@risk"], gates={"production": {"min_auc": 0.9}}, registry=registry
    )
    api.promote("fraud", "1.0.1", to="staging", registry=registry)
    api.promote("fraud", "1.0.1", to="production", registry=registry)
    api.promote("fraud", "1.0.3", to="staging", registry=registry)
    api.archive("fraud", "1.0.0", registry=registry)
    api.evaluate("fraud", "1.0.1", metrics={"auc": 0.905}, environment="production", registry=registry)


@pytest.fixture
def source(build_registry: Callable[[Setup], Path]) -> Path:
    """Two models: fraud with four versions (one a folder, one archived,
    evaluations, labels, gates) in staging and production; churn with one."""
    return build_registry(_two_models)


def test_export_import_round_trip_is_lossless(source: Path, tmp_path: Path, cli: Cli) -> None:
    exported = tmp_path / "registry.json"
    exported.write_text(cli("export", "-R", source).stdout)
    target = tmp_path / "target"
    api.init(target)
    out = cli("import", exported, "-R", target).stdout
    assert "Imported 5 version(s) of 2 model(s), 2 stage pointer(s)" in out and "Copied" in out
    assert listing(cli, target) == listing(cli, source)
    for ref in ("fraud@1.0.0", "fraud@1.0.1", "fraud@1.0.3", "churn@2.1.0"):
        assert api.show(ref, registry=target) == api.show(ref, registry=source)
    assert api.model_show("fraud", registry=target) == api.model_show("fraud", registry=source)
    # the bytes travelled: the target pulls them with the source's store gone
    shutil.rmtree(source / ".gitreg" / "storage")
    api.pull("fraud@production", output=tmp_path / "p.bin", registry=target)
    assert (tmp_path / "p.bin").read_bytes() == b"fraud weights 1" * 50
    api.pull("fraud@staging", output=tmp_path / "tok", registry=target)
    assert (tmp_path / "tok" / "vocab.txt").read_text() == "a b c"
    assert all(r.ok for r in api.verify(remote=True, registry=target))
    assert api.check(registry=target).ok
    # one commit per version of a model (GTO reads one version per commit), then the pointers
    subjects = git(target, "log", "--format=%s").splitlines()
    assert subjects[0] == "Import stages: fraud production 1.0.1, fraud staging 1.0.3"
    assert subjects[-2] == "Import churn 2.1.0, fraud 1.0.0" and len(subjects) == 6
    gto = subprocess.run(
        [str(Path(sys.executable).parent / "gto"), "show", "--json"],
        cwd=target,
        capture_output=True,
        text=True,
        check=True,
    )
    shown = json.loads(gto.stdout)
    assert shown["fraud"]["stage"] == {"production": "v1.0.1", "staging": "v1.0.3"}
    # a second import finds everything there and writes nothing
    before = state(target)
    again = api.import_registry(exported, registry=target)
    assert again.commit is None and len(again.skipped) == 5
    assert state(target) == before


def test_export_is_schema_valid_and_selects_models(source: Path, cli: Cli, tmp_path: Path) -> None:
    """Validated by a standard tool from the schema file itself: its
    references to the other schemas resolve beside it, offline."""
    schemas = Path(__file__).resolve().parent.parent / "schemas"
    cli("export", "churn", "-o", tmp_path / "export.json", "-R", source)
    checker = Path(sys.executable).parent / "check-jsonschema"
    schemafile = schemas / "RegistryExport.schema.json"
    checked = subprocess.run(
        [checker, "--schemafile", schemafile, tmp_path / "export.json"], check=False, capture_output=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    doc = json.loads((tmp_path / "export.json").read_text())
    doc["models"][0]["versions"][0]["version"] = "not a version"
    (tmp_path / "broken.json").write_text(json.dumps(doc))
    refused = subprocess.run(
        [checker, "--schemafile", schemafile, tmp_path / "broken.json"], check=False, capture_output=True
    )
    assert refused.returncode == 1 and b"not a version" in refused.stdout
    assert [m["model"]["name"] for m in doc["models"]] == ["churn"]
    # the remotes the registry commits (a clone's own .dvc/config.local stays out)
    committed = git(source, "show", "HEAD:.dvc/config")
    assert [line.strip() for line in committed.splitlines() if "url = " in line] == [
        f"url = {doc['remotes']['storage']['url']}"
    ]
    assert list(doc["remotes"]) == ["storage"] and doc["remotes"]["storage"]["url"].endswith("/.gitreg/storage")
    assert "not registered" in cli("export", "nope", "-R", source, code=1).stderr


def test_import_into_a_registry_sharing_the_store_copies_nothing(source: Path, tmp_path: Path) -> None:
    """`init --remote` gives the registry a folder of its own in the store;
    a team that shares one folder on purpose points .dvc/config at it."""
    target = tmp_path / "target"
    store = str(source / ".gitreg" / "storage")
    made = api.init(target, remote=store)
    assert made.remote_url.startswith(f"{store}/gitreg-")
    config = target / ".dvc" / "config"
    config.write_text(config.read_text().replace(made.remote_url, store))
    git(target, "commit", "-qam", "share the source's store")
    done = api.import_registry(api.export_registry(registry=source), registry=target)
    assert done.objects_copied == 0 and len(done.versions) == 5


def test_import_refuses_bad_files_and_conflicts_and_writes_nothing(source: Path, tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "target"
    api.init(target)
    doc = api.export_registry(registry=source)
    before = state(target)
    bad = tmp_path / "bad.json"

    def refused(content: str, message: str, code: int = 2) -> None:
        bad.write_text(content)
        assert message in cli("import", bad, "-R", target, code=code).stderr
        assert state(target) == before

    refused("{not json", "not valid JSON")
    refused(json.dumps(doc | {"kind": "Model"}), "/kind")
    broken = json.loads(json.dumps(doc))
    broken["models"][1]["versions"][0]["metrics"]["auc"] = float("nan")
    refused(json.dumps(broken), "NaN is not allowed")
    broken = json.loads(json.dumps(doc))
    broken["models"][1]["stages"]["production"]["version"] = "9.9.9"
    refused(json.dumps(broken), "version 9.9.9 is not in the export")
    broken = json.loads(json.dumps(doc))
    broken["models"][1]["versions"][0]["model"] = "other"
    refused(json.dumps(broken), "the file's path says 'fraud'")
    assert "does not exist" in cli("import", tmp_path / "missing.json", "-R", target, code=2).stderr
    # a different fraud 1.0.0 already registered here: nothing is imported
    (tmp_path / "other.bin").write_bytes(b"other")
    api.register("fraud", tmp_path / "other.bin", registry=target)
    before = state(target)
    with pytest.raises(ConflictError, match=r"models/fraud/model\.yaml already exists with other content"):
        api.import_registry(doc, registry=target)
    api.set_model(
        "fraud", description="Card fraud", owners=["@risk"], gates={"production": {"min_auc": 0.9}}, registry=target
    )
    before = state(target)
    with pytest.raises(ConflictError, match=r"fraud 1\.0\.0 is already registered here with other content"):
        api.import_registry(doc, registry=target)
    assert state(target) == before


def test_import_needs_the_stages(source: Path, tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "target"
    api.init(target)
    config = target / ".gitreg" / "config.yaml"
    text = config.read_text().replace("- production\n", "")
    config.write_text(text[: text.index("promotion:")] + "promotion:\n  requires: {}\n")
    git(target, "commit", "-qam", "no production here")
    exported = tmp_path / "e.json"
    exported.write_text(cli("export", "-R", source).stdout)
    before = state(target)
    err = cli("import", exported, "-R", target, code=2).stderr
    assert "holds stage 'production', which this registry does not have" in err
    assert state(target) == before


def test_import_from_standard_input_dry_run(source: Path, tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "target"
    api.init(target)
    before = state(target)
    result = cli.runner.invoke(
        __import__("gitreg.cli", fromlist=["main"]).main,
        ["import", "-", "--dry-run", "--json", "-R", str(target)],
        input=cli("export", "-R", source).stdout,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["versions"]) == 5 and doc["commit"] is None
    assert state(target) == before
