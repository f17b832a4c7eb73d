"""The environment a version was trained in: captured at registration from
the interpreter that runs it (Python version and implementation, platform,
every installed distribution as ``name==version``), or read from a pip
requirements file or a conda environment file when training ran
elsewhere; compared between versions; and written back out as a file that
rebuilds it (``gitreg env``).

Capture is never fatal: what cannot be read is left out with a note, as
lineage does.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitreg.documents import yamlio
from gitreg.documents.inputs import PathLike, read_text_file
from gitreg.documents.names import shown
from gitreg.errors import InvalidDocumentError, UsageError
from gitreg.storage import credentials

FORMATS = ("requirements", "conda")
MAX_LINES = 20000
MAX_LINE = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PINNED = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([^\s;,]+)\s*(?:;.*)?")
_INCLUDES = ("-r", "-c", "--requirement", "--constraint")


def canonical(name: str) -> str:
    """A distribution name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict[str, str]:
    """``{canonical name: "Name==version"}`` of every distribution this
    interpreter can import, the first of a name on ``sys.path`` winning.

    The same distributions ``importlib.metadata.distributions()`` finds, but
    a wheel's ``NAME-VERSION.dist-info`` folder name is read instead of its
    METADATA file: about 3 ms rather than 0.2-0.4 s for 230 distributions, on every
    registration. Only ``.egg-info`` entries are read through importlib.metadata.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                dist, _, version = name.removesuffix(".dist-info").partition("-")
            elif name.endswith(".egg-info"):
                from importlib import metadata

                info = metadata.PathDistribution(Path(entry or ".") / name)
                dist, version = info.metadata["Name"] or "", info.version or ""
            else:
                continue
            if dist and version and not _CONTROL.search(dist + version):
                found.setdefault(canonical(dist), f"{dist}=={version}"[:MAX_LINE])
    return found


def capture() -> tuple[dict[str, Any], list[str]]:
    """The running interpreter's environment, and what could not be read."""
    notes: list[str] = []
    found: dict[str, str] = {}
    try:
        found = installed()
    except Exception as exc:  # a broken installation must not stop a registration
        notes.append(f"installed distributions unreadable ({type(exc).__name__}): environment without them")
    doc: dict[str, Any] = {
        "source": "interpreter",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform()[:255],
    }
    if found:
        doc["requirements"] = [found[k] for k in sorted(found)][:MAX_LINES]
    return doc, notes


def _line(text: str, where: str) -> str | None:
    """One requirements line as recorded: comments and blanks dropped,
    credentials removed from URLs, includes of other files refused."""
    line = text.split(" #", 1)[0].strip() if not text.lstrip().startswith("#") else ""
    if not line:
        return None
    if line.split()[0] in _INCLUDES or line.startswith(("-r", "-c")):
        raise UsageError(f"{where}: {shown(line)} includes another file: give its lines instead")
    if len(line) > MAX_LINE or _CONTROL.search(line):
        raise UsageError(f"{where}: a line of over {MAX_LINE} characters or with control characters")
    return " ".join(credentials.strip(word) for word in line.split(" "))


def read_requirements(path: PathLike) -> dict[str, Any]:
    """A pip requirements file as an environment (``--requirements``)."""
    text = read_text_file(path, "requirements")
    lines = [line for n, raw in enumerate(text.splitlines(), 1) if (line := _line(raw, f"{path}:{n}"))]
    if not lines:
        raise UsageError(f"requirements file {path} lists no requirements")
    if len(lines) > MAX_LINES:
        raise UsageError(f"requirements file {path}: {len(lines):,} lines, at most {MAX_LINES:,}")
    return {"source": "requirements", "requirements": lines}


def read_conda(path: PathLike) -> dict[str, Any]:
    """A conda environment file (``environment.yml``) as an environment
    (``--conda``); its machine-local ``prefix`` is dropped."""
    text = read_text_file(path, "conda environment")
    try:
        doc = yamlio.load(text.encode("utf-8"), str(path))
    except InvalidDocumentError as exc:
        raise UsageError(str(exc)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("dependencies"), list):
        raise UsageError(f"conda environment file {path}: expected a mapping with a dependencies list")
    unknown = sorted(str(k) for k in doc if k not in ("name", "channels", "dependencies", "prefix"))
    if unknown:
        raise UsageError(f"conda environment file {path}: unknown key {shown(unknown[0])}")
    conda: dict[str, Any] = {}
    if doc.get("name") is not None:
        conda["name"] = _text(doc["name"], f"{path}: name")
    if doc.get("channels"):
        conda["channels"] = _texts(doc["channels"], f"{path}: channels")
    dependencies: list[Any] = []
    for index, item in enumerate(doc["dependencies"]):
        where = f"{path}: dependencies/{index}"
        if isinstance(item, dict) and list(item) == ["pip"]:
            dependencies.append({"pip": [line for raw in _texts(item["pip"], where) if (line := _line(raw, where))]})
        else:
            dependencies.append(_text(item, where))
    conda["dependencies"] = dependencies
    found: dict[str, Any] = {"source": "conda", "conda": conda}
    python = next((d for d in dependencies if isinstance(d, str) and re.match(r"python\s*[=<>]", d)), None)
    if python is not None:
        found["python"] = re.sub(r"^python\s*=*\s*", "", python)[:64]
    return found


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UsageError(f"{where}: expected text, found {type(value).__name__}")
    text = str(value)
    if not text or len(text) > MAX_LINE or _CONTROL.search(text):
        raise UsageError(f"{where}: {shown(text)} is empty, too long or has control characters")
    return text


def _texts(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_LINES:
        raise UsageError(f"{where}: expected a list of at most {MAX_LINES:,} entries")
    return [_text(item, where) for item in value]


# -- reading a recorded environment ---------------------------------------------


def pip_lines(environment: Mapping[str, Any]) -> list[str]:
    """The pip requirement lines an environment records (a conda file's
    ``pip:`` section included)."""
    lines = list(environment.get("requirements") or ())
    for item in (environment.get("conda") or {}).get("dependencies", ()):
        if isinstance(item, Mapping):
            lines += item.get("pip", ())
    return lines


def _packages(environment: Mapping[str, Any] | None) -> dict[str, str]:
    """Each package the environment names, by canonical name: its pinned
    version, or the whole line where it is not pinned."""
    found: dict[str, str] = {}
    env = environment or {}
    conda = [d for d in (env.get("conda") or {}).get("dependencies", ()) if isinstance(d, str)]
    for line in [*conda, *pip_lines(env)]:
        pinned = _PINNED.fullmatch(line) or re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)=([^\s=]+)(?:=\S+)?", line)
        if pinned:
            found[canonical(pinned.group(1))] = pinned.group(2)
        else:
            found[line] = line
    return found


@dataclass(frozen=True)
class Difference:
    """One way two environments differ: a property (python, platform, ...)
    or a package (``before``/``after`` None: not there)."""

    name: str
    before: str | None
    after: str | None
    package: bool

    def text(self) -> str:
        if self.before is None:
            return f"+ {self.name} {self.after}"
        if self.after is None:
            return f"- {self.name} {self.before}"
        return f"~ {self.name} {self.before} -> {self.after}"


PROPERTIES = ("python", "implementation", "platform")


def differences(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Difference]:
    """How ``after``'s environment differs from ``before``'s: the
    interpreter first, then packages added, removed or changed, by name."""
    found = [
        Difference(key, (before or {}).get(key), (after or {}).get(key), False)
        for key in PROPERTIES
        if (before or {}).get(key) != (after or {}).get(key)
    ]
    old, new = _packages(before), _packages(after)
    for name in sorted(old.keys() | new.keys()):
        if old.get(name) != new.get(name):
            found.append(Difference(name, old.get(name), new.get(name), True))
    return found


def summary(environment: Mapping[str, Any]) -> str:
    """One line: ``Python 3.11.2 (CPython) on Linux-..., 143 packages (interpreter)``."""
    parts = []
    if environment.get("python"):
        impl = f" ({environment['implementation']})" if environment.get("implementation") else ""
        parts.append(f"Python {environment['python']}{impl}")
    if environment.get("platform"):
        parts.append(f"on {environment['platform']}")
    count = len(_packages(environment))
    text = " ".join(parts)
    return f"{text}{', ' if text else ''}{count} package{'s' * (count != 1)} ({environment['source']})"


def rebuild_file(environment: Mapping[str, Any], fmt: str, title: str) -> str:
    """A file that rebuilds the environment: pip requirements, or a conda
    environment file (the one recorded, else one made from the interpreter
    and its packages)."""
    if check_format(fmt) == "requirements":
        head = f"# {title}: {summary(environment)}\n"
        conda_only = [d for d in (environment.get("conda") or {}).get("dependencies", ()) if isinstance(d, str)]
        notes = "".join(f"# conda: {d}\n" for d in conda_only)
        return head + notes + "".join(f"{line}\n" for line in pip_lines(environment))
    conda = environment.get("conda")
    if conda is None:
        python = environment.get("python")
        pins = [f"python={python}"] if python and environment.get("implementation", "CPython") == "CPython" else []
        conda = {
            "name": re.sub(r"[^A-Za-z0-9_.-]+", "-", title),
            "channels": ["conda-forge"],
            "dependencies": [*pins, "pip", {"pip": pip_lines(environment)}],
        }
    return yamlio.dump(dict(conda))


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: use requirements or conda")
    return fmt


def chosen(
    requirements: PathLike | None, conda: PathLike | None, capture_interpreter: bool
) -> tuple[dict[str, Any] | None, list[str]]:
    """The environment a registration records, and notes: the files given,
    else (unless turned off) the running interpreter's."""
    if requirements is not None and conda is not None:
        raise UsageError("give --requirements or --conda, not both")
    if requirements is not None:
        return read_requirements(requirements), []
    if conda is not None:
        return read_conda(conda), []
    if not capture_interpreter:
        return None, []
    return capture()
