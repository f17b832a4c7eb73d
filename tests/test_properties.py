"""Properties of what gitreg accepts, over random input (Hypothesis): an
accepted name or version is ASCII, matches the documented grammar, is a
valid git ref component and maps to a path inside models/; a manifest
round-trips through write, read and validation unchanged; any sequence of
operations leaves a registry the checker accepts and GTO reads alike."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitreg import api
from gitreg.documents import layout, manifest, tags, yamlio
from gitreg.documents.manifest import Artifact, ModelVersion
from gitreg.documents.names import NAME_PATTERN, VERSION_PATTERN, Quoted, Version, is_model_name, is_name
from gitreg.errors import GitregError
from tests.conftest import Cli, state
from tests.helpers import gto_view, our_view

# text near the grammar's edges: separators, dots, case, control and invisible characters, look-alikes
PIECES = [*"az09._-/:\\@#~^ \n\t\x00\x7fAZé\u0430\u200b\u202e", ".lock", ".."]
EDGY = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
NAMES = st.one_of(EDGY, st.from_regex(r"[a-z0-9][a-z0-9._-]{0,62}[a-z0-9]", fullmatch=True), st.text(max_size=70))
VERSIONS = st.one_of(
    st.from_regex(r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(-[0-9a-z.-]{1,12})?", fullmatch=True),
    st.text(alphabet=st.sampled_from(list("0123456789.-+abzAZ \n")), max_size=20),
)


def _valid_ref(name: str) -> bool:
    done = subprocess.run(["git", "check-ref-format", f"refs/tags/{name}"], capture_output=True, check=False)
    return done.returncode == 0


def _inside(folder: str, path: str) -> bool:
    normal = os.path.normpath(path)
    return normal.startswith(folder + "/") and ".." not in PurePosixPath(normal).parts


MODEL_NAMES = st.one_of(NAMES, st.tuples(NAMES, NAMES).map("/".join), st.tuples(EDGY, EDGY, EDGY).map("/".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # it runs git
@given(MODEL_NAMES)
def test_an_accepted_model_name_is_safe_everywhere_it_goes(name: str) -> None:
    """NAMESPACE/NAME included: a valid tag, folders inside models/ that
    classify back to the same model, and GTO's tag grammar reads it back."""
    if not is_model_name(name):
        return
    assert name.isascii() and name.count("/") <= 1 and "\n" not in name
    assert _valid_ref(f"{name}@v1.0.0") and _valid_ref(f"{name}#production#1")
    for path in (
        layout.model_path("models", name),
        layout.version_path("models", name, "1.0.0"),
        layout.stage_path("models", name, "production"),
        layout.dvc_path("models", name, "1.0.0"),
    ):
        where = layout.classify("models", path)
        assert _inside("models", path) and where is not None and where.model == name and where.kind != "unexpected"
    event = tags.parse(f"{name}#production#3")
    assert event is not None and (event.model, event.stage, event.counter) == (name, "production", 3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # it runs git
@given(NAMES)
def test_an_accepted_name_is_safe_everywhere_it_goes(name: str) -> None:
    if not is_name(name):
        return
    assert name.isascii() and re.fullmatch(NAME_PATTERN, name)
    assert "\n" not in name and len(name) <= 64
    assert _valid_ref(f"{name}@v1.0.0") and _valid_ref(f"{name}#production#1")
    for path in (
        layout.model_path("models", name),
        layout.version_path("models", name, "1.0.0"),
        layout.stage_path("models", name, name),
    ):
        assert _inside("models", path) and PurePosixPath(path).parts[:2] == ("models", name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # it runs git
@given(VERSIONS)
def test_an_accepted_version_round_trips_and_stays_a_string(text: str) -> None:
    try:
        version = Version.parse(text)
    except Exception:
        return
    assert str(version) == text and re.fullmatch(VERSION_PATTERN, text)
    assert yamlio.load(yamlio.dump({"version": Quoted(text)}), "doc") == {"version": text}  # never a number
    assert tags.parse(tags.register("fraud", text).name()) is not None
    assert _valid_ref(tags.register("fraud", text).name())
    assert _inside("models/fraud/versions", layout.version_path("models", "fraud", text))


KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
# what str.isprintable accepts, space aside: no control, format, separator or unassigned characters
PRINTABLE = st.characters(blacklist_categories=("C", "Z"))
VALID_VERSIONS = st.builds(
    lambda core, pre: ".".join(map(str, core)) + (f"-{'.'.join(pre)}" if pre else ""),
    st.tuples(*[st.integers(0, 9999)] * 3),
    st.lists(
        st.one_of(st.integers(0, 999).map(str), st.from_regex(r"[a-z-][0-9a-z-]{0,5}", fullmatch=True)), max_size=3
    ),
)
FINITE = st.floats(allow_nan=False, allow_infinity=False)
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), FINITE, st.text(max_size=20))
PARAMS = st.deferred(lambda: LEAVES | st.lists(PARAMS, max_size=3) | st.dictionaries(KEYS, PARAMS, max_size=3))


@st.composite
def versions(draw: st.DrawFn) -> ModelVersion:
    return ModelVersion(
        model="fraud",
        version=draw(VALID_VERSIONS),
        created_at="2026-01-02T03:04:05Z",
        created_by=draw(
            st.text(st.one_of(PRINTABLE, st.just(" ")), min_size=1, max_size=30).map(str.strip).filter(bool)
        ),
        artifact=Artifact("model.pkl", "0" * 32, draw(st.integers(0, 2**40)), "storage"),
        metrics=draw(st.dictionaries(KEYS, FINITE, max_size=4)),
        params=draw(st.dictionaries(KEYS, PARAMS, max_size=4)),
        description=draw(st.text(st.one_of(PRINTABLE, st.sampled_from(" \n")), max_size=40)),
        labels=draw(st.dictionaries(KEYS, st.text(alphabet="abc xyz-_.0", max_size=10), max_size=3)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions())
def test_a_manifest_round_trips_unchanged(document: ModelVersion) -> None:
    data = manifest.render(document, "doc")
    assert manifest.parse(data, ModelVersion, "doc") == document
    assert manifest.render(manifest.parse(data, ModelVersion, "doc"), "doc") == data


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.sampled_from(["fraud", "churn"])),
        st.tuples(
            st.just("promote"),
            st.sampled_from(["fraud", "churn"]),
            st.integers(0, 3),
            st.sampled_from(["development", "staging", "production"]),
        ),
        st.tuples(st.just("rollback"), st.sampled_from(["fraud", "churn"]), st.sampled_from(["staging", "production"])),
        st.tuples(st.just("archive"), st.sampled_from(["fraud", "churn"]), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=8,
)


@pytest.mark.stress
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_sequence_of_operations_keeps_the_registry_valid_and_gto_agreeing(
    operations: list[tuple[Any, ...]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Operations a rule refuses change nothing; after any sequence the
    checker passes on the whole tree and GTO reads the same registry."""
    root = tmp_path_factory.mktemp("sequence")
    registry, artifact = root / "registry", root / "model.bin"
    artifact.write_bytes(b"weights")
    api.init(registry)
    cli = Cli()
    for operation in operations:
        action, model, *rest = operation
        version = f"1.0.{rest[0]}" if action in ("promote", "archive") else None
        before = state(registry)
        try:
            if action == "register":
                api.register(model, artifact, registry=registry, metrics={"auc": 0.9})
            elif action == "promote":
                api.promote(model, str(version), to=rest[1], registry=registry)
            elif action == "rollback":
                api.rollback(model, stage=rest[0], registry=registry)
            else:
                api.archive(model, str(version), registry=registry)
        except GitregError:
            assert state(registry) == before, operation
    cli("check", "-R", registry)
    assert gto_view(registry) == our_view(registry, cli)


@given(
    md5=st.text("0123456789abcdef", min_size=32, max_size=32),
    listing=st.booleans(),
    version=st.from_regex(
        r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})(-[a-z0-9.]{1,8})?", fullmatch=True
    ),
    name=st.text(
        st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="/\\\\"), min_size=1, max_size=20
    ),
)
def test_the_dvc_pointer_fast_path_writes_what_yaml_dump_writes(
    md5: str, listing: bool, version: str, name: str
) -> None:
    """A version's .dvc pointer is formatted directly where that is safe;
    the text must be what the YAML writer gives, byte for byte."""
    from gitreg.documents import yamlio
    from gitreg.documents.manifest import Artifact

    artifact = Artifact(name, md5 + (".dir" if listing else ""), 7, "storage", 2 if listing else None)
    out: dict[str, object] = {"md5": artifact.md5, "size": 7}
    if listing:
        out["nfiles"] = 2
    out |= {"hash": "md5", "path": f"{version}/{name}"}
    assert artifact.dvc_file(version) == yamlio.dump({"outs": [out]})


@given(
    st.dictionaries(
        st.one_of(
            st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True),
            st.sampled_from(["yes", "no", "on", "off", "y", "n", "true", "null", "1e5", "0x1f", "12", "1_000"]),
        ),
        st.tuples(
            st.from_regex(r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,2})\.(0|[1-9])(-[a-z0-9.]{1,8})?", fullmatch=True),
            st.text(
                st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="/\\\\"), min_size=1, max_size=20
            ),
        ),
        max_size=8,
    )
)
def test_the_dvc_yaml_fast_path_writes_and_reads_what_yaml_does(entries: dict[str, tuple[str, str]]) -> None:
    """dvc.yaml is written and read as text where every name and path is a
    plain YAML string: the bytes must be the YAML writer's, and both readers
    must give back the entries."""
    from gitreg.documents import dvcyaml

    paths = {
        name: dvcyaml.Entry(f"models/{name}/versions/{version}/{file}", "dataset" if len(file) % 2 else "model")
        for name, (version, file) in entries.items()
    }
    data = dvcyaml.render(paths)
    if not paths:
        assert data is None
        return
    body = {name: {"path": paths[name].path, "type": paths[name].type} for name in sorted(paths)}
    assert data == (dvcyaml.HEADER + yamlio.dump({"artifacts": body})).encode()
    assert dvcyaml.parse(data) == paths
    assert yamlio.load(data, "dvc.yaml") == {"artifacts": body}
