"""A model's interface: the I/O signature a version declares (what it takes
and what it returns), read from gitreg's form or MLflow's, checked, and
compared between versions (a change callers would break on).

In a manifest, ``signature`` holds ``inputs`` and ``outputs`` (lists of
specs) and optionally ``params`` (inference parameters). A spec with a
``shape`` is a tensor (a NumPy dtype; ``null`` for a dimension of any
size); one without is a column (an MLflow column type). A column is
required unless it says ``required: false``; ``array``, ``object`` and
``map`` columns keep MLflow's description of their items in ``spec`` (JSON text).

Readers take that form, or MLflow's: an ``MLmodel`` file, its
``signature:`` mapping (inputs and outputs as JSON text, as
``ModelSignature.to_dict()`` writes them), or lists of MLflow specs
(``{"type": "double", "name": "x"}``, ``{"type": "tensor", "tensor-spec":
{"dtype": "float32", "shape": [-1, 4]}}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitreg.documents.names import shown
from gitreg.errors import InvalidDocumentError

COLUMN_TYPES = ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime", "any")
NESTED_TYPES = ("array", "object", "map")  # columns whose items MLflow describes further (kept in ``spec``)
_TENSOR_DTYPE = re.compile(r"[<>|=]?[A-Za-z][A-Za-z0-9_]{0,23}(\[[A-Za-z0-9]{1,8}\])?")
PARTS = ("inputs", "outputs")
_SPEC_KEYS = frozenset({"name", "dtype", "shape", "required", "spec"})
_PARAM_KEYS = frozenset({"name", "dtype", "default", "shape"})


class SignatureError(ValueError):
    """A signature that is not one gitreg reads (the message says where)."""


def read(doc: Any) -> dict[str, Any]:
    """The manifest form of a signature given in gitreg's or MLflow's form
    (a whole MLmodel file or manifest too: its ``signature`` is read)."""
    if isinstance(doc, Mapping) and isinstance(doc.get("signature"), Mapping):
        doc = doc["signature"]
    if not isinstance(doc, Mapping):
        raise SignatureError(f"expected a mapping with inputs and outputs, found {type(doc).__name__}")
    unknown = sorted(str(k) for k in doc if k not in (*PARTS, "params"))
    if unknown:
        raise SignatureError(f"unknown key {shown(unknown[0])}: a signature has inputs, outputs and params")
    found: dict[str, Any] = {}
    for part in PARTS:
        specs = _listed(doc.get(part), part)
        if specs:
            found[part] = [_spec(spec, part, index) for index, spec in enumerate(specs)]
    params = _listed(doc.get("params"), "params")
    if params:
        found["params"] = [_param(spec, index) for index, spec in enumerate(params)]
    if not found.get("inputs") and not found.get("outputs"):
        raise SignatureError("the signature declares no inputs and no outputs")
    for where, message in problems(found):
        raise SignatureError(f"{where}: {message}")
    return found


def _listed(value: Any, part: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):  # MLflow writes each part as JSON text
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise SignatureError(f"{part}: not JSON ({_why(exc)})") from None
        if value is None:
            return []
    if not isinstance(value, list):
        raise SignatureError(f"{part}: expected a list of specs, found {type(value).__name__}")
    return value


def _spec(raw: Any, part: str, index: int) -> dict[str, Any]:
    where = f"{part}/{index}"
    if not isinstance(raw, Mapping):
        raise SignatureError(f"{where}: expected a mapping, found {type(raw).__name__}")
    name = raw.get("name", str(index))
    if not isinstance(name, str) or not name or len(name) > 255:
        raise SignatureError(f"{where}: name {shown(name)} is not a name of 1 to 255 characters")
    if "type" in raw:  # MLflow's form
        kind = raw["type"]
        if kind == "tensor":
            tensor = raw.get("tensor-spec")
            if not isinstance(tensor, Mapping) or "dtype" not in tensor:
                raise SignatureError(f"{where}: a tensor spec needs tensor-spec with dtype and shape")
            spec: dict[str, Any] = {"name": name, "dtype": tensor["dtype"], "shape": _shape(tensor.get("shape"), where)}
        else:
            spec = {"name": name, "dtype": kind}
            nested = {k: v for k, v in raw.items() if k not in ("type", "name", "required")}
            if nested:
                spec["spec"] = json.dumps(nested, sort_keys=True, separators=(",", ":"))
    else:
        unknown = sorted(str(k) for k in raw if k not in _SPEC_KEYS)
        if unknown:
            raise SignatureError(f"{where}: unknown key {shown(unknown[0])}")
        if "dtype" not in raw:
            raise SignatureError(f"{where}: a spec needs a dtype (or MLflow's type)")
        spec = {"name": name, "dtype": raw["dtype"]}
        if "shape" in raw:
            spec["shape"] = _shape(raw["shape"], where)
        if "spec" in raw:
            spec["spec"] = _nested(raw["spec"], where)
    if not isinstance(spec["dtype"], str) or not 0 < len(spec["dtype"]) <= 64:
        raise SignatureError(f"{where}: type {shown(spec['dtype'])} is not a type name")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise SignatureError(f"{where}: required must be true or false, found {shown(required)}")
    if not required:
        spec["required"] = False
    return spec


def _why(exc: Exception) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)


def _nested(value: Any, where: str) -> str:
    """A nested type's description as canonical JSON text."""
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
        if not isinstance(parsed, Mapping):
            raise ValueError("not a mapping")
        return json.dumps(parsed, sort_keys=True, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError) as exc:
        raise SignatureError(f"{where}: spec is not MLflow's JSON for a nested type ({_why(exc)})") from None


def _shape(value: Any, where: str) -> list[int | None]:
    if not isinstance(value, list | tuple):
        raise SignatureError(f"{where}: a tensor's shape is a list of sizes (-1 or null: any), found {shown(value)}")
    shape: list[int | None] = []
    for size in value:
        if size is None or size == -1:
            shape.append(None)
        elif isinstance(size, int) and not isinstance(size, bool) and 0 <= size < 2**63:
            shape.append(size)
        else:
            raise SignatureError(f"{where}: shape size {shown(size)} is not a size (-1 or null: any)")
    return shape


def _param(raw: Any, index: int) -> dict[str, Any]:
    where = f"params/{index}"
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise SignatureError(f"{where}: a param is a mapping with a name")
    dtype = raw.get("dtype", raw.get("type"))
    if not isinstance(dtype, str):
        raise SignatureError(f"{where}: a param needs a dtype (or MLflow's type)")
    param: dict[str, Any] = {"name": raw["name"], "dtype": dtype}
    if raw.get("default") is not None:
        param["default"] = json.loads(json.dumps(raw["default"]))
    if raw.get("shape") is not None:
        param["shape"] = _shape(raw["shape"], where)
    unknown = sorted(str(k) for k in raw if k not in _PARAM_KEYS | {"type"})
    if unknown:
        raise SignatureError(f"{where}: unknown key {shown(unknown[0])}")
    return param


def is_tensor(spec: Mapping[str, Any]) -> bool:
    return "shape" in spec


def problems(signature: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the JSON Schema cannot say about a signature, as (JSON pointer
    below the signature, message): names unique within a part, types
    gitreg knows, and a part either all columns or all tensors."""
    found: list[tuple[str, str]] = []
    for part in (*PARTS, "params"):
        specs = signature.get(part) or ()
        seen: set[str] = set()
        for index, spec in enumerate(specs):
            where = f"{part}/{index}"
            if spec["name"] in seen:
                found.append((where, f"name {shown(spec['name'])} appears twice in {part}"))
            seen.add(spec["name"])
            dtype = spec["dtype"]
            if part != "params" and is_tensor(spec):
                if not _TENSOR_DTYPE.fullmatch(dtype):
                    found.append((where, f"tensor dtype {shown(dtype)} is not a NumPy dtype name"))
            elif dtype not in (*COLUMN_TYPES, *NESTED_TYPES):
                found.append((where, f"type {shown(dtype)} is not one of {', '.join((*COLUMN_TYPES, *NESTED_TYPES))}"))
            elif "spec" in spec and dtype not in NESTED_TYPES:
                found.append((where, f"spec is only for {', '.join(NESTED_TYPES)} columns, not {dtype}"))
        if part != "params" and len({is_tensor(s) for s in specs}) > 1:
            found.append((part, f"{part} mixes columns and tensors"))
    return found


def check(signature: Mapping[str, Any], source: str, example_inputs: Sequence[str] | None = None) -> None:
    """Raise for the first of ``problems`` (a document that fails them is
    invalid), or when the input example's recorded ``example_inputs`` (None:
    no example) do not fit the signature's inputs."""
    for where, message in problems(signature):
        raise InvalidDocumentError(f"{source}: /signature/{where}: {message}")
    for message in names_misfit(example_inputs, signature) if example_inputs is not None else ():
        raise InvalidDocumentError(f"{source}: /input_example/inputs: {message}")


def names_misfit(names: Sequence[str], signature: Mapping[str, Any]) -> list[str]:
    """How an example holding ``names`` (none: one unnamed tensor) misses
    the signature's inputs: a name it does not take, a required one absent."""
    specs = list(signature.get("inputs") or ())
    if not specs:
        return []
    if not names:
        one = len(specs) == 1
        return [] if one else [f"the example is one unnamed tensor; the signature takes {len(specs)} inputs"]
    wanted = {s["name"]: s for s in specs}
    found = [f"the example has {shown(n)}, which the signature does not take" for n in names if n not in wanted]
    given = set(names)
    found += [
        f"the example lacks required input {shown(n)}"
        for n, s in wanted.items()
        if n not in given and s.get("required", True)
    ]
    return found


def describe(spec: Mapping[str, Any]) -> str:
    """A spec in a few words: ``double``, ``float32[?,4]``, ``string (optional)``."""
    text = str(spec["dtype"])
    if is_tensor(spec):
        text += "[" + ",".join("?" if n is None else str(n) for n in spec["shape"]) + "]"
    return text + ("" if spec.get("required", True) else " (optional)")


@dataclass(frozen=True)
class Change:
    """One difference between two versions' signatures."""

    part: str  # inputs | outputs | params
    name: str
    before: str | None  # ``describe`` of the spec, None: not there
    after: str | None
    breaking: bool  # a caller of the earlier version may fail on the later

    def text(self) -> str:
        if self.before is None:
            return f"{self.part} {self.name!r} added: {self.after}"
        if self.after is None:
            return f"{self.part} {self.name!r} dropped (was {self.before})"
        return f"{self.part} {self.name!r}: {self.before} -> {self.after}"


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Change]:
    """How ``after``'s signature differs from ``before``'s. An input
    change breaks callers when an input they sent is dropped, retyped or
    narrowed, or a new input is required; an output change when an output
    they read is dropped or retyped."""
    found: list[Change] = []
    for part in (*PARTS, "params"):
        old = {s["name"]: s for s in (before or {}).get(part) or ()}
        new = {s["name"]: s for s in (after or {}).get(part) or ()}
        for name, spec in old.items():
            if name not in new:
                found.append(Change(part, name, describe(spec), None, part != "params"))
            elif _typed(spec) != _typed(new[name]) or spec.get("required", True) != new[name].get("required", True):
                found.append(Change(part, name, describe(spec), describe(new[name]), _breaks(part, spec, new[name])))
        for name, spec in new.items():
            if name not in old:
                found.append(Change(part, name, None, describe(spec), part == "inputs" and spec.get("required", True)))
    return found


def _typed(spec: Mapping[str, Any]) -> tuple[Any, ...]:
    return spec["dtype"], spec.get("shape"), spec.get("spec")


def _breaks(part: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    if part == "params":
        return bool(old["dtype"] != new["dtype"])
    if old["dtype"] != new["dtype"] or is_tensor(old) != is_tensor(new) or old.get("spec") != new.get("spec"):
        return True
    if part == "inputs" and new.get("required", True) and not old.get("required", True):
        return True  # callers that left it out now fail
    if is_tensor(old):
        return not _shape_accepts(new["shape"], old["shape"]) if part == "inputs" else old["shape"] != new["shape"]
    return False


def _shape_accepts(accepting: Sequence[int | None], given: Sequence[int | None]) -> bool:
    """Whether every tensor of shape ``given`` fits ``accepting``."""
    return len(accepting) == len(given) and all(a is None or a == g for a, g in zip(accepting, given, strict=True))


def incompatible(holder: Mapping[str, Any] | None, candidate: Mapping[str, Any] | None) -> list[str]:
    """Why requests the holder's input schema accepted could fail on the
    candidate's (empty: none could). A holder without inputs sets no bar;
    a candidate without them accepts nothing declared."""
    if not (holder or {}).get("inputs"):
        return []
    if not (candidate or {}).get("inputs"):
        return ["the candidate declares no input schema"]
    return [c.text() for c in changes(holder, candidate) if c.part == "inputs" and c.breaking]
