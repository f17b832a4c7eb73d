"""What a dataset's bytes say, computed at registration: the format, size and
file count always; for CSV, TSV and Parquet also the rows and each column's
type and fraction of missing values (``data`` in a dataset version). A
declared schema (``--schema``) is read here and the data checked against it.

CSV and TSV are read with the standard library, one row at a time, so a
file of any size takes constant memory. Parquet needs pyarrow (the ``data``
extra): rows and types come from the file's footer, missing values from
its column statistics, reading a column only where a row group has none.
Metadata is best effort: a file that cannot be read as its extension says
leaves a note and the format ``files`` (the bytes are registered all the
same), unless a schema was declared, which must then be checked.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitreg.documents import inputs
from gitreg.documents.names import shown
from gitreg.errors import UsageError

TYPES = ("integer", "double", "boolean", "string", "datetime", "date", "binary", "other")
FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
MAX_COLUMNS = 4096  # the schema's limit; a wider table records no columns
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "nil", "#n/a"})
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?inf(?:inity)?", re.IGNORECASE)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_BOOLEAN = frozenset({"true", "false"})
# two types seen in one column make the wider one; anything else is text
_WIDER = {
    frozenset({"integer", "double"}): "double",
    frozenset({"date", "datetime"}): "datetime",
}


@dataclass
class _Column:
    name: str
    type: str | None = None  # None: no value seen yet
    missing: int = 0


@dataclass(frozen=True)
class Computed:
    """A dataset's metadata (the manifest's ``data``) and what could not be read."""

    data: dict[str, Any]
    notes: tuple[str, ...] = ()


@dataclass
class _Table:
    rows: int = 0
    columns: list[_Column] = field(default_factory=list)


def _value_type(value: str) -> str:
    if _INTEGER.fullmatch(value):
        return "integer"
    if _DOUBLE.fullmatch(value):
        return "double"
    if value.lower() in _BOOLEAN:
        return "boolean"
    if _DATE.fullmatch(value):
        return "date"
    if _DATETIME.fullmatch(value):
        return "datetime"
    return "string"


def _merge(seen: str | None, new: str) -> str:
    if seen is None or seen == new:
        return new
    return _WIDER.get(frozenset({seen, new}), "string")


def _read_delimited(path: Path, delimiter: str) -> _Table:
    """Rows and column types of a CSV/TSV file (a header row first), one
    row in memory at a time."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return _Table()
        if len(header) > MAX_COLUMNS:
            raise ValueError(f"{len(header):,} columns, more than {MAX_COLUMNS:,}")
        columns = [_Column(name) for name in header]
        table = _Table(columns=columns)
        for row in reader:
            if not row:
                continue  # a blank line is no record
            table.rows += 1
            for index, column in enumerate(columns):
                value = row[index].strip() if index < len(row) else ""
                if value.lower() in _MISSING:
                    column.missing += 1
                else:
                    column.type = _merge(column.type, _value_type(value))
        return table


def _arrow_type(kind: Any) -> str:
    import pyarrow as pa

    checks = (
        (pa.types.is_integer, "integer"),
        (pa.types.is_floating, "double"),
        (pa.types.is_decimal, "double"),
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_string, "string"),
        (pa.types.is_large_string, "string"),
        (pa.types.is_timestamp, "datetime"),
        (pa.types.is_date, "date"),
        (pa.types.is_binary, "binary"),
        (pa.types.is_large_binary, "binary"),
    )
    return next((name for check, name in checks if check(kind)), "other")


def _read_parquet(path: Path) -> _Table:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        meta = parquet.metadata
        schema = parquet.schema_arrow
        if len(schema) > MAX_COLUMNS:
            raise ValueError(f"{len(schema):,} columns, more than {MAX_COLUMNS:,}")
        table = _Table(rows=meta.num_rows)
        leaves = {parquet.schema.column(i).path: i for i in range(meta.num_columns)}
        for item in schema:
            column = _Column(item.name, _arrow_type(item.type))
            leaf = leaves.get(item.name)
            counts = []
            if leaf is not None:
                for group in range(meta.num_row_groups):
                    stats = meta.row_group(group).column(leaf).statistics
                    counts.append(stats.null_count if stats is not None and stats.has_null_count else None)
            if leaf is not None and None not in counts:
                column.missing = sum(c for c in counts if c is not None)
            else:  # no statistics (or a nested column): count by reading the column
                column.missing = parquet.read(columns=[item.name]).column(0).null_count
            table.columns.append(column)
        return table


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file())


def _format_of(files: Sequence[Path]) -> str:
    found = {FORMATS.get(p.suffix.lower(), "files") for p in files}
    return found.pop() if len(found) == 1 else "files"


def _read(path: Path, form: str) -> _Table:
    if form == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise LookupError("Parquet's rows and columns need pyarrow: pip install 'gitreg[data]'") from None
        return _read_parquet(path)
    return _read_delimited(path, "\t" if form == "tsv" else ",")


def compute(artifact: Path) -> Computed:
    """The metadata of a dataset file or folder. A folder of files of one
    tabular format with the same columns counts as one table."""
    files = _files(artifact)
    data: dict[str, Any] = {"format": _format_of(files), "size": sum(p.stat().st_size for p in files)}
    data["files"] = len(files)
    if data["format"] == "files":
        return Computed(data)
    total: _Table | None = None
    for path in files:
        where = path.name if artifact.is_file() else path.relative_to(artifact).as_posix()
        try:
            table = _read(path, data["format"])
        except LookupError as exc:
            return Computed(data, (str(exc),))
        except (ValueError, UnicodeDecodeError, csv.Error, OSError) as exc:
            return Computed(data | {"format": "files"}, (f"{where} is not readable as {data['format']}: {exc}",))
        except Exception as exc:  # pyarrow's own errors (ArrowInvalid, ...) are not importable without it
            if type(exc).__module__.startswith("pyarrow"):
                return Computed(data | {"format": "files"}, (f"{where} is not readable as Parquet: {exc}",))
            raise
        if total is None:
            total = table
            continue
        if [c.name for c in table.columns] != [c.name for c in total.columns]:
            note = f"{where} has other columns than the folder's first file, so the folder counts as files"
            return Computed(data | {"format": "files"}, (note,))
        total.rows += table.rows
        for mine, theirs in zip(total.columns, table.columns, strict=True):
            mine.missing += theirs.missing
            mine.type = mine.type if theirs.type is None else _merge(mine.type, theirs.type)
    if total is None:  # a folder's files are never none here; kept for the type checker
        return Computed(data)
    data["rows"] = total.rows
    data["columns"] = [
        {"name": c.name, "type": c.type or "string", "nulls": _fraction(c.missing, total.rows)} for c in total.columns
    ]
    return Computed(data)


def _fraction(missing: int, rows: int) -> float:
    return 0.0 if rows == 0 else round(missing / rows, 6)


# -- a declared schema ------------------------------------------------------------

# Frictionless Table Schema's type names, for a schema written in that form
_FRICTIONLESS = {
    "string": "string",
    "integer": "integer",
    "number": "double",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "any": "any",
}


def read_schema(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A declared schema from a JSON or YAML file: ``columns:`` as a list of
    ``{name, type, nullable}`` or a mapping of name to type, or a
    Frictionless Table Schema (``fields:`` with ``constraints.required``).
    Returns the manifest's form, ``{"columns": [...]}``."""
    try:
        doc = inputs.read_mapping_file(path, "dataset schema")
    except UsageError as exc:
        text = str(exc)
        raise UsageError(text if text.startswith("dataset schema") else f"dataset schema {text}") from None
    return parse_schema(doc, str(path))


def parse_schema(doc: Any, source: str) -> dict[str, Any]:
    where = f"dataset schema {shown(source)}"
    if not isinstance(doc, Mapping) or ("columns" in doc) == ("fields" in doc):
        raise UsageError(f"{where}: expected a mapping with 'columns' (or a Table Schema's 'fields')")
    given = doc.get("columns", doc.get("fields"))
    if isinstance(given, Mapping) and "columns" in doc:
        given = [{"name": name, "type": kind} for name, kind in given.items()]
    if not isinstance(given, list) or not given:
        raise UsageError(f"{where}: its columns must be a non-empty list (or a mapping of name to type)")
    if len(given) > MAX_COLUMNS:
        raise UsageError(f"{where}: {len(given):,} columns, more than {MAX_COLUMNS:,}")
    columns = []
    for index, item in enumerate(given):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise UsageError(f"{where}: column {index + 1} needs a name")
        name = item["name"]
        if len(name) > 1024:
            raise UsageError(f"{where}: column name {shown(name)} is longer than 1,024 characters")
        kind = item.get("type", "any")
        if "fields" in doc:
            kind = _FRICTIONLESS.get(kind, kind) if isinstance(kind, str) else kind
        if kind not in (*TYPES, "any"):
            choices = ", ".join((*TYPES, "any"))
            raise UsageError(f"{where}: column {shown(name)} has type {shown(kind)}: use one of {choices}")
        column: dict[str, Any] = {"name": name, "type": kind}
        nullable = item.get("nullable")
        constraints = item.get("constraints")
        if isinstance(constraints, Mapping) and constraints.get("required") is True:
            nullable = False
        if nullable is not None:
            if not isinstance(nullable, bool):
                raise UsageError(f"{where}: column {shown(name)}: nullable must be true or false")
            column["nullable"] = nullable
        columns.append(column)
    names = [c["name"] for c in columns]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"{where}: column {shown(twice)} is declared twice")
    return {"columns": columns}


def _fits(declared: str, found: str, form: str) -> bool:
    if declared in ("any", found):
        return True
    if declared == "double" and found == "integer":
        return True
    if declared == "datetime" and found == "date":
        return True
    return declared == "string" and form in ("csv", "tsv")  # every CSV value is text


def misfits(data: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """How computed metadata breaks a declared schema (empty: it fits)."""
    if "columns" not in data:
        return [f"its {data.get('format', 'files')} data has no columns to check against a schema"]
    found = {c["name"]: c for c in data["columns"]}
    problems = []
    for column in schema["columns"]:
        name = column["name"]
        seen = found.get(name)
        if seen is None:
            problems.append(f"column {shown(name)} is missing")
            continue
        if data["rows"] and not _fits(column["type"], seen["type"], data["format"]):
            problems.append(f"column {shown(name)} holds {seen['type']} values, the schema says {column['type']}")
        if column.get("nullable") is False and seen["nulls"] > 0:
            share = f"{seen['nulls']:.2%}"
            problems.append(f"column {shown(name)} has missing values ({share}), the schema says nullable: false")
    return problems


def describe(data: Mapping[str, Any]) -> Iterator[str]:
    """Lines a person reads: the format, size and files, rows, then each column."""
    size = data.get("size", 0)
    yield f"{data.get('format')}, {_size(size)} in {data.get('files', 0):,} file(s)" + (
        f", {data['rows']:,} rows" if "rows" in data else ""
    )
    for column in data.get("columns", ()):
        nulls = column["nulls"]
        yield f"  {column['name']}: {column['type']}" + (f" ({nulls:.1%} missing)" if nulls else "")


def _size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} bytes"
