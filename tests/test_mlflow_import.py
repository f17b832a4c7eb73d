"""`gitreg import --from mlflow`: a real MLflow registry (sqlite, built by
MLflow's own client in tests/mlflow_source.py), and the same through a real
`mlflow server` on 127.0.0.1, imported and compared field by field with what
MLflow's client returns."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from gitreg import api
from tests.conftest import Cli, git, state
from tests.helpers import build_mlflow_source as build_source
from tests.helpers import gto_view, our_view

MLFLOW_ENV = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_source(tmp_path_factory.mktemp("mlflow"))


@contextlib.contextmanager
def mlflow_client(uri: str) -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow import MlflowClient

        yield MlflowClient(tracking_uri=uri, registry_uri=uri)


def mlflow_view(uri: str) -> dict[str, Any]:
    """Everything the import must carry, as MLflow's client returns it."""
    view: dict[str, Any] = {}
    with mlflow_client(uri) as client:
        for model in client.search_registered_models():
            versions = {}
            for v in client.search_model_versions(f"name = '{model.name}'"):
                run = client.get_run(v.run_id)
                versions[int(v.version)] = {
                    "description": v.description,
                    "tags": dict(v.tags),
                    "created": v.creation_timestamp,
                    "stage": v.current_stage,
                    "run_id": v.run_id,
                    "deleted": run.info.lifecycle_stage == "deleted",
                    "metrics": dict(run.data.metrics),
                    "params": dict(run.data.params),
                    "experiment_id": run.info.experiment_id,
                }
            view[model.name] = {
                "description": model.description,
                "tags": dict(model.tags),
                "aliases": dict(model.aliases),
                "versions": versions,
            }
    return view


@pytest.mark.stress
def test_an_mlflow_registry_is_imported_field_by_field(
    source: str, registry: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = cli("import", "--from", "mlflow", source, "--stage-map", "champion=production", "-R", registry).stdout
    assert "Imported from mlflow" in out and "12 version(s) of 3 model(s)" in out and "Verified: 12 of 12" in out
    names = {"Fraud Detector": "fraud-detector", "churn": "churn", "ranker.v2": "ranker.v2"}
    theirs = mlflow_view(source)
    for mlflow_name, model in theirs.items():
        name = names[mlflow_name]
        kept = api.model_show(name, registry=registry)
        assert kept.description == (model["description"] or "")
        assert kept.origin["mlflow"]["name"] == mlflow_name and kept.origin["mlflow"].get("tags", {}) == model["tags"]
        for number, v in model["versions"].items():
            mine = api.show(f"{name}@{number}.0.0", registry=registry)
            mark = mine.lineage["mlflow"]
            assert (mark["model"], mark["version"], mark["run_id"]) == (mlflow_name, number, v["run_id"])
            assert mark["experiment_id"] == v["experiment_id"] and mark.get("tags", {}) == v["tags"]
            assert mine.description == (v["description"] or "") and dict(mine.metrics) == v["metrics"]
            assert dict(mine.params) == v["params"] and mark.get("run_deleted", False) == v["deleted"]
            created = datetime.fromisoformat(mine.created_at.replace("Z", "+00:00"))
            assert round(created.timestamp() * 1000) == v["created"]
            assert mine.status == ("archived" if v["stage"] == "Archived" else "active")
            assert {k: t for k, t in v["tags"].items() if len(t) <= 1024} == dict(mine.labels)
    # aliases resolve to what MLflow says; the champion alias took production over the legacy stage
    with mlflow_client(source) as client:
        by_alias = client.get_model_version_by_alias("Fraud Detector", "challenger").version
        assert api.resolve("fraud-detector@challenger", registry=registry).version == f"{by_alias}.0.0"
        assert api.resolve("churn@prod", registry=registry).version == "3.0.0"
    assert api.resolve("fraud-detector@production", registry=registry).version == "4.0.0"
    assert "alias champion takes production over MLflow's legacy stage Production" in out
    assert "ranker.v2: 2 and 3 are both Production in MLflow" in out
    assert api.model_show("fraud-detector", registry=registry).labels == {"team": "risk"}  # 'cost center' is no label
    # the bytes are MLflow's
    for name, value in MLFLOW_ENV.items():
        monkeypatch.setenv(name, value)
    with mlflow_client(source) as client:
        import mlflow.artifacts

        where = client.get_model_version_download_uri("churn", "2")
        theirs_dir = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=where, dst_path=str(tmp_path / "theirs"), tracking_uri=source
            )
        )
    mine_dir = api.load_artifact("churn@2.0.0", registry=registry)
    files = sorted(p.relative_to(theirs_dir).as_posix() for p in theirs_dir.rglob("*") if p.is_file())
    expected = ["MLmodel", "input_example.json", "python_env.yaml", "requirements.txt", "sub/vocab.txt", "weights.bin"]
    assert files == expected
    assert all((mine_dir / f).read_bytes() == (theirs_dir / f).read_bytes() for f in files)
    # the signature and input example the MLmodel file records
    churn = api.show("churn@2.0.0", registry=registry)
    assert churn.signature == {
        "inputs": [{"name": "amount", "dtype": "double"}, {"name": "country", "dtype": "string"}],
        "outputs": [{"name": "score", "dtype": "float32", "shape": [None, 2]}],
    }
    assert churn.lineage["mlflow"]["input_example"] == "input_example.json"
    # the example, copied out beside the artifact and verified; the environment MLflow pinned
    assert churn.input_example is not None and churn.input_example.inputs == ("amount", "country")
    assert api.load_input_example("churn@2.0.0", registry=registry)["country"].tolist() == ["FR"]
    assert churn.environment == {
        "source": "requirements",
        "requirements": ["mlflow==3.1.0", "scikit-learn==1.2.0"],
        "python": "3.11.7",
    }
    assert api.show("fraud-detector@2.0.0", registry=registry).signature is None  # no MLmodel there
    # history at MLflow's dates: one commit per version, then the holders
    dates = git(registry, "log", "--format=%at %s", "--reverse").splitlines()[1:]
    registered = [int(d.split()[0]) for d in dates if " from MLflow" in d]
    assert len(registered) == 12 and registered == sorted(registered)
    assert cli("check", "-R", registry).exit_code == 0
    # GTO reads the same registry from the tags (a name with a '.' is gitreg's alone)
    assert gto_view(registry) == {k: v for k, v in our_view(registry, cli).items() if "." not in k}
    assert "ok  tags: GTO tags match the files" in cli("doctor", "-R", registry).stdout
    # read again and compared field by field: no difference; a hand edit of the registry is one
    verified = json.loads(
        cli(
            "import",
            "--from",
            "mlflow",
            source,
            "--stage-map",
            "champion=production",
            "--verify",
            "--json",
            "-R",
            registry,
        ).stdout
    )
    assert verified["differences"] == [] and verified["commit"] is None
    # a second run writes nothing; a version added in MLflow is all the next one brings
    before = state(registry)
    args = ("import", "--from", "mlflow", source, "--stage-map", "champion=production", "--json")
    again = json.loads(cli(*args, "-R", registry).stdout)
    assert again["versions"] == [] and again["already_imported"] == 12 and again["commit"] is None
    assert state(registry) == before
    api.annotate("churn", "2.0.0", description="changed here", registry=registry)
    out = cli("import", "--from", "mlflow", source, "--verify", "--dry-run", "-R", registry, code=1).stdout
    assert "DIFFERS: churn 2.0.0 description: 'changed here' here, 'churn trained 2' in MLflow" in out
    assert "DIFFERS: fraud-detector alias champion: MLflow names 4, champion here holds nothing" in out


@pytest.mark.stress
def test_what_mlflow_holds_past_a_manifests_fields_is_kept_whole(registry: Path, cli: Cli, tmp_path: Path) -> None:
    """MLflow allows more than a manifest's fields hold: 12,000- and
    15,000-character descriptions, 50,000-character tags, metric names with
    spaces, NaN and infinite metrics, parameters with spaces in their names.
    Nothing is dropped: what a field cannot hold is kept verbatim beside it
    (flagged), and `--verify` finds no difference. A version that cannot be
    written at all (tags over the 1 MiB a manifest may be) is skipped before
    a byte is downloaded, and `--verify` names it."""
    uri = build_source(tmp_path / "mlflow")
    build_source(tmp_path / "mlflow", "--odd")
    out = cli("import", "--from", "mlflow", uri, "--model", "Edge Cases", "--verify", "-R", registry, code=1).stdout
    skipped = [line for line in out.splitlines() if line.startswith("Skipped")]
    assert len(skipped) == 1 and "Edge Cases 2: " in skipped[0] and "over the 1,048,576-byte limit" in skipped[0]
    assert len(skipped[0]) < 300  # the tags are not quoted whole
    assert "field by field: 1 difference(s)" in out and "DIFFERS: Edge Cases 2: not in the registry" in out
    assert "its description is 15,000 characters" in out and "kept in lineage.mlflow.metrics only" in out
    theirs = mlflow_view(uri)["Edge Cases"]
    model = api.model_show("edge-cases", registry=registry)
    assert model.origin["mlflow"] == {
        "name": "Edge Cases",
        "tags": theirs["tags"],
        "description": theirs["description"],
    }
    assert model.description == theirs["description"][:10_000] and model.labels == {}
    v = theirs["versions"][1]
    mine = api.show("edge-cases@1.0.0", registry=registry)
    mark = mine.lineage["mlflow"]
    assert mark["description"] == v["description"] and mine.description == v["description"][:10_000]
    assert mark["tags"] == v["tags"] and len(v["tags"]["big"]) == 50_000
    assert dict(mine.params) == v["params"] == {"batch size": "32", "prompt": "p" * 6000}
    together = {**mine.metrics, **mark["metrics"]}
    assert {k: str(x) for k, x in together.items()} == {k: str(x) for k, x in v["metrics"].items()} | {"nan": "NaN"}
    assert mark["metrics"]["nan"] == "NaN" and "val loss" in mark["metrics"] and "ok" in mine.metrics
    assert cli("check", "-R", registry).exit_code == 0


@pytest.mark.stress
def test_the_import_follows_the_source_and_dry_runs_write_nothing(registry: Path, cli: Cli, tmp_path: Path) -> None:
    uri = build_source(tmp_path / "mlflow")
    before = state(registry)
    plan = json.loads(cli("import", "--from", "mlflow", uri, "--dry-run", "--json", "-R", registry).stdout)
    assert len(plan["versions"]) == 12 and plan["commit"] is None and state(registry) == before
    api.import_mlflow(uri, models=["churn"], registry=registry)
    assert [m.name for m in api.list_models(registry=registry)] == ["churn"]
    build_source(tmp_path / "mlflow", "--more")
    done = api.import_mlflow(uri, registry=registry)
    assert ("fraud-detector", "6.0.0", 6) in done.versions and done.already == 4
    assert api.show("fraud-detector@6.0.0", registry=registry).labels == {"owner": "bob"}
    # the holders move on in MLflow: the next run mirrors them, and --verify agrees
    build_source(tmp_path / "mlflow", "--moved")
    moved = json.loads(cli("import", "--from", "mlflow", uri, "--verify", "--json", "-R", registry).stdout)
    assert moved["versions"] == [] and moved["differences"] == [], moved
    assert [(p["stage"], p["version"]) for p in moved["pointers"]] == [("champion", "6.0.0")]
    released = {(r["stage"], r["version"], r["why"]) for r in moved["released"]}
    assert released == {
        ("challenger", "5.0.0", "MLflow no longer has alias challenger"),
        ("production", "2.0.0", "MLflow no longer has stage Production"),
    }
    assert moved["archived"] == [{"model": "fraud-detector", "version": "2.0.0"}]
    fraud = api.list_models(registry=registry)[1]
    assert fraud.name == "fraud-detector" and dict(fraud.stages) == {"staging": "4.0.0", "champion": "6.0.0"}
    assert api.show("fraud-detector@2.0.0", registry=registry).status == "archived"
    history = api.history("fraud-detector", stage="production", registry=registry)
    assert (history[0].previous, history[0].version) == ("2.0.0", None)
    assert cli("check", "-R", registry).exit_code == 0
    # a pointer a mapping set is not released by a run that maps the alias elsewhere
    api.promote("fraud-detector", "4.0.0", to="production", registry=registry)
    before = state(registry)
    mapped = json.loads(
        cli("import", "--from", "mlflow", uri, "--stage-map", "champion=production", "--json", "-R", registry).stdout
    )
    assert mapped["released"] == [] and state(registry) != before
    assert any("set from MLflow's alias champion, which this run maps to another stage" in f for f in mapped["flagged"])


@pytest.fixture
def mlflow_server(source: str) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = Path(source.removeprefix("sqlite:///")).parent
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            source,
            "--default-artifact-root",
            f"file://{folder}/artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert server.poll() is None, "mlflow server exited"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # its process group, by the id it was started with
        server.wait(timeout=30)


@pytest.mark.stress
def test_an_mlflow_server_is_imported_over_http(mlflow_server: str, source: str, registry: Path, cli: Cli) -> None:
    out = cli("import", "--from", "mlflow", mlflow_server, "-R", registry).stdout
    assert "12 version(s) of 3 model(s)" in out and "Verified: 12 of 12" in out
    with mlflow_client(mlflow_server) as client:
        for alias in ("champion", "challenger"):
            expected = client.get_model_version_by_alias("Fraud Detector", alias).version
            assert api.resolve(f"fraud-detector@{alias}", registry=registry).version == f"{expected}.0.0"
    assert api.show("fraud-detector@3.0.0", registry=registry).lineage["mlflow"]["run_deleted"] is True
    assert api.show("fraud-detector@1.0.0", registry=registry).lineage["mlflow"]["tracking_uri"] == mlflow_server


@pytest.mark.stress
def test_an_mlflow_file_store_is_imported(
    registry: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow's older file store (mlruns/), which MLflow 3 opens only when
    told to: refused in one line naming that, imported when allowed."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = build_source(tmp_path / "mlflow", "--file")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    err = cli("import", "--from", "mlflow", uri, "-R", registry, code=2).stderr
    assert "MLFLOW_ALLOW_FILE_STORE=true" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.chdir(registry)  # MLflow 3 would create its default mlflow.db here when left to its defaults
    out = cli("import", "--from", "mlflow", uri, "--verify", "-R", registry).stdout
    assert "12 version(s) of 3 model(s)" in out and "field by field: 0 difference(s)" in out
    assert not (registry / "mlflow.db").exists() and git(registry, "status", "--porcelain") == ""


def test_bad_mlflow_input_is_one_line_and_writes_nothing(
    source: str, registry: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in MLFLOW_ENV.items():
        monkeypatch.setenv(name, value)
    before = state(registry)
    cases = [
        (["--from", "mlflow", source, "--model", "nope"], "has no registered model 'nope'"),
        (["--from", "mlflow", source, "--stage-map", "champion=Prod!"], "invalid stage name 'Prod!'"),
        (["--from", "mlflow", f"sqlite:///{tmp_path}/missing/dir/x.db"], "no MLflow database at"),
        (["--from", "mlflow", str(tmp_path / "nowhere")], "no MLflow file store at"),
        (["--from", "mlflow", "http://127.0.0.1:9"], "cannot read the MLflow registry at http://127.0.0.1:9"),
        ([source, "--model", "churn"], "--model, --stage-map and --verify are for --from mlflow"),
    ]
    for args, message in cases:
        err = cli("import", *args, "-R", registry, code=2).stderr
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert state(registry) == before and not (tmp_path / "missing").exists()
