"""The memo of parsed documents (gitreg.storage.memo): it must give exactly what
parsing gives, never keep a rejected document, follow the code that judges
documents, and never be needed."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitreg import api
from gitreg.documents import manifest
from gitreg.documents.manifest import Model, ModelVersion, RegistryConfig, StagePointer
from gitreg.errors import InvalidDocumentError
from gitreg.storage import memo
from gitreg.storage.git import Repo
from tests.conftest import Cli, git

# runs the CLI with the YAML, JSON Schema and INI (.dvc/config) libraries made unimportable
BLOCKED = (
    "import sys\n"
    "for name in ('yaml', 'jsonschema', 'jsonschema_rs', 'configobj'):\n"
    "    sys.modules[name] = None\n"
    "from gitreg.cli import main\n"
    "main(sys.argv[1:], prog_name='gitreg')\n"
)


def _gitreg(*args: str | Path, blocked: bool = False, env: dict[str, str] | None = None) -> str:
    code = BLOCKED if blocked else "from gitreg.cli import main; main(prog_name='gitreg')"
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def populated(registry: Path, artifact: Path) -> Path:
    api.register("fraud", artifact, registry=registry, metrics={"auc": 0.81, "loss": 1e-300, "n": 10**30})
    api.register("fraud", artifact, registry=registry, metrics={"auc": 0.85}, description='ünïcode 😀 \\ "q"')
    api.promote("fraud", "1.0.1", to="staging", registry=registry)
    return registry


def _files(root: Path) -> list[Path]:
    return sorted((root / ".git" / memo.FOLDER).glob("parsed-*.sqlite"))


def test_a_warm_read_imports_neither_yaml_nor_json_schema(populated: Path) -> None:
    for command in (["resolve", "fraud@staging"], ["show", "fraud"], ["list"], ["show", "fraud@1.0.0", "--json"]):
        first = _gitreg(*command, "-R", populated)  # parses, and remembers
        assert _gitreg(*command, "-R", populated, blocked=True) == first
    assert len(_files(populated)) == 1


def _exactly(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (1 is not 1.0 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_exactly(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_exactly(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


KINDS = {"model.yaml": Model, "config.yaml": RegistryConfig}


def test_remembered_documents_are_exactly_the_parsed_ones(populated: Path) -> None:
    repo = Repo(populated)
    tricky = (
        b'apiVersion: gitreg/v1\nkind: Model\nname: fraud\ndescription: "\\U0001F600 \\0 nul, \\t tab, \\u00e9"\n'
        b"labels: {team: risk}\n"
    )
    documents = [(tricky, Model)]
    for line in git(populated, "ls-tree", "-r", "HEAD").splitlines():
        oid, path = line.split()[2], line.split("\t")[1]
        kind = KINDS.get(path.rsplit("/", 1)[-1]) or (
            ModelVersion if "/versions/" in path else StagePointer if "/stages/" in path else None
        )
        if kind is not None and path.endswith(".yaml"):
            documents.append((repo.read_blobs([oid])[oid], kind))
    assert {kind for _, kind in documents} == {Model, ModelVersion, StagePointer, RegistryConfig}
    remembered = memo.Memo(populated / ".git" / memo.FOLDER)
    for data, kind in documents:
        parsed = manifest.parse(data, kind, "doc")
        assert manifest.parse(data, kind, "doc", remembered) == parsed  # a miss: parsed, then kept
        remembered.flush()
        doc = remembered.get(kind.KIND, data)
        from gitreg.documents import schema, yamlio

        assert _exactly(doc, schema.validate(yamlio.load(data, "doc"), kind.KIND, "doc"))
        assert manifest.parse(data, kind, "doc", remembered) == parsed  # a hit
        assert remembered.get("Model" if kind is not Model else "StagePointer", data) is None  # kinds apart
    remembered.close()
    repo.close()


def test_a_rejected_document_is_never_remembered(populated: Path) -> None:
    remembered = memo.Memo(populated / ".git" / memo.FOLDER)
    bad = b"apiVersion: gitreg/v1\nkind: Model\nname: fraud\nsurprise: 1\n"
    for _ in range(2):
        with pytest.raises(InvalidDocumentError, match="surprise"):
            manifest.parse(bad, Model, "models/fraud/model.yaml", remembered)
    remembered.close()
    with sqlite3.connect(remembered.path) as db:
        assert db.execute("SELECT count(*) FROM docs WHERE key = ?", (memo.Memo.key("Model", bad),)).fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM docs").fetchone()[0] > 0  # the registry's own documents are there
    db.close()


def test_new_judging_code_means_a_new_file(populated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "package"
    shutil.copytree(Path(memo.__file__).parent.parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(memo, "__file__", str(package / "storage" / "memo.py"))
    _gitreg("show", "fraud", "-R", populated)
    [before] = _files(populated)
    assert memo.Memo(populated / ".git" / memo.FOLDER).path == before
    schema_file = package / "schemas" / "Model.schema.json"
    schema_file.write_text(schema_file.read_text().replace('"description"', '"description" '))
    changed = memo.Memo(populated / ".git" / memo.FOLDER)
    assert changed.path != before
    changed.put("Model", b"x", {"a": 1})
    changed.close()
    assert _files(populated) == [changed.path]  # the old generation's answers are gone


def test_a_damaged_file_is_dropped_and_rebuilt(populated: Path) -> None:
    expected = _gitreg("show", "fraud", "-R", populated)
    [path] = _files(populated)
    path.write_bytes(b"not a database" * 1000)
    assert _gitreg("show", "fraud", "-R", populated) == expected
    assert _gitreg("show", "fraud", "-R", populated) == expected
    with sqlite3.connect(path) as db:  # rebuilt by the second command
        assert db.execute("SELECT count(*) FROM docs").fetchone()[0] > 0
    db.close()


def test_reads_work_where_nothing_can_be_remembered(populated: Path, cli: Cli) -> None:
    expected = _gitreg("show", "fraud", "-R", populated)
    shutil.rmtree(populated / ".git" / memo.FOLDER)
    (populated / ".git" / memo.FOLDER).write_text("a file where the folder would be\n")
    assert _gitreg("show", "fraud", "-R", populated) == expected
    assert cli("resolve", "fraud@staging", "-R", populated).stdout.startswith("fraud 1.0.1")


def test_switched_off_it_writes_nothing(populated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.rmtree(populated / ".git" / memo.FOLDER, ignore_errors=True)
    monkeypatch.setenv(memo.ENV, "0")
    _gitreg("show", "fraud", "-R", populated)
    assert not (populated / ".git" / memo.FOLDER).exists()


def test_processes_filling_it_at_once_agree(populated: Path) -> None:
    shutil.rmtree(populated / ".git" / memo.FOLDER, ignore_errors=True)
    code = "from gitreg.cli import main; main(prog_name='gitreg')"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, "show", "fraud", "-R", str(populated)], stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    outputs = {proc.communicate()[0] for proc in procs}
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0]
    assert len(outputs) == 1
    assert _gitreg("show", "fraud", "-R", populated, blocked=True).encode() in outputs


def test_the_checker_does_not_trust_it(populated: Path, cli: Cli) -> None:
    """A document the memo calls valid is still judged by `gitreg check`."""
    path = populated / "models" / "fraud" / "model.yaml"
    bad = path.read_bytes() + b"surprise: 1\n"
    path.write_bytes(bad)
    git(populated, "commit", "-q", "-am", "by hand")
    poisoned = memo.Memo(populated / ".git" / memo.FOLDER)
    poisoned.put("Model", bad, {"apiVersion": "gitreg/v1", "kind": "Model", "name": "fraud"})
    poisoned.close()
    assert "surprise" in cli("check", "-R", populated, code=1).output


def test_listing_lines_follow_each_model_folder(populated: Path, artifact: Path, cli: Cli) -> None:
    """Model lines are remembered by folder tree id and model name: a new
    version changes one line, and a copied folder is judged under its own name."""
    first = json.loads(cli("list", "--json", "-R", populated).stdout)
    api.register("churn", artifact, registry=populated)
    api.register("fraud", artifact, registry=populated, bump="minor")
    second = {line["model"]: line for line in json.loads(cli("list", "--json", "-R", populated).stdout)}
    assert second["fraud"]["latest"] == "1.1.0" and second["fraud"]["versions"] == first[0]["versions"] + 1
    assert second["churn"] == {"model": "churn", "type": "model", "latest": "1.0.0", "stages": {}, "versions": 1}
    shutil.copytree(populated / "models" / "fraud", populated / "models" / "fraud2")  # the same tree id
    git(populated, "add", "-A")
    git(populated, "commit", "-q", "-m", "a copied folder, by hand")
    error = cli("list", "-R", populated, code=1).stderr
    assert "models/fraud2/" in error and "the file's path says 'fraud2'" in error
