"""Input examples: a small file of what a model takes, stored beside the
artifact. Read from a file (JSON in MLflow's serving forms, CSV, or NumPy's
``.npy``/``.npz``, never with pickle) or made from a Python object (a pandas
DataFrame, a NumPy array, a dict of arrays); checked against the version's
signature; loaded back as objects; and the source of an inferred signature.

NumPy and pandas are optional (``pip install 'gitreg[infer]'``): they are
imported only for the formats and objects that need them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitreg.documents import interface
from gitreg.documents.names import shown
from gitreg.errors import UsageError

FORMATS = ("json", "csv", "npy", "npz")
MAX_BYTES = 10 * 1024 * 1024  # an example is small: the model is the artifact
MAX_LOADED = 256 * 1024 * 1024  # what an .npz may unpack to when loaded
MAX_INPUTS = 4096  # columns or named tensors (the manifest's limit)
_NO_NAME = ""  # the name of a single unnamed tensor


@dataclass(frozen=True)
class Example:
    """An input example's bytes, format and what they hold: columns (named,
    with ``rows`` rows) or tensors (named, or one unnamed: ``""``)."""

    data: bytes
    format: str
    kind: str  # columns | tensors
    shapes: Mapping[str, tuple[int, ...]]  # each name's shape (columns: (rows,))
    rows: int | None

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(n for n in self.shapes if n != _NO_NAME)

    @property
    def file_name(self) -> str:
        return f"input_example.{self.format}"


def _needs(module: str, why: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"{why} needs {module}: pip install 'gitreg[infer]'") from None


# -- reading ---------------------------------------------------------------------


def read_file(path: str | os.PathLike[str]) -> Example:
    """The example in a file, its format told by the extension."""
    from gitreg.documents.inputs import read_bytes_file

    file = Path(path)
    fmt = file.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"input example {file}: use a .json, .csv, .npy or .npz file")
    if file.is_file() and file.stat().st_size > MAX_BYTES:
        raise UsageError(f"input example {file} is over {MAX_BYTES // 2**20} MiB: an example is a few rows")
    return parse(read_bytes_file(file, "input example"), fmt, str(file))


def parse(data: bytes, fmt: str, source: str) -> Example:
    """Read an example's bytes (raises UsageError naming what is wrong)."""
    if len(data) > MAX_BYTES:
        raise UsageError(f"input example {source} is over {MAX_BYTES // 2**20} MiB: an example is a few rows")
    try:
        kind, shapes, rows = {"json": _json_shapes, "csv": _csv_shapes, "npy": _npy_shapes, "npz": _npz_shapes}[fmt](
            data
        )
    except RecursionError:
        raise UsageError(f"input example {source}: nested too deeply") from None
    except (ValueError, KeyError, TypeError, OSError, csv.Error, zipfile.BadZipFile) as exc:
        raise UsageError(f"input example {source}: not a {fmt} example ({exc})") from None
    if not shapes:
        raise UsageError(f"input example {source} holds no inputs")
    if len(shapes) > MAX_INPUTS or any(len(name) > 255 for name in shapes):
        raise UsageError(f"input example {source}: more than {MAX_INPUTS} inputs, or a name over 255 characters")
    return Example(data, fmt, kind, shapes, rows)


def _unwrapped(doc: Any) -> tuple[str, Any]:
    """MLflow's serving wrapper taken off a JSON example: ("frame" for
    ``dataframe_split``/``dataframe_records``, "tensors" for
    ``inputs``/``instances``, "" for none) and what it wraps."""
    if isinstance(doc, dict) and len(doc) == 1:
        ((key, value),) = doc.items()
        if key in ("dataframe_split", "dataframe_records"):
            return "frame", value
        if key in ("inputs", "instances"):
            return "tensors", value
    return "", doc


def _json_shapes(data: bytes) -> tuple[str, dict[str, tuple[int, ...]], int | None]:
    wrapper, doc = _unwrapped(json.loads(data.decode("utf-8")))
    if wrapper == "tensors":
        return _tensor_shapes(doc)
    if isinstance(doc, dict) and "columns" in doc and "data" in doc:
        columns, rows = doc["columns"], doc["data"]
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ValueError("columns must be a list of names")
        if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) != len(columns) for r in rows):
            raise ValueError(f"each row of data must list {len(columns)} values")
        return "columns", {c: (len(rows),) for c in columns}, len(rows)
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        names = list(dict.fromkeys(str(k) for r in doc for k in r))
        return "columns", {n: (len(doc),) for n in names}, len(doc)
    return _tensor_shapes(doc)


def _tensor_shapes(value: Any) -> tuple[str, dict[str, tuple[int, ...]], int | None]:
    if isinstance(value, dict):
        shapes = {str(k): _nested_shape(v, str(k)) for k, v in value.items()}
    else:
        shapes = {_NO_NAME: _nested_shape(value, "the tensor")}
    first = next(iter(shapes.values()), ())
    return "tensors", shapes, first[0] if first else None


def _nested_shape(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    inner = {_nested_shape(item, name) for item in value}
    if len(inner) > 1:
        raise ValueError(f"{name} is ragged: its rows differ in shape")
    return (len(value), *(inner.pop() if inner else ()))


def _csv_shapes(data: bytes) -> tuple[str, dict[str, tuple[int, ...]], int | None]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    if not rows or not rows[0]:
        raise ValueError("no header row")
    header = rows[0]
    if len(set(header)) != len(header):
        raise ValueError("a column name appears twice")
    body = [r for r in rows[1:] if r]
    if any(len(r) != len(header) for r in body):
        raise ValueError(f"each row must have {len(header)} fields")
    return "columns", {c: (len(body),) for c in header}, len(body)


def _header(stream: Any) -> tuple[tuple[int, ...], Any]:
    np = _needs("numpy", "a .npy or .npz input example")
    major, _ = np.lib.format.read_magic(stream)
    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(stream, max_header_size=10000)
    if dtype.hasobject:
        raise ValueError("it holds Python objects (pickled): save numbers or strings")
    return tuple(shape), dtype


def _npy_shapes(data: bytes) -> tuple[str, dict[str, tuple[int, ...]], int | None]:
    shape, _ = _header(io.BytesIO(data))
    return "tensors", {_NO_NAME: shape}, shape[0] if shape else None


def _npz_shapes(data: bytes) -> tuple[str, dict[str, tuple[int, ...]], int | None]:
    shapes: dict[str, tuple[int, ...]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(i.file_size for i in archive.infolist()) > MAX_LOADED:
            raise ValueError(f"it unpacks to more than {MAX_LOADED // 2**20} MiB")
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise ValueError(f"member {shown(info.filename)} is not an array")
            with archive.open(info) as stream:
                shapes[info.filename.removesuffix(".npy")] = _header(stream)[0]
    first = next(iter(shapes.values()), ())
    return "tensors", shapes, first[0] if first else None


# -- checking against a signature --------------------------------------------------


def misfits(example: Example, signature: Mapping[str, Any] | None) -> list[str]:
    """How the example does not fit the signature's inputs (none: it fits,
    or there is no input schema to fit)."""
    specs = list((signature or {}).get("inputs") or ())
    found = interface.names_misfit(example.inputs, signature or {})
    if found or not specs:
        return found
    if _NO_NAME in example.shapes:
        return _shape_misfit(specs[0], example.shapes[_NO_NAME])
    return [m for s in specs if s["name"] in example.shapes for m in _shape_misfit(s, example.shapes[s["name"]])]


def _shape_misfit(spec: Mapping[str, Any], shape: Sequence[int]) -> list[str]:
    if not interface.is_tensor(spec):
        return []
    want = spec["shape"]
    if len(want) != len(shape) or any(w is not None and w != s for w, s in zip(want, shape, strict=False)):
        return [f"input {shown(spec['name'])} has shape {list(shape)}, the signature says {interface.describe(spec)}"]
    return []


# -- from Python objects ------------------------------------------------------------


def from_object(value: Any) -> Example:
    """An example made from a DataFrame (JSON, MLflow's split form), an
    array (.npy), a dict of arrays (.npz), or plain JSON values."""
    kind = _module(value)
    if kind == "pandas" and hasattr(value, "to_json") and hasattr(value, "columns"):
        text = value.to_json(orient="split", index=False, date_format="iso")
        doc = json.loads(text)
        return parse(json.dumps({"columns": doc["columns"], "data": doc["data"]}).encode(), "json", "DataFrame")
    if kind == "numpy":
        np = _needs("numpy", "an array example")
        buffer = io.BytesIO()
        np.save(buffer, _array(value, "the example"), allow_pickle=False)
        return parse(buffer.getvalue(), "npy", "array")
    if isinstance(value, Mapping) and value and all(_module(v) == "numpy" for v in value.values()):
        np = _needs("numpy", "a dict-of-arrays example")
        buffer = io.BytesIO()
        np.savez(buffer, **{str(k): _array(v, str(k)) for k, v in value.items()})
        return parse(buffer.getvalue(), "npz", "dict of arrays")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"input example: a {type(value).__name__} is not one gitreg stores ({exc})") from None
    return parse(text.encode(), "json", "value")


def _module(value: Any) -> str:
    """The top package of a value's type: pandas, numpy, builtins, ..."""
    return type(value).__module__.split(".")[0]


def _array(value: Any, name: str) -> Any:
    np = _needs("numpy", "an array example")
    array = np.asarray(value)
    if array.dtype.hasobject:
        raise UsageError(f"input example {name}: an array of Python objects cannot be stored without pickle")
    return array


def infer(input_example: Any, output_example: Any = None) -> dict[str, Any]:
    """A signature inferred from example objects (DataFrame, Series, array,
    dict of arrays), as MLflow infers one: columns from a frame, tensors
    (any number of rows) from arrays."""
    signature = {"inputs": _specs(input_example, "input")}
    if output_example is not None:
        signature["outputs"] = _specs(output_example, "output")
    return interface.read(signature)


def _specs(value: Any, what: str) -> list[dict[str, Any]]:
    module = _module(value)
    if module == "pandas" and hasattr(value, "dtypes"):
        frame = value.to_frame() if not hasattr(value, "columns") else value
        return [_column(str(name), frame[name]) for name in frame.columns]
    if isinstance(value, Mapping) and value:
        return [_tensor(str(k), v) for k, v in value.items()]
    if module == "numpy" or isinstance(value, list):
        return [_tensor("0", value)]
    raise UsageError(f"cannot infer a signature from a {type(value).__name__} {what} example")


def _column(name: str, series: Any) -> dict[str, Any]:
    from pandas.api import types

    dtype = series.dtype
    values = series.dropna()
    if types.is_bool_dtype(dtype):
        mlflow_type = "boolean"
    elif types.is_integer_dtype(dtype):
        mlflow_type = "long" if dtype.itemsize >= 8 or (dtype.kind == "u" and dtype.itemsize >= 4) else "integer"
    elif types.is_float_dtype(dtype):
        mlflow_type = "float" if dtype.itemsize == 4 else "double"
    elif types.is_datetime64_any_dtype(dtype):
        mlflow_type = "datetime"
    elif all(isinstance(v, bytes) for v in values) and len(values):
        mlflow_type = "binary"
    elif types.is_string_dtype(dtype) and all(isinstance(v, str) for v in values):
        mlflow_type = "string"
    else:
        raise UsageError(f"cannot infer a type for column {shown(name)} of dtype {dtype}: give signature=")
    spec: dict[str, Any] = {"name": name, "dtype": mlflow_type}
    if bool(series.isna().any()):
        spec["required"] = False
    return spec


def _tensor(name: str, value: Any) -> dict[str, Any]:
    array = _array(value, name)
    return {"name": name, "dtype": array.dtype.name, "shape": [None, *array.shape[1:]] if array.ndim else []}


# -- loading --------------------------------------------------------------------


def load(data: bytes, fmt: str, signature: Mapping[str, Any] | None) -> Any:
    """The example as objects: a DataFrame for columns (with pandas; else a
    dict of lists), arrays for tensors, cast to the signature's dtypes."""
    example = parse(data, fmt, f"input_example.{fmt}")
    specs = {s["name"]: s for s in (signature or {}).get("inputs") or ()}
    if example.kind == "columns":
        if fmt == "csv":  # text: each column read as its signature's type says
            rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
            columns = {n: _typed_column([r[n] for r in rows], specs.get(n)) for n in example.shapes}
        else:
            columns = _json_columns(json.loads(data.decode("utf-8")), list(example.shapes))
        try:
            import pandas
        except ImportError:
            return columns
        return pandas.DataFrame(columns)
    np = _needs("numpy", "loading a tensor example")
    if fmt == "json":
        _, doc = _unwrapped(json.loads(data.decode("utf-8")))
        raw = doc if isinstance(doc, dict) else {_NO_NAME: doc}
        arrays = {k: np.asarray(v) for k, v in raw.items()}
    elif fmt == "npy":
        arrays = {_NO_NAME: np.load(io.BytesIO(data), allow_pickle=False)}
    else:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    if _NO_NAME in arrays:  # one unnamed tensor: the signature's only input
        spec = next(iter(specs.values())) if len(specs) == 1 else None
        return _cast(arrays[_NO_NAME], spec)
    return {k: _cast(a, specs.get(k)) for k, a in arrays.items()}


_FROM_TEXT: dict[str, Any] = {
    "double": float,
    "float": float,
    "long": int,
    "integer": int,
    "boolean": lambda text: {"true": True, "false": False}[text.strip().lower()],
}


def _typed_column(values: list[str], spec: Mapping[str, Any] | None) -> list[Any]:
    """A CSV column's text as its column type's values (an empty field: None);
    left as text when a value does not read as that type."""
    read = _FROM_TEXT.get(spec["dtype"]) if spec is not None and not interface.is_tensor(spec) else None
    if read is None:
        return values
    try:
        return [None if v == "" else read(v) for v in values]
    except (ValueError, KeyError):
        return values


def _cast(array: Any, spec: Mapping[str, Any] | None) -> Any:
    """JSON keeps no dtype: an array takes its tensor spec's."""
    return array.astype(spec["dtype"]) if spec is not None and interface.is_tensor(spec) else array


def _json_columns(doc: Any, names: list[str]) -> dict[str, list[Any]]:
    _, doc = _unwrapped(doc)
    if isinstance(doc, dict):
        index = {c: i for i, c in enumerate(doc["columns"])}
        return {n: [row[index[n]] for row in doc["data"]] for n in names}
    return {n: [r.get(n) for r in doc] for n in names}
