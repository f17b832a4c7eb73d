from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from gitreg.documents import manifest, schema
from gitreg.documents.manifest import Artifact, Model, ModelVersion, RegistryConfig, StagePointer
from gitreg.errors import InvalidDocumentError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("kind", schema.KINDS)
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    doc = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text())
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("kind", schema.KINDS)
def test_installed_package_ships_the_same_schema(kind: str) -> None:
    assert schema.schema_text(kind) == (ROOT / "schemas" / f"{kind}.schema.json").read_text()


VERSION = ModelVersion(
    model="fraud",
    version="1.2.3-rc.1",
    created_at="2026-01-02T03:04:05Z",
    created_by="Ada <ada@example.com>",
    artifact=Artifact("model.pkl", "0" * 32, 10, "storage"),
    metrics={"auc": 0.9, "n": 3},
    params={"lr": 0.1, "layers": [64, 32], "opt": {"name": "adam"}},
    metadata={"gpu": True, "framework": "torch"},
    labels={"team": "risk"},
    description="first",
)
DOCUMENTS = [
    (RegistryConfig(), "RegistryConfig"),
    (Model("fraud", gates={"production": {"min_auc": 0.8, "require_approved": True}}), "Model"),
    (VERSION, "ModelVersion"),
    (
        StagePointer("fraud", "production", "1.2.3", "2026-01-02T03:04:05Z", "Ada <ada@example.com>", "ok"),
        "StagePointer",
    ),
]


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
