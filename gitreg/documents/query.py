"""The small filter grammar of ``gitreg list --where``.

    CONDITION [and CONDITION]...
    CONDITION := FIELD OP VALUE
    FIELD     := metrics.NAME | params.NAME[.NAME...] | metadata.NAME | labels.NAME
                 | version | stage | status | created_by | created_at
    OP        := > | >= | < | <= | == | != | ~ | in  (~: the text contains VALUE)
    VALUE     := a number, true, false, 'quoted text', "quoted text" or a bare word;
                 after ``in``, a list of them: [staging, production]

Numbers compare as numbers and text as text (ISO dates compare correctly as
text); a missing field or a value of another type never matches. A field
with several values (``stage``: a version may hold several stages) matches
when any value does (``!=``: when none equals VALUE). Nothing is evaluated:
the expression is parsed into data and compared field by field.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitreg.documents.names import shown
from gitreg.errors import UsageError

VERSION_FIELDS = ("version", "stage", "status", "created_by", "created_at")
_MAPPED = r"(?:metrics|params|metadata|labels)\.[A-Za-z0-9_][A-Za-z0-9_.:/-]*"
_VALUE = r"'[^']*'|\"[^\"]*\"|[^\s'\"\[\],]+"
_LIST = rf"\[\s*(?:(?:{_VALUE})\s*(?:,\s*(?:{_VALUE})\s*)*)?\]"


@functools.cache
def _condition(fields: tuple[str, ...]) -> re.Pattern[str]:
    field = "|".join([_MAPPED, *(re.escape(f) for f in fields)])
    return re.compile(
        rf"\s*(?P<field>{field})\s*(?:(?P<op>>=|<=|==|!=|>|<|~)\s*(?P<value>{_VALUE})"
        rf"|\s(?P<in>in)\s*(?P<items>{_LIST}))\s*"
    )


_ITEM = re.compile(_VALUE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


Value = str | float | bool


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Value | tuple[Value, ...]  # a tuple for ``in``


def _value(text: str) -> str | float | bool:
    if text[:1] in ("'", '"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    return float(text) if _NUMBER.fullmatch(text) else text


def parse(expression: str, fields: tuple[str, ...] = VERSION_FIELDS) -> list[Condition]:
    """The conditions of one --where expression over ``fields`` (besides
    metrics.X, params.X, metadata.X, labels.X), or a UsageError naming the
    part that is not understood."""
    conditions = []
    for part in _AND.split(expression.strip()):
        m = _condition(fields).fullmatch(part)
        if not m:
            raise UsageError(
                f"cannot read the condition {shown(part)}: expected FIELD OP VALUE, e.g. 'metrics.auc > 0.9' "
                f"(fields: metrics.X, params.X, metadata.X, labels.X, {', '.join(fields)}; "
                "ops: > >= < <= == != ~, and `in [A, B]`)"
            )
        if m["in"]:
            items = tuple(_value(item) for item in _ITEM.findall(m["items"][1:-1]))
            conditions.append(Condition(m["field"], "in", items))
        else:
            conditions.append(Condition(m["field"], m["op"], _value(m["value"])))
    return conditions


def _lookup(record: Mapping[str, Any], field: str) -> Any:
    head, _, rest = field.partition(".")
    value: Any = record.get(head)
    if head == "metrics" and isinstance(value, Mapping):
        return value.get(rest)  # metric names are flat and may contain dots
    for key in rest.split(".") if rest else ():
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _holds(actual: Any, op: str, wanted: Value | tuple[Value, ...]) -> bool:
    if isinstance(actual, list | tuple):  # several values: any of them (!=: none equal)
        if op == "!=":
            return not any(_holds(a, "==", wanted) for a in actual)
        return any(_holds(a, op, wanted) for a in actual)
    if isinstance(wanted, tuple):  # in
        return any(_holds(actual, "==", w) for w in wanted)
    if actual is None:
        return False
    if op == "~":
        return isinstance(actual, str) and isinstance(wanted, str) and wanted in actual
    if isinstance(wanted, bool) or isinstance(actual, bool):
        same = isinstance(actual, bool) and isinstance(wanted, bool) and actual == wanted
        return same if op == "==" else (not same) if op == "!=" else False
    if isinstance(wanted, float) and isinstance(actual, int | float):
        return bool(_OPS[op](float(actual), wanted))
    if isinstance(wanted, str) and isinstance(actual, str):
        return bool(_OPS[op](actual, wanted))
    return False


def matches(conditions: Iterable[Condition], record: Mapping[str, Any]) -> bool:
    """True when every condition holds for ``record`` (a version's manifest
    fields plus ``stage``)."""
    return all(_holds(_lookup(record, c.field), c.op, c.value) for c in conditions)
