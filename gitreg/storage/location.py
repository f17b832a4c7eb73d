"""Where the registry is: a path or a git URL, from (in this order) the
``--registry`` option, ``GITREG_REGISTRY``, a ``gitreg.toml`` in the current
folder or one above it (``registry = "..."``), else the current folder."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from gitreg.errors import UsageError

CONFIG_FILE = "gitreg.toml"
ENV = "GITREG_REGISTRY"
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_RE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:")


@dataclass(frozen=True)
class Location:
    value: str  # a local path or a git URL
    remote: bool  # True: a URL (or bare repository) reached through a private clone
    source: str  # where it came from: option, environment, gitreg.toml path, default


def is_url(value: str) -> bool:
    return bool(_URL_RE.match(value) or _SCP_RE.match(value))


def _is_bare_repo(path: Path) -> bool:
    return path.is_dir() and (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _from_file(start: Path) -> tuple[str, Path] | None:
    for folder in [start, *start.parents]:
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            import tomllib

            try:
                data = tomllib.loads(candidate.read_text("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise UsageError(f"{candidate}: not valid TOML ({exc})") from exc
            except RecursionError:
                raise UsageError(f"{candidate}: not valid TOML (nested too deeply)") from None
            value = data.get("registry")
            if not isinstance(value, str) or not value:
                raise UsageError(f'{candidate}: expected registry = "PATH or URL"')
            return value, candidate
        if (folder / ".git").exists():
            return None  # the project's own root: do not look outside it
    return None


def resolve(value: str | os.PathLike[str] | None = None) -> Location:
    """The registry location, from the first source that names one."""
    if value is not None and str(value) != "":
        text, source = str(value), "option"
    elif os.environ.get(ENV):
        text, source = os.environ[ENV], ENV
    elif (found := _from_file(Path.cwd())) is not None:
        text, path = found
        source = str(path)
        if not is_url(text) and not Path(text).expanduser().is_absolute():
            text = str((path.parent / text).resolve())
    else:
        text, source = ".", "default"
    if any(ord(c) < 32 for c in text):
        raise UsageError(f"invalid registry location {text!r}")
    if is_url(text):
        return Location(text, True, source)
    path = Path(text).expanduser()
    return Location(str(path.absolute()) if _is_bare_repo(path) else str(path), _is_bare_repo(path), source)
