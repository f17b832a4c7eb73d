"""A wheel of the running gitreg, built in memory from its own files.

``gitreg init --ci github`` commits it into the registry repository
(``.github/gitreg/``) so the generated workflows install exactly the gitreg
that wrote them, pinned by the registry's own history: never a name looked up
on a package index (the name ``gitreg`` on the public index belongs to an
unrelated project). The archive is reproducible: the same gitreg gives the
same bytes, so re-running ``init`` changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from importlib import metadata
from pathlib import Path

import gitreg

NAME = "gitreg"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip's earliest date: every entry the same, so the bytes are reproducible
_SUFFIXES = (".py", ".json", ".typed")


def filename() -> str:
    return f"{NAME}-{gitreg.__version__}-py3-none-any.whl"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _package_files() -> list[tuple[str, bytes]]:
    root = Path(gitreg.__file__).resolve().parent
    found = []
    for folder, dirnames, filenames in os.walk(root, followlinks=True):  # schemas/ may be a link
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = Path(folder) / name
            if path.suffix in _SUFFIXES and path.is_file():
                found.append((f"{NAME}/{path.relative_to(root).as_posix()}", path.read_bytes()))
    return sorted(found)


def _metadata() -> bytes:
    """The installed distribution's METADATA (name, version, requirements)."""
    try:
        text = metadata.distribution(NAME).read_text("METADATA")
    except metadata.PackageNotFoundError:
        text = None
    if not text:
        text = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {gitreg.__version__}\n"
    return text.encode("utf-8")


def build() -> bytes:
    """The wheel's bytes."""
    info = f"{NAME}-{gitreg.__version__}.dist-info"
    files = [
        *_package_files(),
        (f"{info}/METADATA", _metadata()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: gitreg\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{info}/entry_points.txt", b"[console_scripts]\ngitreg = gitreg.cli:main\n"),
    ]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files) + f"{info}/RECORD,,\n"
    files.append((f"{info}/RECORD", record.encode()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            entry = zipfile.ZipInfo(name, _EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return out.getvalue()
