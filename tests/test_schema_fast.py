"""The compiled validator may only ever say yes to what the reference
validator (python-jsonschema) accepts: random edits of valid documents."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitreg.documents import manifest, schema
from tests.helpers import DOCUMENTS

# strings near the edges of the schemas' patterns: separators, dots, control
# and non-ASCII characters, trailing newlines, look-alikes
EDGY = st.text(alphabet=st.sampled_from(list("az09._-/:\\ \n\r\t\x00\x7f@+éＡ\u200b.lock")), max_size=12)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    EDGY,
    st.sampled_from(["1.0.0", "01.0.0", "1.0.0+build", "md5", "production", "fraud", "2026-01-02T03:04:05Z"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(EDGY, inner, max_size=3)),
    max_leaves=6,
)
BASES = [(json.loads(json.dumps(manifest._plain(document.to_doc()))), kind) for document, kind in DOCUMENTS]


def _places(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _places(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += _places(value, (*path, index))
    return found


@st.composite
def edited(draw: st.DrawFn) -> tuple[Any, str]:
    base, kind = draw(st.sampled_from(BASES))
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_places(doc)[1:]))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(EDGY)] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return doc, kind


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited())
def test_fast_validator_never_accepts_what_the_reference_rejects(case: tuple[Any, str]) -> None:
    doc, kind = case
    if schema.fast_accepts(doc, kind):
        assert not list(schema._validator(kind).iter_errors(doc)), doc


def test_both_validators_accept_the_valid_documents() -> None:
    for doc, kind in BASES:
        assert schema.fast_accepts(doc, kind)
        assert not list(schema._validator(kind).iter_errors(doc))
