"""What users hand to ``register``: metrics, params, metadata and labels, from
files, ``k=v`` pairs or Python mappings, checked into plain values."""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gitreg.documents import yamlio
from gitreg.documents.names import shown
from gitreg.documents.schema import MAX_INT
from gitreg.errors import InvalidDocumentError, UsageError

if TYPE_CHECKING:
    from gitreg.documents.examples import Example

KEY_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$"
_KEY_RE = re.compile(KEY_PATTERN)
_JSON_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
MAX_VALUE_LENGTH = 1024

PathLike = str | os.PathLike[str]


def check_key(key: object, what: str) -> str:
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise UsageError(
            f"invalid {what} name {shown(key)}: use up to 128 ASCII letters, digits, "
            "'_', '.', ':', '/' or '-', starting with a letter, digit or '_'"
        )
    return key


def read_bytes_file(path: PathLike, what: str) -> bytes:
    file = Path(path)
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{what} file {file} does not exist") from None
    except OSError as exc:
        raise UsageError(f"{what} file {file} cannot be read: {exc.strerror}") from exc


def read_text_file(path: PathLike, what: str) -> str:
    try:
        return read_bytes_file(path, what).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{what} file {path} is not UTF-8 text") from None


def read_mapping_file(path: PathLike, what: str) -> dict[str, Any]:
    """A JSON or YAML file whose top level is a mapping (safe-loaded)."""
    file = Path(path)
    data = read_bytes_file(file, what)
    try:
        doc = yamlio.load(data, str(file))
    except InvalidDocumentError as exc:
        raise UsageError(str(exc)) from exc
    if not isinstance(doc, dict):
        raise UsageError(f"{what} file {file}: expected a mapping at the top level, found {type(doc).__name__}")
    return doc


def split_pair(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise UsageError(f"{what} {shown(text)} is not of the form key=value")
    return check_key(key, what), value


def metric_value(name: str, given: object) -> float:
    value = given
    if isinstance(given, str) and given.strip():
        with contextlib.suppress(ValueError):
            value = float(given)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"metric {name!r} must be a number, got {shown(given)}")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise UsageError(f"metric {name!r} is out of range (at most 1e300 in magnitude)")
    if not math.isfinite(value):
        raise UsageError(f"metric {name!r} is {shown(given)}: NaN and infinity are not allowed")
    return value


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one, their keys joined with '.' (``{"train":
    {"loss": 1}}`` is ``{"train.loss": 1}``), as DVC metrics files nest them;
    an empty nested mapping stays a value."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def metrics(value: Mapping[str, Any] | PathLike | None) -> dict[str, float]:
    """Metrics from a mapping or a JSON/YAML file (nested keys flattened with
    '.', as DVC metrics files nest them); numbers may arrive as their text."""
    if value is None:
        return {}
    mapping = value if isinstance(value, Mapping) else read_mapping_file(value, "metrics")
    flat = flatten(mapping).items()
    return {check_key(k, "metric"): metric_value(k, v) for k, v in flat if not (isinstance(v, Mapping) and not v)}


def _check_param(value: Any, where: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"param {where} is {value}: NaN and infinity are not allowed")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise UsageError(f"param {where} is out of range (at most 1e300 in magnitude)")
    if isinstance(value, Mapping):
        return {str(k): _check_param(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_check_param(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise UsageError(f"param {where} has a value of type {type(value).__name__}, which cannot be stored")


def params(value: Mapping[str, Any] | PathLike | None) -> dict[str, Any]:
    if value is None:
        return {}
    mapping = value if isinstance(value, Mapping) else read_mapping_file(value, "params")
    return {check_key(k, "param"): _check_param(v, k) for k, v in mapping.items()}


def scalar(text: str) -> str | int | float | bool:
    """A ``k=v`` value: ``true``/``false`` are booleans, a number is a number
    only when writing it back gives the same text (so ``1.10`` and ``007``
    stay strings), anything else is a string."""
    if text in ("true", "false"):
        return text == "true"
    if _JSON_NUMBER_RE.fullmatch(text):
        number: int | float = int(text) if re.fullmatch(r"-?[0-9]+", text) else float(text)
        if str(number) == text:
            return number
    return text


def _check_text(key: str, value: object, what: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{what} {key!r} must be a string, got {shown(value)}")
    if len(value) > MAX_VALUE_LENGTH:
        raise UsageError(f"{what} {key!r} is longer than {MAX_VALUE_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise UsageError(f"{what} {key!r} contains control characters: {shown(value)}")
    return value


def metadata(value: Mapping[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in (value or {}).items():
        check_key(key, "metadata")
        if isinstance(item, float) and not math.isfinite(item):
            raise UsageError(f"metadata {key!r} is {item}: NaN and infinity are not allowed")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise UsageError(f"metadata {key!r} must be a string, number, boolean or null")
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INT:
            raise UsageError(f"metadata {key!r} is out of range (at most 1e300 in magnitude)")
        result[key] = _check_text(key, item, "metadata") if isinstance(item, str) else item
    return result


def labels(value: Mapping[str, Any] | None) -> dict[str, str]:
    return {check_key(k, "label"): _check_text(k, v, "label") for k, v in (value or {}).items()}


TEXT_MAX = 10_000  # characters of a description (the schemas' "text")


def description(text: str | None) -> str:
    if text is None:
        return ""
    if len(text) > TEXT_MAX:
        raise UsageError(f"description is longer than {TEXT_MAX} characters")
    if "\x00" in text:
        raise UsageError("description contains a NUL character")
    return text


def gate_edits(value: Mapping[str, Mapping[str, Any]] | None) -> list[tuple[str, str, float | bool]]:
    """Gates to set, from ``{stage: {key: threshold}}``: numbers for
    min_/max_/min_improvement_/min_improvement_pct_, ``True`` for require_."""
    from gitreg.documents.gates import COMPATIBLE, parse_gate

    raw: list[tuple[str, str, object]] = [(s, k, v) for s, gates in (value or {}).items() for k, v in gates.items()]
    edits: list[tuple[str, str, float | bool]] = []
    for stage, key, threshold in raw:
        try:
            kind, metric = parse_gate(key)
        except ValueError:
            raise UsageError(
                f"invalid gate {shown(key)}: use min_<metric>, max_<metric>, min_improvement_[pct_]<metric>, "
                f"require_<flag> or {COMPATIBLE}"
            ) from None
        check_key(metric, "metric" if kind != "require" else "metadata")
        if kind == "compatible":
            if threshold is not True:
                raise UsageError(f"gate {key!r} takes the value true, got {shown(threshold)}")
            edits.append((stage, key, True))
            continue
        if kind == "require" and metric in ("approvals", "owner_approvals"):
            if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold != int(threshold):
                raise UsageError(f"gate {key!r} takes a number of approvers (1-64), got {shown(threshold)}")
            if not 1 <= threshold <= 64:
                raise UsageError(f"gate {key!r} takes a number of approvers (1-64), got {shown(threshold)}")
            edits.append((stage, key, int(threshold)))
        elif kind == "require":
            if threshold is not True:
                raise UsageError(f"gate {key!r} takes the value true, got {shown(threshold)}")
            edits.append((stage, key, True))
        else:
            edits.append((stage, key, metric_value(key, threshold)))
    return edits


def gate_removals(given: Iterable[tuple[str, str] | str]) -> list[tuple[str, str]]:
    """Gates to remove: ``(stage, key)`` pairs or ``STAGE:KEY`` text."""
    removals = []
    for item in given:
        if not isinstance(item, str):
            removals.append(item)
            continue
        stage, colon, key = item.partition(":")
        if not colon or not key:
            raise UsageError(f"gate {shown(item)} is not of the form STAGE:KEY (e.g. production:min_auc)")
        removals.append((stage, key))
    return removals


# -- the command line's repeatable K=V options, as the mappings above take them ---


def pairs(given: Iterable[str], what: str, *, typed: bool = False) -> dict[str, Any]:
    """``k=v`` texts as a mapping; ``typed``: values as ``scalar`` reads them."""
    result: dict[str, Any] = {}
    for pair in given:
        key, text = split_pair(pair, what)
        result[key] = scalar(text) if typed else text
    return result


def gate_pairs(given: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``STAGE:KEY=VALUE`` texts as ``{stage: {key: value}}``."""
    result: dict[str, dict[str, Any]] = {}
    for pair in given:
        target, sep, text = pair.partition("=")
        stage, colon, key = target.partition(":")
        if not sep or not colon:
            raise UsageError(f"gate {shown(pair)} is not of the form STAGE:KEY=VALUE (e.g. production:min_auc=0.9)")
        result.setdefault(stage, {})[key] = scalar(text)
    return result


def threshold(value: float | None) -> float | None:
    """A relative threshold (0.05 = 5%): finite and not negative."""
    if value is not None and (isinstance(value, bool) or not math.isfinite(value) or value < 0):
        raise UsageError(f"invalid threshold {shown(value)}: give a relative change such as 0.05 (5%)")
    return value


AUTO_DEPLOY_KEYS = ("stage", "strategy", "metric", "min_improvement", "min_improvement_pct")


def auto_deploy(value: Mapping[str, Any] | bool | None) -> dict[str, Any] | None:
    """``auto_deploy`` settings, checked: ``stage`` (required), ``strategy``
    (best, conservative), ``metric``, ``min_improvement`` and
    ``min_improvement_pct`` (finite, not negative; conservative only)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise UsageError(f"auto-deploy takes its settings (stage, strategy, ...), got {shown(value)}")
    unknown = [k for k in value if k not in AUTO_DEPLOY_KEYS]
    if unknown:
        raise UsageError(f"unknown auto-deploy setting {shown(unknown[0])}: use {', '.join(AUTO_DEPLOY_KEYS)}")
    stage = value.get("stage")
    if not isinstance(stage, str) or not stage:
        raise UsageError("auto-deploy needs a stage, e.g. stage=staging")
    strategy = value.get("strategy", "best")
    if strategy not in ("best", "conservative"):
        raise UsageError(f"invalid auto-deploy strategy {shown(strategy)}: use best or conservative")
    settings: dict[str, Any] = {"stage": stage, "strategy": strategy}
    if value.get("metric") is not None:
        settings["metric"] = check_key(value["metric"], "metric")
    for key in ("min_improvement", "min_improvement_pct"):
        margin = value.get(key)
        if margin is None:
            continue
        if isinstance(margin, bool) or not isinstance(margin, int | float) or not math.isfinite(margin) or margin < 0:
            raise UsageError(f"invalid auto-deploy {key} {shown(margin)}: a finite number, not negative")
        if strategy != "conservative":
            raise UsageError(f"auto-deploy {key} applies to the conservative strategy only")
        settings[key] = margin
    return settings


_KEYFILE = re.compile(r"\.gitreg/(?!(?:.*/)?\.\.?(?:/|$))[^\x00-\x1f\x7f\\]{1,255}")  # the schemas' keyfile
SIGNER_FIELDS = {"key": "keys", "certificate": "certificates", "identity": "identities", "issuer": "issuers"}


def signature_pairs(given: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """``--require-signature STAGE:FIELD=VALUE`` values (FIELD: key,
    certificate, identity or issuer; repeatable) as the API's
    ``require_signature``: {stage: {"keys": [...], ...}}."""
    policies: dict[str, dict[str, list[str]]] = {}
    for item in given:
        stage, _, rest = item.partition(":")
        field, _, value = rest.partition("=")
        if not stage or field not in SIGNER_FIELDS or not value:
            raise UsageError(
                f"invalid --require-signature {shown(item)}: give STAGE:key=PATH, STAGE:certificate=PATH, "
                "STAGE:identity=NAME or STAGE:issuer=URL"
            )
        if field in ("key", "certificate") and not _KEYFILE.fullmatch(value):
            raise UsageError(
                f"invalid --require-signature {shown(item)}: a {field} is a file in the registry under .gitreg/"
            )
        values = policies.setdefault(stage, {}).setdefault(SIGNER_FIELDS[field], [])
        if value not in values:
            values.append(value)
    return policies


class SignatureObject(Protocol):
    """MLflow's ``ModelSignature``, or anything that gives its MLmodel form."""

    def to_dict(self) -> Mapping[str, Any]: ...


SignatureArg = Mapping[str, Any] | PathLike | SignatureObject | None


def signature(value: SignatureArg) -> dict[str, Any] | None:
    """An I/O signature given as a mapping or a JSON/YAML file, in gitreg's
    form or MLflow's (an MLmodel file too), or an MLflow ``ModelSignature``,
    as the manifest holds it."""
    from gitreg.documents import interface

    if value is None:
        return None
    if not isinstance(value, Mapping | str | os.PathLike) and callable(getattr(value, "to_dict", None)):
        value = value.to_dict()  # MLflow's ModelSignature: its MLmodel form
    source = "signature" if isinstance(value, Mapping) else f"signature file {value}"
    if not isinstance(value, Mapping | str | os.PathLike):
        raise UsageError(f"signature: a {type(value).__name__} is no signature (give a mapping or a file)")
    doc: Any = value if isinstance(value, Mapping) else read_mapping_file(value, "signature")
    try:
        return interface.read(doc)
    except interface.SignatureError as exc:
        raise UsageError(f"{source}: {exc}") from None


def interface_inputs(
    given_signature: SignatureArg, input_example: Any, output_example: Any = None
) -> tuple[dict[str, Any] | None, Example | None]:
    """The signature and input example a registration records. An example
    is a file (.json, .csv, .npy, .npz) or an object (DataFrame, array,
    dict of arrays); without a signature, one given as an object has its
    signature inferred (from ``output_example`` too). The example must fit
    the signature."""
    from gitreg.documents import examples

    if output_example is not None and input_example is None:
        raise UsageError("an output example is for inferring a signature: give an input example too")
    found = signature(given_signature)
    example: Example | None = None
    if isinstance(input_example, str | os.PathLike):
        example = examples.read_file(input_example)
        if output_example is not None and found is None:
            raise UsageError("a signature is inferred from example objects, not files: give signature= or objects")
    elif input_example is not None:
        example = examples.from_object(input_example)
        if found is None:
            found = examples.infer(input_example, output_example)
    if example is not None:
        misfit = examples.misfits(example, found)
        if misfit:
            more = f" (and {len(misfit) - 1} more)" if len(misfit) > 1 else ""
            raise UsageError(f"the input example does not fit the signature: {misfit[0]}{more}")
    return found, example
