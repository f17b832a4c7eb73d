"""The grammar of names and versions (docs/design.md §1), as data plus checkers."""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from gitreg.errors import UsageError

NAME_PATTERN = r"^(?!.*\.\.)(?!.*\.lock$)[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$"
_NAME_RE = re.compile(NAME_PATTERN)
# a model's name may carry a namespace, NAMESPACE/NAME (a use case, a team):
# each part a name as above; the part after a namespace is never a word its
# folder uses for a model's own files (models/NAMESPACE/NAME/ beside them)
_SEGMENT = r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?"
RESERVED_IN_NAMESPACE = ("versions", "stages", "signatures", "model.yaml")
MODEL_PATTERN = (
    r"^(?!.*\.\.)(?!.*\.lock(?:/|$))"
    + _SEGMENT
    + r"(?:/(?!versions$|stages$|signatures$|model\.yaml$)"
    + _SEGMENT
    + r")?$"
)
_MODEL_RE = re.compile(MODEL_PATTERN)

_NUM = r"0|[1-9][0-9]*"
_PRE_ID = r"0|[1-9][0-9]*|[0-9]*[a-z-][0-9a-z-]*"
VERSION_PATTERN = rf"^({_NUM})\.({_NUM})\.({_NUM})(?:-((?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?$"
_VERSION_RE = re.compile(VERSION_PATTERN)
VERSION_MAX_LENGTH = 64

Bump = Literal["patch", "minor", "major"]
BUMPS: tuple[Bump, ...] = ("patch", "minor", "major")


# what a terminal or a renderer would act on rather than show; bytes that were not UTF-8 (surrogate escapes)
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_BREAKS = re.compile("[\n\t]")


def _escape(match: re.Match[str]) -> str:
    return match[0].encode("unicode_escape", "backslashreplace").decode()


def escaped(text: str, lines: bool = True) -> str:
    """``text`` with every control character (ESC and OSC sequences, C1
    codes, bidirectional overrides, bytes that were not UTF-8) shown
    escaped; line breaks and tabs stay unless ``lines`` is False."""
    text = CONTROLS.sub(_escape, text)
    return text if lines else _BREAKS.sub(_escape, text)


def shown(value: object, limit: int = 200) -> str:
    """Quote a user value for an error message, escaping anything invisible;
    one longer than ``limit`` by its start and its size."""
    text = ascii(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[: limit - 40]}… ({len(text):,} characters)"


_RULE = (
    "1-64 lowercase ASCII letters, digits, '.', '_' or '-', starting and ending with a letter or digit, "
    "with no '..' and no '.lock' ending"
)


def check_name(value: object, what: str = "model name") -> str:
    """Return ``value`` if it is a valid model/stage name, else raise UsageError."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise UsageError(f"invalid {what} {shown(value)}: use {_RULE}")
    return value


def is_name(value: object) -> bool:
    return isinstance(value, str) and _NAME_RE.fullmatch(value) is not None


def check_model_name(value: object) -> str:
    """Return ``value`` if it is a valid model name (``NAME`` or
    ``NAMESPACE/NAME``), else raise UsageError."""
    if not isinstance(value, str) or not _MODEL_RE.fullmatch(value):
        if isinstance(value, str) and "/" in value:
            namespace, _, name = value.partition("/")
            if is_name(namespace) and name in RESERVED_IN_NAMESPACE:
                raise UsageError(f"invalid model name {shown(value)}: {name!r} is reserved inside a namespace")
        raise UsageError(f"invalid model name {shown(value)}: use NAME or NAMESPACE/NAME, each {_RULE}")
    return value


def is_model_name(value: object) -> bool:
    return isinstance(value, str) and _MODEL_RE.fullmatch(value) is not None


def namespace(model: str) -> str | None:
    """The namespace part of a model's name, if it has one."""
    return model.partition("/")[0] if "/" in model else None


def inside_models(models: Iterable[str]) -> list[str]:
    """The models among ``models`` whose namespace is itself one of them:
    a folder is a model's or a namespace, never both."""
    known = set(models)
    return sorted(m for m in known if namespace(m) in known)


class Quoted(str):
    """A version as a document holds it: always written double-quoted, so
    YAML never reads it back as a number."""


@dataclass(frozen=True)
class Version:
    """A semantic version without build metadata; orders by semver precedence."""

    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    @classmethod
    def parse(cls, text: object) -> Version:
        if type(text) is str:
            return _parse_version(text)  # the same few strings recur across models: parsed once
        return cls._parse(text)

    @classmethod
    def _parse(cls, text: object) -> Version:
        if not isinstance(text, str) or len(text) > VERSION_MAX_LENGTH or not (m := _VERSION_RE.fullmatch(text)):
            raise UsageError(
                f"invalid version {shown(text)}: expected MAJOR.MINOR.PATCH or "
                "MAJOR.MINOR.PATCH-prerelease (e.g. 1.2.0 or 2.0.0-rc.1), numbers "
                "without leading zeros, lowercase, no build metadata"
            )
        pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split(".")) if m.group(4) else ()
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre)

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core + ("-" + ".".join(str(p) for p in self.pre) if self.pre else "")

    def sort_key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        return self._key

    @functools.cached_property
    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # A release sorts after its prereleases; numeric identifiers sort before
        # alphanumeric ones (semver §11). A date version's day counter
        # (2026.12.2-2, the second of the day) sorts after the day's first.
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre and not self.is_date else 1, pre)

    @property
    def date(self) -> datetime.date | None:
        """The day a date version (``YYYY.M.D``, or ``YYYY.M.D-N`` for the
        Nth of that day, N ≥ 2) names; None for any other version."""
        if not 1970 <= self.major <= 9999 or not (1 <= self.minor <= 12 and 1 <= self.patch <= 31):
            return None
        if self.pre and not (len(self.pre) == 1 and isinstance(self.pre[0], int) and 2 <= self.pre[0] <= 9999):
            return None
        try:
            return datetime.date(self.major, self.minor, self.patch)
        except ValueError:  # 2026.2.30
            return None

    @property
    def is_date(self) -> bool:
        return self.date is not None

    @property
    def counter(self) -> int:
        """A date version's place in its day (1 for the first)."""
        return int(self.pre[0]) if self.pre else 1

    def __lt__(self, other: Version) -> bool:
        return self.sort_key() < other.sort_key()

    def __le__(self, other: Version) -> bool:
        return self.sort_key() <= other.sort_key()

    def __gt__(self, other: Version) -> bool:
        return self.sort_key() > other.sort_key()

    def __ge__(self, other: Version) -> bool:
        return self.sort_key() >= other.sort_key()

    def bump(self, part: Bump) -> Version:
        """The next version, as `npm version`/semver tools bump: a prerelease
        bumps to its own release when that is the part being bumped."""
        if part == "major":
            if self.pre and self.minor == 0 and self.patch == 0:
                return Version(self.major, 0, 0)
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            if self.pre and self.patch == 0:
                return Version(self.major, self.minor, 0)
            return Version(self.major, self.minor + 1, 0)
        if self.pre:
            return Version(self.major, self.minor, self.patch)
        return Version(self.major, self.minor, self.patch + 1)


@functools.lru_cache(maxsize=4096)
def _parse_version(text: str) -> Version:
    return Version._parse(text)  # a Version is immutable, so one object can serve every caller


FIRST_VERSION = Version(1, 0, 0)


def next_version(existing: list[Version], bump: Bump = "patch") -> Version:
    if not existing:
        return FIRST_VERSION
    return max(existing).bump(bump)


Versioning = Literal["semver", "date"]
VERSIONINGS: tuple[Versioning, ...] = ("semver", "date")


def date_version(day: datetime.date, existing: Iterable[Version] = ()) -> Version:
    """The version ``day`` gives under the date scheme: ``YYYY.M.D`` (CalVer's
    YYYY.MM.DD, numbers without leading zeros so it stays a semantic version
    GTO reads), then ``YYYY.M.D-2``, ``-3``… for more that day."""
    taken = [v.counter for v in existing if v.date == day]
    count = max(taken) + 1 if taken else 1
    return Version(day.year, day.month, day.day, (count,) if count > 1 else ())


def check_date_version(version: Version) -> Version:
    """``version`` if it is a date version, else UsageError."""
    if not version.is_date:
        raise UsageError(
            f"invalid version {shown(str(version))} for a dataset versioned by date: "
            "use YYYY.M.D (e.g. 2026.12.2), or YYYY.M.D-N for the Nth of a day"
        )
    return version
