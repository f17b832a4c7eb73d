"""Loading a registered model into an object, by a format that runs no code
on load: ONNX (an onnxruntime session with ``predict``), safetensors (a
dict of arrays), JSON and text. Pickle and joblib execute whatever the
file says when read, so they are refused unless the caller passes
``trust_pickle=True``, and even then only after the bytes on disk were
re-hashed against the manifest's SHA-256 (and, where the stage's policy
requires a signature, a signature was verified).

onnxruntime, safetensors and NumPy are optional: ``pip install
'gitreg[onnx]'`` or ``'gitreg[safetensors]'``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitreg.documents.manifest import ModelVersion
from gitreg.errors import UsageError

SAFE = ("onnx", "safetensors", "json", "text")
EXECUTING = ("pickle", "joblib")  # loading runs code from the file
FLAVORS = (*SAFE, *EXECUTING)
_SUFFIXES = {
    ".onnx": "onnx",
    ".safetensors": "safetensors",
    ".json": "json",
    ".txt": "text",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "joblib",
}
_EXTRAS = {"onnx": "onnx", "safetensors": "safetensors", "joblib": "joblib"}


def flavor_of(version: ModelVersion, flavor: str | None) -> str:
    """The format to load ``version`` as: ``flavor`` if given, else told by
    the artifact's name (or, for a folder, by its one kind of model file —
    ONNX, safetensors, pickle, joblib —, else of JSON or text)."""
    if flavor is not None:
        if flavor not in FLAVORS:
            raise UsageError(f"unknown flavor {flavor!r}: use one of {', '.join(FLAVORS)}")
        return flavor
    names = [version.artifact.path] if not version.artifact.is_dir else list(version.artifact.files or ())
    known = {_SUFFIXES[s] for n in names if (s := Path(n).suffix.lower()) in _SUFFIXES}
    weights = known - {"json", "text"}  # beside a model file, JSON and text are its configuration
    if len(weights or known) == 1:
        return (weights or known).pop()
    what = f"{version.model} {version.version} ({version.artifact.path})"
    raise UsageError(f"cannot tell how to load {what}: give flavor= (one of {', '.join(FLAVORS)})")


def refuse_untrusted(version: ModelVersion, flavor: str, trust_pickle: bool) -> None:
    """Refuse a format that executes code on load unless trusted (before
    a byte is downloaded)."""
    if flavor in EXECUTING and not trust_pickle:
        raise UsageError(
            f"{version.model} {version.version} is a {flavor} file: loading it runs code from the artifact; "
            "pass trust_pickle=True only if you trust everyone who can register versions"
        )
    if flavor in EXECUTING and version.artifact.sha256 is None:
        raise UsageError(
            f"{version.model} {version.version} has no SHA-256 in its manifest: a {flavor} file is loaded only "
            "after its bytes are checked against one (register it again)"
        )


def file_to_load(path: Path, flavor: str) -> Path:
    """The file of a (possibly folder) artifact that ``flavor`` reads."""
    if path.is_file():
        return path
    found = sorted(p for p in path.rglob("*") if p.is_file() and _SUFFIXES.get(p.suffix.lower()) == flavor)
    if len(found) != 1:
        raise UsageError(f"the folder {path.name} holds {len(found)} {flavor} files: load one with load_artifact")
    return found[0]


def _module(name: str, flavor: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise UsageError(f"loading a {flavor} model needs {name}: pip install 'gitreg[{_EXTRAS[flavor]}]'") from None


def load(path: Path, flavor: str) -> Any:
    """The object in ``path`` (already verified) for ``flavor``."""
    if flavor == "onnx":
        runtime = _module("onnxruntime", flavor)
        return OnnxModel(runtime.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
    if flavor == "safetensors":
        _module("numpy", flavor)
        return _module("safetensors.numpy", flavor).load_file(str(path))
    if flavor == "json":
        try:
            return json.loads(path.read_bytes().decode("utf-8"))
        except ValueError as exc:
            raise UsageError(f"{path.name} is not JSON: {exc}") from None
    if flavor == "text":
        return path.read_text("utf-8")
    if flavor == "joblib":
        return _module("joblib", flavor).load(path)
    import pickle

    with path.open("rb") as stream:
        return pickle.load(stream)  # noqa: S301 - the caller passed trust_pickle, and the bytes were re-hashed


@dataclass(frozen=True)
class OnnxModel:
    """An ONNX model ready to run: ``predict`` takes an array (for a model
    of one input), a dict of arrays by input name, or a DataFrame (its
    columns by input name, or the whole frame for a model of one input),
    and returns the only output's array, or a dict of them by name."""

    session: Any  # onnxruntime.InferenceSession

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]

    def predict(self, data: Any) -> Any:
        feeds = self._feeds(data)
        outputs = self.session.run(None, feeds)
        if len(outputs) == 1:
            return outputs[0]
        return dict(zip(self.output_names, outputs, strict=True))

    def _feeds(self, data: Any) -> dict[str, Any]:
        import numpy

        inputs = self.session.get_inputs()
        if hasattr(data, "columns") and hasattr(data, "to_numpy"):  # a DataFrame
            if {i.name for i in inputs} <= set(map(str, data.columns)):
                return {i.name: _typed(numpy, data[i.name].to_numpy(), i.type) for i in inputs}
            data = data.to_numpy()
        if isinstance(data, Mapping):
            missing = [i.name for i in inputs if i.name not in data]
            if missing:
                raise UsageError(f"the model needs input {missing[0]!r}, not given")
            return {i.name: _typed(numpy, numpy.asarray(data[i.name]), i.type) for i in inputs}
        if len(inputs) != 1:
            raise UsageError(f"the model takes {len(inputs)} inputs: give a dict of arrays by name")
        return {inputs[0].name: _typed(numpy, numpy.asarray(data), inputs[0].type)}


_ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
}


def _typed(numpy: Any, array: Any, onnx_type: str) -> Any:
    """``array`` as the dtype the ONNX input declares (a JSON example keeps none)."""
    dtype = _ONNX_TYPES.get(onnx_type)
    return array.astype(dtype) if dtype is not None and array.dtype != numpy.dtype(dtype) else array
