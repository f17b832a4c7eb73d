"""Adversarial inputs, one table per kind of attack (SECURITY.md): each is
refused with one line naming what is wrong, exit 1 or 2, no traceback, and
nothing written — through the CLI, through the Python API, and, for files
committed by hand, by `gitreg check`.

Related cases also live beside the code they exercise — the name grammar
(test_names), YAML rules for input files (test_yamlio, test_bad_input),
hash mismatches at pull and verify (test_pull_verify), the checker's bypass
attempts (test_check); where those go through one door only, this module
adds the other (CLI or Python API)."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest

from gitreg import api
from gitreg.documents import schema, yamlio
from gitreg.errors import ArtifactError, GitregError, InvalidDocumentError, UsageError
from tests.conftest import Cli, git, state
from tests.helpers import BYPASSES, Edit, pr

NAMES = {
    "dot dot": "a..b",
    "two slashes": "a/b/c",
    "leading slash": "/ab",
    "trailing slash": "ab/",
    "double slash": "a//b",
    "namespace ending .lock": "a.lock/b",
    "reserved in a namespace": "a/versions",
    "namespace dot dot": "../b",
    "65-character namespace": "a" * 65 + "/b",
    "backslash": "a\\b",
    "colon": "a:b",
    "NUL": "a\x00b",
    "newline": "a\nb",
    "tab": "a\tb",
    "escape": "a\x1b[31mb",
    "leading dash": "-ab",
    "trailing dot": "ab.",
    "trailing .lock": "ab.lock",
    ".git": ".git",
    "HEAD": "HEAD",
    "git~1": "git~1",
    "Cyrillic a": "frаud",
    "zero-width space": "fr\u200baud",
    "right-to-left override": "fr\u202eaud",
    "65 characters": "a" * 65,
}


def _one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gitreg: error: "), output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_model_names(name: str, registry: Path, artifact: Path, cli: Cli) -> None:
    before = state(registry)
    line = _one_line_error(cli("register", "-a", artifact, "-R", registry, "--", name, code=2).stderr)
    assert "invalid model name" in line
    with pytest.raises(UsageError, match="invalid model name"):
        api.register(name, artifact, registry=registry)
    assert state(registry) == before


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_stage_names(name: str, registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    before = state(registry)
    line = _one_line_error(cli("promote", "fraud", "1.0.0", "--to", name, "-R", registry, code=2).stderr)
    assert "invalid stage name" in line
    with pytest.raises(UsageError, match="invalid stage name"):
        api.promote("fraud", "1.0.0", to=name, registry=registry)
    assert state(registry) == before


# names a file system can hold, committed by hand as a model folder
# (git itself refuses to add git~1, the NTFS short name of .git)
ON_DISK = [n for n in NAMES.values() if "/" not in n and "\x00" not in n and n not in (".git", "git~1")]


@pytest.mark.parametrize("name", ON_DISK, ids=[k for k, v in NAMES.items() if v in ON_DISK])
def test_hand_committed_model_folders(name: str, registry: Path, cli: Cli) -> None:
    folder = registry / "models" / name
    folder.mkdir(parents=True)
    (folder / "model.yaml").write_text("apiVersion: gitreg/v1\nkind: Model\nname: fraud\n")
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "by hand")
    report = json.loads(cli("check", "--format", "json", "-R", registry, code=1).stdout)
    assert report["violations"], report
    assert any("models/" in v["path"] for v in report["violations"])


def test_a_hand_committed_stage_name_in_the_config(registry: Path, cli: Cli) -> None:
    config = registry / ".gitreg" / "config.yaml"
    config.write_text(config.read_text().replace("- production", '- "prod:uction"'))
    git(registry, "commit", "-q", "-am", "by hand")
    output = cli("check", "-R", registry, code=1).output
    assert ".gitreg/config.yaml" in output and "prod:uction" in output


VERSIONS = {
    "two parts": "1.0",
    "leading zero": "01.0.0",
    "leading zero in minor": "1.01.0",
    "numeric pre-release with leading zero": "1.0.0-01",
    "build metadata": "1.0.0+build.5",
    "v prefix": "v1.0.0",
    "empty pre-release": "1.0.0-",
    "exponent": "1e3",
    "YAML float": "1.10",
    "over the length limit": "1.0.0-" + "a" * 60,
}


@pytest.mark.parametrize("version", VERSIONS.values(), ids=VERSIONS.keys())
def test_versions(version: str, registry: Path, artifact: Path, cli: Cli) -> None:
    before = state(registry)
    line = _one_line_error(
        cli("register", "fraud", "-a", artifact, "--version", version, "-R", registry, code=2).stderr
    )
    assert "invalid version" in line
    with pytest.raises(UsageError, match="invalid version"):
        api.register("fraud", artifact, version=version, registry=registry)
    assert state(registry) == before


def test_a_version_yaml_reads_as_a_number_is_caught_by_the_checker(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry, version="1.10.0")
    manifest = registry / "models" / "fraud" / "versions" / "1.10.0.yaml"
    manifest.write_text(manifest.read_text().replace('version: "1.10.0"', "version: 1.10"))
    git(registry, "commit", "-q", "-am", "by hand")
    assert "/version" in cli("check", "-R", registry, code=1).output


MODEL = "apiVersion: gitreg/v1\nkind: Model\nname: fraud\n"
DOCUMENTS = {
    "python tag": (MODEL + "description: !!python/object/apply:os.system [id]\n", "YAML tags are not allowed"),
    "other tag": (MODEL + "description: !custom x\n", "YAML tags are not allowed"),
    "anchor and alias": (MODEL + "owners: &o [a]\nlabels: {x: *o}\n", "anchors and aliases"),
    "merge key": (MODEL + "labels:\n  <<: {a: b}\n", "merge keys"),
    "duplicate key": (MODEL + "name: fraud\n", "duplicate key 'name'"),
    "two documents": (MODEL + "---\n" + MODEL, "only one YAML document"),
    "list root": ("- " + MODEL.replace("\n", "\n  "), "expected a mapping at the top level"),
    "wrong type": (MODEL.replace("name: fraud", "name: 5"), "/name"),
    "unknown field": (MODEL + "skip_gates: true\n", "skip_gates"),
    "over the size cap": (MODEL + "description: " + "x" * yamlio.MAX_BYTES + "\n", "byte limit"),
    "deeper than the cap": (MODEL + "labels: " + "[" * 100 + "]" * 100 + "\n", "deeper than"),
}


@pytest.mark.parametrize(("text", "message"), DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_hand_committed_documents(text: str, message: str, registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    (registry / "models" / "fraud" / "model.yaml").write_text(text)
    git(registry, "commit", "-q", "-am", "by hand")
    output = cli("check", "-R", registry, code=1).output
    assert "models/fraud/model.yaml" in output and message in output, output


def test_non_finite_metrics_committed_by_hand(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry, metrics={"auc": 0.9})
    manifest = registry / "models" / "fraud" / "versions" / "1.0.0.yaml"
    manifest.write_text(manifest.read_text().replace("auc: 0.9", "auc: .nan"))
    git(registry, "commit", "-q", "-am", "by hand")
    assert "NaN and infinity are not allowed" in cli("check", "-R", registry, code=1).output


BOMBS = {
    "billion laughs": "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "z: [*i, *i, *i, *i, *i, *i, *i, *i, *i]\n",
    "deep nesting": "a: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep mappings": "".join("  " * i + f"k{i}:\n" for i in range(2_000)) + "  " * 2_000 + "v\n",
    "huge file": "a: " + "x" * (64 * 1024 * 1024) + "\n",
}


@pytest.mark.parametrize("text", BOMBS.values(), ids=BOMBS.keys())
def test_hostile_yaml_is_refused_within_bounded_memory(text: str) -> None:
    data = text.encode()
    tracemalloc.start()
    try:
        with pytest.raises(InvalidDocumentError):
            yamlio.load(data, "bomb.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{peak / 1e6:.1f} MB to refuse it"


def _hard_link(tmp: Path) -> Path:
    (tmp / "secret").write_bytes(b"s")
    os.link(tmp / "secret", tmp / "model.bin")
    return tmp / "model.bin"


def _hard_link_inside(tmp: Path) -> Path:
    (tmp / "model").mkdir()
    (tmp / "model" / "w.bin").write_bytes(b"w")
    (tmp / "secret").write_bytes(b"s")
    os.link(tmp / "secret", tmp / "model" / "copy")
    return tmp / "model"


SOURCES = {
    "hard link": (_hard_link, "is a hard link"),
    "hard link inside a folder": (_hard_link_inside, "copy is a hard link"),
    "file URL": (lambda tmp: "file:///etc/hostname", "is a URL"),
    "S3 URL": (lambda tmp: "s3://bucket/model.pkl", "is a URL"),
    "double slash to /proc": (lambda tmp: "//proc/self/environ", "kernel pseudo-filesystem"),
    "/proc": (lambda tmp: "/proc/self/status", "kernel pseudo-filesystem"),
    "device": (lambda tmp: "/dev/null", "a kernel pseudo-filesystem"),
    "encoded dot dot": (lambda tmp: f"{tmp}/%2e%2e/secret", "percent-encoded"),
    "encoded slash": (lambda tmp: f"{tmp}/a%2Fb", "percent-encoded"),
}


@pytest.mark.parametrize(("make", "message"), SOURCES.values(), ids=SOURCES.keys())
def test_artifact_sources(make: object, message: str, registry: Path, tmp_path: Path, cli: Cli) -> None:
    source = make(tmp_path)  # type: ignore[operator]
    before = state(registry)
    line = _one_line_error(cli("register", "fraud", "-a", source, "-R", registry, code=2).stderr)
    assert message in line
    with pytest.raises(UsageError, match=message):
        api.register("fraud", source, registry=registry)
    assert state(registry) == before


def _object_schemas(node: object, where: str = "") -> list[tuple[str, dict[str, object]]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append((where, node))
        for key, value in node.items():
            found += _object_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _object_schemas(value, f"{where}/{index}")
    return found


@pytest.mark.parametrize("kind", schema.KINDS)
def test_schemas_are_closed_and_have_no_switch(kind: str) -> None:
    """Every object either lists its fields (additionalProperties: false) or is
    a map whose values have their own schema (metrics, labels, gates); the one
    free-form object is a version's training params, which nothing reads
    back as a rule. No field name reads like a way to turn a rule off."""
    document = json.loads(schema.schema_text(kind))
    for where, node in _object_schemas(document):
        extra = node.get("additionalProperties")
        closed = extra is False or (isinstance(extra, dict) and "properties" not in node)
        assert closed or (kind, where) in (("ModelVersion", "/properties/params"), ("Run", "/properties/params")), (
            f"{kind}{where}"
        )
    words = ("skip", "force", "bypass", "disable", "ignore", "override", "unsafe", "trust", "no_check")
    for where, node in _object_schemas(document):
        for field in node.get("properties", {}):  # type: ignore[union-attr]
            assert not any(w in field.lower() for w in words), f"{kind}{where}/{field}"


def test_a_tag_differing_only_in_case_blocks_the_version(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    git(registry, "tag", "Fraud@v1.0.1")
    before = state(registry)
    line = _one_line_error(
        cli("register", "fraud", "-a", artifact, "--version", "1.0.1", "-R", registry, code=1).stderr
    )
    assert "1.0.1" in line
    with pytest.raises(GitregError):
        api.register("fraud", artifact, version="1.0.1", registry=registry)
    assert state(registry) == before
    assert api.register("fraud", artifact, registry=registry).version == "1.0.2"  # the next free one


TRAILING_NEWLINES = {
    "model name": ("fraud\n", "invalid model name"),
    "version": ("1.0.0\n", "invalid version"),
}


@pytest.mark.parametrize(("value", "message"), TRAILING_NEWLINES.values(), ids=TRAILING_NEWLINES.keys())
def test_a_trailing_newline_is_not_the_end_of_a_name(value: str, message: str, registry: Path, artifact: Path) -> None:
    """Python's ``$`` matches before a final newline; names and versions are
    matched whole, and the schemas' patterns with JSON Schema's own ``$``."""
    before = state(registry)
    with pytest.raises(UsageError, match=message):
        if message == "invalid model name":
            api.register(value, artifact, registry=registry)
        else:
            api.register("fraud", artifact, version=value, registry=registry)
    assert state(registry) == before
    model = {"apiVersion": "gitreg/v1", "kind": "Model", "name": "fraud"}
    schema.validate(dict(model), "Model", "doc")
    with pytest.raises(InvalidDocumentError, match="/name"):
        schema.validate(model | {"name": "fraud\n"}, "Model", "doc")


@pytest.mark.parametrize(("case", "edit", "message"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_ci_bypasses_through_the_python_api(pr_registry: Path, case: str, edit: Edit, message: str) -> None:
    """The checker's bypass attempts (tests/test_check.py runs them through the
    CLI) as a regression set through `gitreg.ci.check`, which CI scripts call too."""
    pr(pr_registry, "attempt", edit)
    before = state(pr_registry)
    report = api.check(base="origin/main", registry=pr_registry)
    assert not report.ok
    assert any(message in f"{v.path} {v.field}: {v.message}" for v in report.violations), report.violations
    assert state(pr_registry) == before  # checking writes nothing


def test_bytes_that_do_not_match_the_manifest_hash_through_the_python_api(
    registry: Path, artifact: Path, tmp_path: Path
) -> None:
    """(tests/test_pull_verify.py has the same through the CLI, and folders.)"""
    md5 = api.register("fraud", artifact, registry=registry).artifact.md5
    stored = registry / ".gitreg" / "storage" / "files" / "md5" / md5[:2] / md5[2:]
    stored.chmod(0o644)
    stored.write_bytes(b"not the registered weights")
    [verified] = api.verify("fraud@1.0.0", remote=True, registry=registry)
    assert [p.problem for p in verified.problems] == ["corrupted"]
    with pytest.raises(ArtifactError, match="hash mismatch"):
        api.pull("fraud@1.0.0", output=tmp_path / "out.bin", registry=registry)
    assert not (tmp_path / "out.bin").exists()


def test_an_existing_registration_tag_blocks_its_version(registry: Path, artifact: Path, cli: Cli) -> None:
    """(tests/test_register.py has an annotated tag through the Python API.)"""
    git(registry, "tag", "fraud@v1.0.0")
    before = state(registry)
    line = _one_line_error(
        cli("register", "fraud", "-a", artifact, "--version", "1.0.0", "-R", registry, code=1).stderr
    )
    assert "1.0.0" in line
    assert state(registry) == before
