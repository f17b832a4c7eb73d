from __future__ import annotations

import math
import time

import pytest

from gitreg.documents import yamlio
from gitreg.documents.names import Quoted
from gitreg.errors import InvalidDocumentError


def test_scalars_follow_the_yaml_1_2_core_schema() -> None:
    doc = yamlio.load(
        "a: 1\nb: no\nc: 1.5\nd: '1.0'\ne: .nan\nf: -.inf\ng: ~\nh: true\ni: 0x10\nj: 2026-01-01\nk: 1e3\n", "x"
    )
    assert doc["a"] == 1 and doc["b"] == "no" and doc["c"] == 1.5 and doc["d"] == "1.0"
    assert math.isnan(doc["e"]) and doc["f"] == -math.inf and doc["g"] is None and doc["h"] is True
    assert doc["i"] == "0x10" and doc["j"] == "2026-01-01" and doc["k"] == 1000.0


def test_keys_are_strings() -> None:
    assert yamlio.load("1: a\ntrue: b\nnull: c\n", "x") == {"1": "a", "true": "b", "null": "c"}


def test_json_is_accepted() -> None:
    assert yamlio.load('{"auc": 0.9, "nested": {"f1": [1, 2]}}', "m.json") == {"auc": 0.9, "nested": {"f1": [1, 2]}}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("a: &x 1\nb: *x\n", "anchors and aliases"),
        ("a: &x 1\n", "anchors and aliases"),
        ("a: !!python/object/apply:os.system ['true']\n", "YAML tags are not allowed"),
        ("a: !!str 1\n", "YAML tags are not allowed"),
        ("!custom {a: 1}\n", "YAML tags are not allowed"),
        ("<<: {a: 1}\n", "merge keys"),
        ("a: 1\n---\nb: 2\n", "only one YAML document"),
        ("", "empty"),
        ("? [a]\n: 1\n", "mapping keys must be plain strings"),
        ("a: b: c\n", "not valid YAML"),
        ("a: [" * 40 + "]" * 40 + "\n", "deeper than 32"),
    ],
)
def test_unsafe_or_ambiguous_documents_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidDocumentError, match=reason) as info:
        yamlio.load(text, "models/x/model.yaml")
    assert str(info.value).startswith("models/x/model.yaml")


def test_error_names_the_line() -> None:
    with pytest.raises(InvalidDocumentError, match=r"^f.yaml:3: duplicate key"):
        yamlio.load("a: 1\nb: 2\na: 3\n", "f.yaml")


def test_size_cap_refuses_before_parsing() -> None:
    with pytest.raises(InvalidDocumentError, match="over the 1048576-byte limit"):
        yamlio.load("a: " + "x" * yamlio.MAX_BYTES, "big.yaml")


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        bomb += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    start = time.perf_counter()
    with pytest.raises(InvalidDocumentError, match="anchors and aliases"):
        yamlio.load(bomb, "bomb.yaml")
    assert time.perf_counter() - start < 1.0


def test_not_utf8() -> None:
    with pytest.raises(InvalidDocumentError, match="not UTF-8"):
        yamlio.load(b"a: \xff\n", "x")


def test_dump_quotes_what_yaml_1_1_would_retype() -> None:
    text = yamlio.dump({"version": Quoted("1.0.0"), "flag": "no", "number": "1.10", "when": "2026-01-01"})
    assert 'version: "1.0.0"' in text
    assert "flag: 'no'" in text and "number: '1.10'" in text and "when: '2026-01-01'" in text
    assert yamlio.load(text, "x") == {"version": "1.0.0", "flag": "no", "number": "1.10", "when": "2026-01-01"}


def test_dump_quotes_what_yaml_1_2_would_read_as_a_number() -> None:
    """Found by tests/test_properties.py: PyYAML (YAML 1.1) wrote "0E0" plain,
    and the loader (YAML 1.2) read it back as a float."""
    texts = ["0E0", "1e5", "-2E+3", "+1", ".5", ".inf", ".nan", "~", "null", "plain", "1.10"]
    data = {f"k{i}": text for i, text in enumerate(texts)}
    assert yamlio.load(yamlio.dump(data), "doc") == data
