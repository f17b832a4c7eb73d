"""DVC's repository configuration (``.dvc/config``, configobj/INI format), read
and edited as text so that changes are committed like any registry file."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from gitreg.errors import InvalidDocumentError, UsageError

DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n"
DVCIGNORE = (
    "# Add patterns of files dvc should ignore, which could improve\n"
    "# the performance. Learn more at\n"
    "# https://dvc.org/doc/user-guide/dvcignore\n"
)
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SECRET_RE = re.compile(
    r"secret|password|passphrase|token|key_id|account_key|credential|sas|connection_string|key_?file", re.IGNORECASE
)
_USERINFO_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@")


def _load(text: str, source: str) -> Any:
    from configobj import ConfigObj, ConfigObjError

    try:
        conf = ConfigObj(text.splitlines(), interpolation=False)
    except ConfigObjError as exc:
        raise InvalidDocumentError(f"{source}: not a valid DVC config: {exc}") from exc
    if not text.strip():
        conf.indent_type = "    "  # as `dvc remote add` writes a new file
    return conf


def remotes(text: str, source: str) -> tuple[str | None, dict[str, str]]:
    """(default remote name, {remote name: url})."""
    conf = _load(text, source)
    found: dict[str, str] = {}
    for section, body in conf.items():
        m = re.fullmatch(r'\s*remote\s+"(.+)"\s*', section)
        if m and isinstance(body, dict) and "url" in body:
            found[m.group(1)] = str(body["url"])
    core = conf.get("core", {})
    default = core.get("remote") if isinstance(core, dict) else None
    return (str(default) if default else None), found


def with_remote(text: str, name: str, url: str, make_default: bool, source: str) -> str:
    """``text`` with remote ``name`` set to ``url`` (and as the default)."""
    conf = _load(text, source)
    if make_default:
        conf.setdefault("core", {})["remote"] = name
    conf[f'remote "{name}"'] = {"url": url}
    lines: list[str] = conf.write()
    return "\n".join(lines) + "\n"


def normalise_url(url: str) -> str:
    """A remote URL as written to the config: URLs as given, local paths absolute."""
    if not url or any(ord(c) < 32 for c in url):
        raise UsageError(f"invalid remote {url!r}")
    if _URL_RE.match(url):
        return url
    return str(Path(url).expanduser().absolute())


OWN_FOLDER = "gitreg-"


def own_folder(url: str) -> str:
    """A folder of the registry's own in the remote ``url`` a user gave
    (``URL/gitreg-<8 hex>``). DVC's ``gc --cloud`` removes every object in
    its remote's folder that its own repository does not use: a training
    project sharing ``url`` would delete the registry's artifacts, and the
    registry's clones theirs. In a folder of its own, neither lists the
    other's objects."""
    return f"{url.rstrip('/')}/{OWN_FOLDER}{secrets.token_hex(4)}"


def is_own_folder(candidate: str | None, url: str) -> bool:
    """Whether ``candidate`` is a folder ``own_folder(url)`` could have made."""
    prefix = f"{url.rstrip('/')}/{OWN_FOLDER}"
    return candidate is not None and candidate.startswith(prefix) and "/" not in candidate[len(prefix) :]


def is_local(url: str) -> bool:
    return not _URL_RE.match(url)


def remote_options(text: str, source: str) -> dict[str, dict[str, str]]:
    """{remote name: its options} without credentials (secret options
    dropped, ``user:password@`` removed from the URL), to hand to others."""
    conf = _load(text, source)
    found: dict[str, dict[str, str]] = {}
    for section, body in conf.items():
        m = re.fullmatch(r'\s*remote\s+"(.+)"\s*', section)
        if m and isinstance(body, dict) and "url" in body:
            options = {str(k): str(v) for k, v in body.items() if not _SECRET_RE.search(str(k))}
            options["url"] = _USERINFO_RE.sub(r"\1", options["url"])
            found[m.group(1)] = options
    return found


def remote_section(text: str, source: str, name: str) -> dict[str, str] | None:
    """Every option of remote ``name`` as written (credentials too), or None."""
    for section, body in _load(text, source).items():
        m = re.fullmatch(r'\s*remote\s+"(.+)"\s*', section)
        if m and m.group(1) == name and isinstance(body, dict):
            return {str(k): str(v) for k, v in body.items()}
    return None


def config_text(remotes: dict[str, dict[str, str]]) -> str:
    """A DVC config that defines these remotes (and nothing else)."""
    conf = _load("", "generated")
    for name, options in remotes.items():
        conf[f'remote "{name}"'] = dict(options)
    lines: list[str] = conf.write()
    return "\n".join(lines) + "\n"
