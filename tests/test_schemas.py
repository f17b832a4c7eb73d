from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from gitreg.documents import manifest, schema
from gitreg.documents.manifest import Model
from gitreg.errors import InvalidDocumentError
from tests.helpers import DOCUMENTS, VERSION

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("kind", schema.KINDS)
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    doc = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text())
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("kind", schema.KINDS)
def test_installed_package_ships_the_same_schema(kind: str) -> None:
    assert schema.schema_text(kind) == (ROOT / "schemas" / f"{kind}.schema.json").read_text()


@pytest.mark.parametrize(("document", "kind"), DOCUMENTS)
def test_documents_round_trip_through_yaml(document: manifest.Document, kind: str) -> None:
    data = manifest.render(document, "x.yaml")
    assert manifest.parse(data, type(document), "x.yaml") == document


@pytest.mark.parametrize(("document", "kind"), DOCUMENTS)
def test_schemas_are_closed(document: manifest.Document, kind: str) -> None:
    doc = document.to_doc() | {"skip_checks": True}
    with pytest.raises(InvalidDocumentError, match="Additional properties"):
        schema.validate(manifest._plain(doc), kind, "x.yaml")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": 1.1}, "/version"),
        ({"model": "Fraud"}, "/model"),
        ({"metrics": {"auc": "high"}}, "/metrics/auc"),
        ({"metrics": {"auc": float("nan")}}, "NaN and infinity"),
        ({"params": {"lr": float("inf")}}, "/params/lr: NaN and infinity"),
        ({"status": "gone"}, "/status"),
        ({"kind": "Model"}, "/kind: expected 'ModelVersion'"),
        ({"artifact": {"path": "../x", "hash": "md5", "md5": "0" * 32, "size": 1, "remote": "s"}}, "/artifact"),
    ],
)
def test_wrong_values_name_the_field(change: dict[str, object], reason: str) -> None:
    doc = manifest._plain(VERSION.to_doc()) | change
    with pytest.raises(InvalidDocumentError, match=reason):
        schema.validate(doc, "ModelVersion", "models/fraud/versions/1.2.3.yaml")


def test_gate_keys_are_constrained() -> None:
    doc = manifest._plain(Model("fraud").to_doc()) | {"gates": {"production": {"minimum_auc": 0.8}}}
    with pytest.raises(InvalidDocumentError, match="/gates/production"):
        schema.validate(doc, "Model", "model.yaml")
    doc["gates"] = {"production": {"require_approved": False}}
    with pytest.raises(InvalidDocumentError):
        schema.validate(doc, "Model", "model.yaml")


def test_the_grammar_in_the_schemas_is_the_code_s() -> None:
    """Names, versions and keys are written twice, as Python patterns and in
    the public schemas: the two must be the same text."""
    import json
    from pathlib import Path

    from gitreg.documents.inputs import KEY_PATTERN
    from gitreg.documents.names import MODEL_PATTERN, NAME_PATTERN, VERSION_PATTERN

    def walk(node: object, key_patterns: list[str]) -> None:
        if isinstance(node, dict):
            names = node.get("propertyNames")
            if isinstance(names, dict) and "pattern" in names:
                key_patterns.append(names["pattern"])
            for value in node.values():
                walk(value, key_patterns)
        elif isinstance(node, list):
            for value in node:
                walk(value, key_patterns)

    seen = {"name": 0, "version": 0, "keys": 0, "model": 0}
    for path in (Path(__file__).resolve().parent.parent / "schemas").glob("*.schema.json"):
        doc = json.loads(path.read_text())
        defs = doc.get("$defs", {})
        if "name" in defs:
            assert defs["name"]["pattern"] == NAME_PATTERN, path.name
            seen["name"] += 1
        if "model" in defs:
            assert defs["model"]["pattern"] == MODEL_PATTERN, path.name
            seen["model"] += 1
        if "version" in defs:
            assert defs["version"]["pattern"] == VERSION_PATTERN, path.name
            seen["version"] += 1
        keys: list[str] = []
        walk(doc, keys)
        assert all(k == KEY_PATTERN for k in keys), (path.name, keys)
        seen["keys"] += len(keys)
    assert seen["name"] >= 4 and seen["version"] >= 2 and seen["keys"] >= 3 and seen["model"] == 5, seen
