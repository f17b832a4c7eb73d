"""Safe YAML: the only place registry and input documents are parsed and written.

Loading walks libyaml's event stream and builds plain Python values itself, so
that every rule is enforced before a value exists: no tags, anchors, aliases or
merge keys, one document, no duplicate keys, bounded size and depth. Plain
scalars follow YAML 1.2's core schema (``no`` is a string, ``1.10`` is a float
only where a number is expected) and mapping keys are always strings.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from gitreg.documents.names import Quoted
from gitreg.errors import InvalidDocumentError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32

try:
    _Loader: type = yaml.CBaseLoader
    _Dumper: type = yaml.CSafeDumper
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.BaseLoader
    _Dumper = yaml.SafeDumper

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT_RE = re.compile(r"[-+]?[0-9]+")
_MAX_INT_DIGITS = 302  # a sign and 301 digits: longer is refused here, shorter by schema.validate (MAX_INT)
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF_RE = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN_RE = re.compile(r"\.(?:nan|NaN|NAN)")


def _plain_scalar(text: str) -> Any:
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    if _INF_RE.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN_RE.fullmatch(text):
        return math.nan
    return text


_NODE_EVENTS = frozenset({yaml.AliasEvent, yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent})


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, event: Any, reason: str) -> InvalidDocumentError:
        mark = getattr(event, "start_mark", None)
        where = f"{self.source}:{mark.line + 1}" if mark is not None else self.source
        return InvalidDocumentError(f"{where}: {reason}")

    def check_node_event(self, event: Any, depth: int) -> None:
        if type(event) is yaml.AliasEvent or event.anchor is not None:
            raise self.fail(event, "anchors and aliases are not allowed")
        if event.tag is not None:
            raise self.fail(event, f"YAML tags are not allowed (found {event.tag})")
        if depth > MAX_DEPTH:
            raise self.fail(event, f"nesting is deeper than {MAX_DEPTH} levels")

    def build(self, events: Any, event: Any, depth: int) -> Any:
        # event classes compared exactly: this runs for every node of every file a listing reads
        kind = type(event)
        if kind not in _NODE_EVENTS:
            raise self.fail(event, f"unexpected YAML event {kind.__name__}")
        self.check_node_event(event, depth)
        if kind is yaml.ScalarEvent:
            if event.style:
                return event.value
            if len(event.value) > _MAX_INT_DIGITS and _INT_RE.fullmatch(event.value):
                raise self.fail(event, f"an integer of {len(event.value)} digits is out of range")
            return _plain_scalar(event.value)
        if kind is yaml.MappingStartEvent:
            return self.build_mapping(events, depth)
        items = []  # a sequence: aliases were refused above
        while type(child := next(events)) is not yaml.SequenceEndEvent:
            items.append(self.build(events, child, depth + 1))
        return items

    def build_mapping(self, events: Any, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while type(key_event := next(events)) is not yaml.MappingEndEvent:
            if type(key_event) is not yaml.ScalarEvent:
                self.check_node_event(key_event, depth + 1)
                raise self.fail(key_event, "mapping keys must be plain strings")
            self.check_node_event(key_event, depth + 1)
            key = key_event.value
            if key == "<<" and not key_event.style:
                raise self.fail(key_event, "merge keys (<<) are not allowed")
            if key in result:
                raise self.fail(key_event, f"duplicate key {key!r}")
            result[key] = self.build(events, next(events), depth + 1)
        return result


def load(data: bytes | str, source: str) -> Any:
    """Parse one YAML (or JSON) document under the rules above.

    ``source`` names the file in error messages.
    """
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > MAX_BYTES:
        raise InvalidDocumentError(f"{source}: file is {size} bytes, over the {MAX_BYTES}-byte limit")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidDocumentError(f"{source}: not UTF-8 text ({exc.reason})") from exc
    builder = _Builder(source)
    events = iter(yaml.parse(data, Loader=_Loader))
    try:
        next(events)  # StreamStart
        first = next(events)
        if isinstance(first, yaml.StreamEndEvent):
            raise InvalidDocumentError(f"{source}: the document is empty")
        value = builder.build(events, next(events), 1)
        next(events)  # DocumentEnd
        trailing = next(events)
        if not isinstance(trailing, yaml.StreamEndEvent):
            raise builder.fail(trailing, "only one YAML document is allowed per file")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidDocumentError(f"{where}: not valid YAML ({problem})") from exc
    return value


class _QuotedDumper(_Dumper):  # type: ignore[misc]
    pass


def _represent_quoted(dumper: Any, value: Quoted) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


def _represent_str(dumper: Any, value: str) -> Any:
    # PyYAML writes plain what YAML 1.1 reads as a string, but `load` reads
    # YAML 1.2: "1e5" or "0E0" would come back as numbers
    if type(_plain_scalar(value)) is not str:  # such text is plain ASCII: single quotes, as PyYAML quotes "1.10"
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_str(value)


_QuotedDumper.add_representer(Quoted, _represent_quoted)
_QuotedDumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    """Serialise to block-style YAML in the given key order."""
    text: str = yaml.dump(
        data,
        Dumper=_QuotedDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    return text
