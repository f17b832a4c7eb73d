"""The data registry: datasets versioned like models (DVC storage, tags,
status, retention), their data metadata and schema, date versions, and the
links between model versions and the dataset versions they were trained
and evaluated on, both ways, through the CLI, the checker, GTO and DVC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitreg import api
from gitreg.documents import yamlio
from gitreg.documents.names import Quoted
from tests.conftest import Cli, git, state
from tests.helpers import check, gto, messages, pr, trailers

CSV = "id,amount,label,seen\n1,2.5,0,2026-01-01\n2,,1,2026-01-02\n3,7,0,\n4,1e3,1,2026-01-04T10:00:00\n"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "transactions.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CSV)
    return path


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "model.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights" * 100)
    return path


def _register_dataset(cli: Cli, registry: Path, source: Path, *extra: str) -> dict[str, object]:
    done = cli("dataset", "register", "transactions", "-a", source, "--json", "-R", registry, *extra)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_csv_dataset_is_registered_with_its_metadata_and_pulled_back(
    registry: Path, data: Path, tmp_path: Path, cli: Cli
) -> None:
    _register_dataset(cli, registry, data, "-d", "June export", "--label", "source=warehouse")
    version = api.show("transactions@latest", registry=registry)
    assert version.version == "1.0.0"
    assert version.data is not None
    assert version.data["format"] == "csv" and version.data["rows"] == 4 and version.data["files"] == 1
    assert version.data["size"] == len(CSV.encode())
    columns = {c["name"]: (c["type"], c["nulls"]) for c in version.data["columns"]}
    assert columns == {
        "id": ("integer", 0.0),
        "amount": ("double", 0.25),
        "label": ("integer", 0.0),
        "seen": ("datetime", 0.25),
    }
    assert api.model_show("transactions", registry=registry).type == "dataset"
    shown = cli("dataset", "show", "transactions", "-R", registry).stdout
    assert f"csv, {len(CSV)} bytes in 1 file(s), 4 rows" in shown and "amount: double (25.0% missing)" in shown
    assert "June export" in shown and "source=warehouse" in shown
    # the manifest as `gitreg show` prints it carries the data too
    assert yamlio.load(cli("show", "transactions@1.0.0", "-R", registry).stdout, "show")["data"]["rows"] == 4
    out = tmp_path / "pulled.csv"
    cli("pull", "transactions@1.0.0", "-o", out, "-R", registry)
    assert out.read_text() == CSV
    cli("verify", "transactions", "--remote", "-R", registry)
    listed = json.loads(cli("dataset", "list", "--json", "-R", registry).stdout)
    assert [(d["model"], d["type"], d["latest"]) for d in listed] == [("transactions", "dataset", "1.0.0")]
    everything = cli("list", "-R", registry).stdout
    assert "TYPE" in everything and "dataset" in everything
    cli("check", "-R", registry)


def test_parquet_folders_count_as_one_table(registry: Path, tmp_path: Path, cli: Cli) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "work" / "events"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table({"user": [1, 2, None], "score": [0.5, None, 0.25], "tag": ["a", "b", None]}), folder / "a.parquet"
    )
    pq.write_table(
        pa.table({"user": [4, 5], "score": [1.0, 2.0], "tag": [None, None]}),
        folder / "b.parquet",
        write_statistics=False,
    )
    cli("dataset", "register", "events", "-a", folder, "-R", registry)
    found = api.show("events@1.0.0", registry=registry).data
    assert found is not None
    assert (found["format"], found["rows"], found["files"]) == ("parquet", 5, 2)
    assert [(c["name"], c["type"], c["nulls"]) for c in found["columns"]] == [
        ("user", "integer", 0.2),
        ("score", "double", 0.2),
        ("tag", "string", 0.6),
    ]
    # files of several kinds: size and count only
    (folder / "README.md").write_text("events\n")
    cli("dataset", "register", "events", "-a", folder, "-R", registry)
    mixed = api.show("events@1.0.1", registry=registry).data
    assert mixed is not None and mixed["format"] == "files" and mixed["files"] == 3 and "rows" not in mixed


def test_date_versions_count_within_a_day_and_gto_reads_their_tags(registry: Path, data: Path, cli: Cli) -> None:
    first = _register_dataset(cli, registry, data, "--versioning", "date")
    second = _register_dataset(cli, registry, data)
    third = _register_dataset(cli, registry, data)
    day = str(first["version"])
    created = api.show(f"transactions@{day}", registry=registry).created_at[:10]
    assert day == ".".join(str(int(part)) for part in created.split("-"))  # the UTC day, without leading zeros
    assert (second["version"], third["version"]) == (f"{day}-2", f"{day}-3")
    assert api.show("transactions@latest", registry=registry).version == f"{day}-3"
    assert [v.version for v in api.list_versions("transactions", registry=registry)] == [f"{day}-3", f"{day}-2", day]
    assert "versioning: date" in (registry / "models" / "transactions" / "model.yaml").read_text()
    cli("dataset", "register", "transactions", "-a", data, "--version", "2025.2.30", "-R", registry, code=2)
    cli("dataset", "register", "transactions", "-a", data, "--version", "1.2.0", "-R", registry, code=2)
    cli("dataset", "register", "transactions", "-a", data, "--bump", "minor", "-R", registry, code=2)
    cli("dataset", "register", "transactions", "-a", data, "--version", "2025.6.1", "-R", registry)
    shown = json.loads(gto(registry, "show", "transactions", "--json"))
    assert {v["version"] for v in shown} >= {f"v{day}", f"v{day}-2", "v2025.6.1"}


@pytest.mark.parametrize(
    ("schema", "error"),
    [
        ({"columns": [{"name": "id", "type": "integer"}, {"name": "region", "type": "string"}]}, "'region' is missing"),
        ({"columns": [{"name": "amount", "type": "double", "nullable": False}]}, "'amount' has missing values"),
        ({"columns": {"label": "boolean"}}, "'label' holds integer values, the schema says boolean"),
        ({"fields": [{"name": "seen", "type": "number"}]}, "'seen' holds datetime values"),
        ({"columns": [{"name": "id", "type": "decimal"}]}, "has type 'decimal'"),
        ({"columns": [{"name": "id"}, {"name": "id"}]}, "declared twice"),
        ({"columns": []}, "non-empty list"),
        ({"columns": [{"type": "integer"}]}, "column 1 needs a name"),
        ({"rows": 4}, "expected a mapping with 'columns'"),
        ({"columns": [{"name": f"c{i}"} for i in range(5000)]}, "5,000 columns"),
    ],
)
def test_a_schema_the_data_does_not_fit_is_refused_and_nothing_is_written(
    registry: Path, data: Path, tmp_path: Path, cli: Cli, schema: dict[str, object], error: str
) -> None:
    file = tmp_path / "schema.json"
    file.write_text(json.dumps(schema))
    before = state(registry)
    result = cli("dataset", "register", "transactions", "-a", data, "--schema", file, "-R", registry, code=2)
    assert error in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert state(registry) == before


def test_schema_files_that_are_not_schemas_are_refused(registry: Path, data: Path, tmp_path: Path, cli: Cli) -> None:
    binary = tmp_path / "schema.bin"
    binary.write_bytes(b"\x00\xff" * 100)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    for bad in (binary, deep, tmp_path / "missing.yaml", tmp_path):
        result = cli("dataset", "register", "transactions", "-a", data, "--schema", bad, "-R", registry, code=2)
        assert "dataset schema" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_declared_schema_is_recorded_and_shown(registry: Path, data: Path, tmp_path: Path, cli: Cli) -> None:
    file = tmp_path / "schema.yaml"
    file.write_text(
        "fields:\n- name: id\n  type: integer\n  constraints: {required: true}\n- name: amount\n  type: number\n"
    )
    _register_dataset(cli, registry, data, "--schema", str(file))
    recorded = api.show("transactions@1.0.0", registry=registry).data
    assert recorded is not None
    assert recorded["schema"] == {
        "columns": [{"name": "id", "type": "integer", "nullable": False}, {"name": "amount", "type": "double"}]
    }
    assert (
        "schema: id: integer (required), amount: double"
        in cli("dataset", "show", "transactions", "-R", registry).stdout
    )


def test_unreadable_tables_are_registered_as_files_with_a_note(registry: Path, tmp_path: Path, cli: Cli) -> None:
    latin = tmp_path / "work" / "latin.csv"
    latin.parent.mkdir(parents=True, exist_ok=True)
    latin.write_bytes("name\ncaf\xe9\n".encode("latin-1"))
    broken = tmp_path / "work" / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    huge = tmp_path / "work" / "huge.csv"
    huge.write_text("a\n" + "x" * 300_000 + "\n")
    for name, source in (("latin", latin), ("broken", broken), ("huge", huge)):
        result = cli("dataset", "register", name, "-a", source, "-R", registry)
        assert "not readable as" in result.stderr
        found = api.show(f"{name}@1.0.0", registry=registry).data
        assert found is not None and found["format"] == "files" and "rows" not in found
    cli("check", "-R", registry)


def test_names_keep_their_kind(registry: Path, data: Path, model_file: Path, cli: Cli) -> None:
    cli("dataset", "register", "transactions", "-a", data, "-R", registry)
    cli("register", "fraud", "-a", model_file, "--no-environment", "-R", registry)
    before = state(registry)
    wrong = cli("register", "transactions", "-a", model_file, "-R", registry, code=2).stderr
    assert "transactions is a dataset" in wrong
    assert "fraud is a model" in cli("dataset", "register", "fraud", "-a", data, "-R", registry, code=2).stderr
    assert "is a model version, not a dataset version" in (
        cli("register", "fraud", "-a", model_file, "--dataset", "fraud@1.0.0", "-R", registry, code=2).stderr
    )
    cli("register", "fraud", "-a", model_file, "--dataset", "nothere@1.0.0", "-R", registry, code=1)
    cli("register", "fraud", "-a", model_file, "--dataset", "transactions@9.0.0", "-R", registry, code=1)
    cli("register", "fraud", "-a", model_file, "--dataset", "transactions", "-R", registry, code=2)
    assert state(registry) == before


def _trained(registry: Path, data: Path, model_file: Path, cli: Cli) -> None:
    """transactions 1.0.0 and 1.0.1, holdout 1.0.0; fraud 1.0.0 on
    transactions 1.0.0 (in production), fraud 1.0.1 on 1.0.1, churn 1.0.0
    on transactions 1.0.0 and evaluated on holdout (in staging)."""
    cli("dataset", "register", "transactions", "-a", data, "-R", registry)
    data.write_text(CSV + "5,1,0,2026-01-05\n")
    cli("dataset", "register", "transactions", "-a", data, "-R", registry)
    cli("dataset", "register", "holdout", "-a", data, "-R", registry)
    common = ("--no-environment", "-R", registry)
    cli("register", "fraud", "-a", model_file, "--dataset", "transactions@1.0.0", *common)
    cli("register", "fraud", "-a", model_file, "--dataset", "transactions@latest", *common)
    cli(
        "register",
        "churn",
        "-a",
        model_file,
        "--dataset",
        "transactions@1.0.0",
        "--eval-dataset",
        "holdout@1.0.0",
        *common,
    )
    for model, version in (("fraud", "1.0.0"), ("churn", "1.0.0")):
        cli("promote", model, version, "--to", "staging", "-R", registry)
    cli("promote", "fraud", "1.0.0", "--to", "production", "-R", registry)
    cli("promote", "fraud", "1.0.1", "--to", "staging", "-R", registry)


def test_lineage_both_ways(registry: Path, data: Path, model_file: Path, cli: Cli) -> None:
    _trained(registry, data, model_file, cli)
    fraud = api.show("fraud@production", registry=registry)
    assert [(link.dataset, link.version, link.role) for link in fraud.datasets] == [("transactions", "1.0.0", "train")]
    text = cli("lineage", "churn@1.0.0", "-R", registry).stdout
    assert "trained on transactions@1.0.0" in text and "evaluated on holdout@1.0.0" in text
    chain = json.loads(cli("lineage", "fraud@1.0.1", "--json", "-R", registry).stdout)
    assert chain[0]["datasets"] == [{"dataset": "transactions", "version": "1.0.1", "role": "train"}]
    used = json.loads(cli("lineage", "--used-by", "transactions@1.0.0", "--json", "-R", registry).stdout)["used_by"]
    assert [(u["model"], u["version"], u["role"], u["stages"]) for u in used] == [
        ("churn", "1.0.0", "train", ["staging"]),
        ("fraud", "1.0.0", "train", ["production"]),
    ]
    table = cli("lineage", "--used-by", "holdout@latest", "-R", registry).stdout
    assert "churn" in table and "eval" in table and "fraud" not in table
    assert "fraud 1.0.0 (train) holds production" in cli("dataset", "show", "transactions@1.0.0", "-R", registry).stdout
    # as of a date before any model was registered
    first = git(registry, "rev-list", "--reverse", "HEAD").splitlines()[3]
    assert "No model version" in cli("lineage", "--used-by", "transactions@1.0.0", "--at", first, "-R", registry).stdout
    cli("lineage", "--used-by", "fraud@1.0.0", "-R", registry, code=2)
    cli("lineage", "fraud@1.0.0", "--used-by", "transactions@1.0.0", "-R", registry, code=2)


def test_a_dataset_in_use_by_a_stage_holder_is_not_archived_without_force_and_reason(
    registry: Path, data: Path, model_file: Path, cli: Cli
) -> None:
    _trained(registry, data, model_file, cli)
    before = state(registry)
    refused = cli("archive", "transactions", "1.0.0", "-R", registry, code=1).stderr
    assert "used by churn 1.0.0 (staging), fraud 1.0.0 (production)" in refused and "--force" in refused
    assert "needs a --reason" in cli("archive", "transactions", "1.0.0", "--force", "-R", registry, code=2).stderr
    assert state(registry) == before
    cli("archive", "transactions", "1.0.0", "--force", "--reason", "deletion request DPO-311", "-R", registry)
    assert api.show("transactions@1.0.0", registry=registry).status == "archived"
    assert trailers(registry)["Gitreg-Reason"] == "deletion request DPO-311"
    # a version no stage holder used is archived as any other
    cli("dataset", "register", "spare", "-a", data, "-R", registry)
    cli("archive", "spare", "1.0.0", "-R", registry)
    cli("check", "-R", registry)


def test_gc_keeps_a_dataset_a_stage_holder_used_unless_forced(
    registry: Path, data: Path, model_file: Path, cli: Cli
) -> None:
    _trained(registry, data, model_file, cli)
    config = registry / ".gitreg" / "config.yaml"
    doc = yamlio.load(config.read_text(), "config")
    doc["retention"] = {"max_versions": 1}
    config.write_text(yamlio.dump(doc))
    git(registry, "commit", "-qam", "retention")
    planned = cli("gc", "--dry-run", "-R", registry).stdout
    assert "Keep transactions 1.0.0: used by churn 1.0.0 (staging); used by fraud 1.0.0 (production)" in planned
    cli("gc", "-R", registry)
    assert api.show("transactions@1.0.0", registry=registry) is not None
    assert "needs a --reason" in cli("gc", "--force", "-R", registry, code=2).stderr
    done = json.loads(cli("gc", "--force", "--reason", "raw data kept 90 days", "--json", "-R", registry).stdout)
    assert {"model": "transactions", "version": "1.0.0"} in done["removed"]
    assert trailers(registry)["Gitreg-Reason"] == "raw data kept 90 days"
    # the link stays as history: the whole tree still holds, and lineage names the removed version
    cli("check", "-R", registry)
    assert "trained on transactions@1.0.0" in cli("lineage", "fraud@production", "-R", registry).stdout


def test_the_checker_refuses_a_link_to_a_dataset_version_that_does_not_exist(
    pr_registry: Path, data: Path, cli: Cli
) -> None:
    api.register_dataset("transactions", data, registry=pr_registry)
    git(pr_registry, "push", "-q", "origin", "main", "--tags")
    source = pr_registry / "models" / "fraud" / "versions"

    def linked(target: str, version: str) -> None:
        def edit(reg: Path) -> None:
            for suffix in (".yaml", ".dvc"):
                text = (source / f"1.0.3{suffix}").read_text().replace("1.0.3", "1.0.9")
                (source / f"1.0.9{suffix}").write_text(text)
            doc = yamlio.load((source / "1.0.9.yaml").read_text(), "v")
            doc["datasets"] = [{"dataset": target, "version": Quoted(version), "role": "train"}]
            doc["version"] = Quoted("1.0.9")
            (source / "1.0.9.yaml").write_text(yamlio.dump(doc))

        return edit

    pr(pr_registry, "ghost", linked("transactions", "7.0.0"))
    assert any(
        "links dataset transactions@7.0.0, which is not registered" in m for m in messages(check(pr_registry, cli, 1))
    )
    git(pr_registry, "checkout", "-q", "main")
    pr(pr_registry, "model-link", linked("churn", "1.0.0"))
    assert any("churn is a model, not a dataset" in m for m in messages(check(pr_registry, cli, 1)))
    git(pr_registry, "checkout", "-q", "main")
    pr(pr_registry, "good-link", linked("transactions", "1.0.0"))
    report = check(pr_registry, cli, 1)  # added by hand, so dvc.yaml is stale: but no dataset rule fires
    assert not [m for m in messages(report) if "dataset" in m]
    git(pr_registry, "checkout", "-q", "main")

    def retype(reg: Path) -> None:
        file = reg / "models" / "transactions" / "model.yaml"
        file.write_text(file.read_text().replace("type: dataset\n", ""))

    pr(pr_registry, "retype", retype)
    found = messages(check(pr_registry, cli, 1))
    assert any("type changed from dataset to model" in m for m in found)


def test_a_dataset_tracked_by_dvc_is_linked_by_its_hash(registry: Path, tmp_path: Path, cli: Cli) -> None:
    """A real DVC project: `dvc repro` trains on data/train.csv and a folder
    of images; both were registered as datasets, so the model version links
    them without being told."""
    project = tmp_path / "training"
    (project / "data" / "images").mkdir(parents=True)
    (project / "data" / "train.csv").write_text(CSV)
    (project / "data" / "images" / "a.png").write_bytes(b"\x89PNG a")
    (project / "data" / "images" / "b.png").write_bytes(b"\x89PNG b")
    (project / "train.py").write_text(
        "import pathlib\npathlib.Path('model.bin').write_bytes(pathlib.Path('data/train.csv').read_bytes()[::-1])\n"
    )
    git(project, "init", "-q", "-b", "main")
    dvc = [sys.executable, "-m", "dvc"]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    for args in (
        ["init", "-q"],
        [
            "stage",
            "add",
            "-n",
            "train",
            "-d",
            "data/train.csv",
            "-d",
            "data/images",
            "-d",
            "train.py",
            "-o",
            "model.bin",
            f"{sys.executable} train.py",
        ],
        ["repro", "-q"],
    ):
        subprocess.run([*dvc, *args], cwd=project, env=env, check=True, capture_output=True)
    cli("dataset", "register", "train", "-a", project / "data" / "train.csv", "-R", registry)
    cli("dataset", "register", "images", "-a", project / "data" / "images", "-R", registry)
    cli("register", "fraud", "-a", project / "model.bin", "--no-environment", "-R", registry)
    links = api.show("fraud@1.0.0", registry=registry).datasets
    assert sorted((link.ref, link.role, link.path) for link in links) == [
        ("images@1.0.0", "train", "data/images"),
        ("train@1.0.0", "train", "data/train.csv"),
    ]
    cli("check", "-R", registry)


def test_export_and_import_carry_datasets_and_links(
    registry: Path, data: Path, model_file: Path, tmp_path: Path, cli: Cli
) -> None:
    _trained(registry, data, model_file, cli)
    exported = tmp_path / "registry.json"
    cli("export", "-o", exported, "-R", registry)
    other = tmp_path / "other"
    api.init(other)
    cli("import", exported, "-R", other)
    assert api.model_show("transactions", registry=other).type == "dataset"
    moved = api.show("churn@1.0.0", registry=other)
    assert [link.ref for link in moved.datasets] == ["transactions@1.0.0", "holdout@1.0.0"]
    assert [(u.model, u.version) for u in api.used_by("transactions@1.0.0", registry=other)] == [
        ("churn", "1.0.0"),
        ("fraud", "1.0.0"),
    ]
    assert api.show("transactions@1.0.1", registry=other).data == api.show("transactions@1.0.1", registry=registry).data
    cli("verify", "transactions", "--remote", "-R", other)
    cli("check", "-R", other)


def test_pulls_record_their_use_when_asked_and_status_shows_the_last(
    registry: Path, data: Path, tmp_path: Path, cli: Cli
) -> None:
    cli("dataset", "register", "transactions", "-a", data, "-R", registry)
    branch = git(registry, "rev-parse", "HEAD")
    cli("pull", "transactions@1.0.0", "-o", tmp_path / "a.csv", "-R", registry)
    assert git(registry, "for-each-ref", "refs/gitreg/usage/") == ""  # only when asked
    before = state(registry)
    hostile = cli(
        "pull",
        "transactions@1.0.0",
        "-o",
        tmp_path / "b.csv",
        "--record-usage",
        "--purpose",
        "x\x1b]8;;evil",
        "-R",
        registry,
        code=2,
    )
    assert "invalid purpose" in hostile.stderr and not (tmp_path / "b.csv").exists() and state(registry) == before
    cli("pull", "transactions@1.0.0", "-o", tmp_path / "b.csv", "--purpose", "retrain", "-R", registry, code=2)
    cli(
        "pull",
        "transactions@latest",
        "-o",
        tmp_path / "c.csv",
        "--record-usage",
        "--purpose",
        "retrain fraud",
        "-R",
        registry,
    )
    cli("pull", "transactions@1.0.0", "-o", tmp_path / "d.csv", "--record-usage", "--purpose", "audit", "-R", registry)
    assert git(registry, "rev-parse", "HEAD") == branch  # uses never move the registry branch
    status = json.loads(cli("status", "transactions", "--json", "-R", registry).stdout)
    assert status["last_used"]["purpose"] == "audit" and status["last_used"]["ref"] == "transactions@1.0.0"
    assert status["last_used"]["by"] == "Ada Tester <ada@example.com>"
    assert "Last used: 1.0.0 at" in cli("status", "transactions", "-R", registry).stdout
    from gitreg.operations import usage

    uses = usage.uses(api.open_registry(registry), "transactions")
    assert [u.purpose for u in uses] == ["audit", "retrain fraud"]
    cli("check", "-R", registry)


def test_dvc_sees_a_dataset_as_a_dataset_and_gets_its_bytes(registry: Path, data: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    api.register_dataset("transactions", data, registry=registry)
    text = (registry / "dvc.yaml").read_text()
    assert "  transactions:\n    path: models/transactions/versions/1.0.0/transactions.csv\n    type: dataset\n" in text
    got = tmp_path / "got.csv"
    subprocess.run(
        [sys.executable, "-m", "dvc", "artifacts", "get", str(registry), "transactions", "-o", str(got)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert got.read_text() == CSV
    # an entry whose type was edited by hand is a violation
    (registry / "dvc.yaml").write_text(text.replace("type: dataset", "type: model"))
    git(registry, "commit", "-qam", "by hand")
    assert "has type model, not dataset" in Cli()("check", "-R", registry, code=1).stdout


def test_the_site_shows_a_dataset_s_data_and_a_model_s_datasets(
    registry: Path, tmp_path: Path, model_file: Path, cli: Cli
) -> None:
    table = tmp_path / "work" / "odd.csv"
    table.write_text('id,"<script>alert(1)</script>"\n1,2\n2,\n')
    api.register_dataset("odd", table, schema={"columns": {"id": "integer"}}, registry=registry)
    api.register("fraud", model_file, datasets=["odd@1.0.0"], environment=False, registry=registry)
    site = tmp_path / "site"
    cli("site", "-o", site, "-R", registry)
    data_page = (site / "models" / "odd" / "versions" / "1.0.0.html").read_text()
    assert "<h2 id=data>Data</h2>" in data_page and "Declared schema" in data_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in data_page and "<script>alert" not in data_page
    assert "<td>50.0%</td>" in data_page
    model_page = (site / "models" / "fraud" / "versions" / "1.0.0.html").read_text()
    assert '<a href="../../odd/versions/1.0.0.html">odd@1.0.0</a>' in model_page
