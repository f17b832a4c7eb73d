"""Validation of registry documents against the public JSON Schemas in schemas/."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

from gitreg.documents.names import shown
from gitreg.errors import InvalidDocumentError

KINDS = ("RegistryConfig", "Model", "ModelVersion", "StagePointer", "RegistryExport", "Run", "Usage")


def schema_text(kind: str) -> str:
    return (resources.files("gitreg") / "schemas" / f"{kind}.schema.json").read_text("utf-8")


# Schemas refer to each other by file name ("Model.schema.json"), so any
# standard tool resolves them beside the file (check-jsonschema
# --schemafile schemas/RegistryExport.schema.json). In memory they sit
# under one base URI, which no reference ever leaves.
_BASE = "https://schemas.gitreg.invalid/v1/"


def _loaded(kind: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(schema_text(kind))
    return {"$id": f"{_BASE}{kind}.schema.json"} | doc


def _referenced(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The schemas ``kind`` refers to, by URI (an export: the other kinds)."""
    others = [k for k in KINDS if k != kind] if kind == "RegistryExport" else []
    return [(f"{_BASE}{k}.schema.json", _loaded(k)) for k in others]


@functools.cache
def _ecma(pattern: str) -> re.Pattern[str]:
    """A JSON Schema (ECMA-262) pattern for Python's re: ``$`` is the end of
    the text there, while Python's ``$`` also matches before a final newline
    (so ``^[a-z]+$`` would accept "fraud\\n")."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _validator(kind: str) -> Any:
    """The reference validator (python-jsonschema, with ECMA-262 ``$`` in
    patterns): the judge, and the source of every error message."""
    from jsonschema import Draft202012Validator, validators
    from referencing import Registry, Resource

    strict = validators.extend(Draft202012Validator, {"pattern": _pattern})
    known: Any = Registry().with_resources((uri, Resource.from_contents(doc)) for uri, doc in _referenced(kind))
    return strict(_loaded(kind), registry=known)


@functools.cache
def _fast(kind: str) -> Any:
    """A compiled validator (jsonschema-rs, about 60x faster) that may only
    say yes: a document it rejects goes to the reference validator, which
    decides and explains. Formats are annotations in both, as 2020-12 says."""
    import jsonschema_rs

    known = jsonschema_rs.Registry(_referenced(kind))
    return jsonschema_rs.Draft202012Validator(_loaded(kind), registry=known, validate_formats=False, offline=True)


def fast_accepts(doc: Any, kind: str) -> bool:
    """True when the compiled validator accepts ``doc``; False when it
    rejects it or cannot read a value even as plain JSON."""
    try:
        return bool(_fast(kind).is_valid(doc))
    except ValueError:  # a str subclass (a quoted version), say: read it as plain JSON
        pass
    try:
        return bool(_fast(kind).is_valid(json.loads(json.dumps(doc))))
    except (TypeError, ValueError):
        return False


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _describe(error: Any) -> str:
    """The fault in one short line: a long value is shown by its start and
    its size, never whole (a 50,000-character text must not fill the error)."""
    value = shown(error.instance, 80)
    if error.validator == "pattern":
        hint = error.schema.get("description") or f"pattern {error.validator_value}"
        return f"{value} is not allowed here: {hint}"
    if error.validator == "maxLength":
        return f"{value} is too long: {len(error.instance):,} characters, at most {error.validator_value:,}"
    if error.validator == "maxProperties":
        return f"{len(error.instance):,} entries, at most {error.validator_value:,}"
    message = str(error.message)
    return message if len(message) <= 300 else f"{message[:200]}… (fails {error.validator})"


MAX_INT = 10**300  # integers beyond this no reader can turn into a float (and compare, subtract, print)


def _unreadable(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Numbers no reader may meet: NaN, infinity, integers beyond 1e300.
    (Exact type tests: this runs for every node of every document checked.)"""
    kind = type(value)
    if kind is float and not math.isfinite(value):
        yield path, "NaN and infinity are not allowed"
    elif kind is int and not -MAX_INT <= value <= MAX_INT:
        yield path, f"an integer of {len(str(abs(value)))} digits is out of range (at most 1e300 in magnitude)"
    elif kind is dict:
        for key, item in value.items():
            yield from _unreadable(item, (*path, key))
    elif kind is list:
        for index, item in enumerate(value):
            yield from _unreadable(item, (*path, index))


def validate(doc: Any, kind: str, source: str) -> dict[str, Any]:
    """Check ``doc`` is a ``kind`` document; return it, or raise naming the first fault.

    Beyond the schema: numbers must be finite anywhere in the document (JSON
    Schema cannot say so, and a NaN must never pass a gate), integers are at
    most 1e300 in magnitude (a 400-digit integer breaks every reader that
    turns it into a float), and a version's I/O signature passes
    ``interface.problems`` (unique names, known types).
    """
    if not isinstance(doc, dict):
        raise InvalidDocumentError(f"{source}: expected a mapping at the top level")
    found = doc.get("kind")
    if found != kind:
        raise InvalidDocumentError(f"{source}: /kind: expected {kind!r}, found {found!r}")
    if fast_accepts(doc, kind):
        errors = []
    else:
        errors = sorted(_validator(kind).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidDocumentError(f"{source}: {_pointer(first.absolute_path)}: {_describe(first)}{more}")
    for path, reason in _unreadable(doc):
        raise InvalidDocumentError(f"{source}: {_pointer(path)}: {reason}")
    if kind == "ModelVersion" and "signature" in doc:
        from gitreg.documents import interface

        example = doc.get("input_example")
        interface.check(doc["signature"], source, example.get("inputs", []) if example is not None else None)
    return doc
