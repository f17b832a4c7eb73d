"""Artifact bytes: checked, hashed the way DVC hashes them, stored in the DVC
cache and pushed to a DVC remote through DVC's own data layer.

``check_source`` is plain Python; everything else imports DVC, so callers
import this module only when they touch artifacts.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitreg.errors import ArtifactError, UsageError
from gitreg.manifest import Artifact


@dataclass(frozen=True)
class Source:
    """A checked artifact on disk."""

    path: Path
    is_dir: bool
    files: tuple[str, ...] = ()  # for folders: every file, as a sorted relative POSIX path


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_source(path: str | os.PathLike[str]) -> Source:
    """Refuse what cannot be stored faithfully and safely: missing paths,
    symlinks as the artifact, symlinks leading out of an artifact folder,
    dangling links, FIFOs, sockets and devices, empty folders."""
    given = Path(path)
    try:
        st = given.lstat()
    except FileNotFoundError:
        raise UsageError(f"artifact {given} does not exist") from None
    except OSError as exc:
        raise UsageError(f"artifact {given} cannot be read: {exc.strerror}") from exc
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"artifact {given} is a symbolic link; give the file or folder it points to")
    # The real path, without '..' or symlinked parents: DVC derives each
    # file's relative path from it.
    root = given.resolve()
    if stat.S_ISREG(st.st_mode):
        return Source(root, False)
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"artifact {given} is {_kind(st.st_mode)}")
    files: list[str] = []
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            entry = Path(folder) / name
            mode = entry.lstat().st_mode
            if stat.S_ISLNK(mode):
                target = entry.resolve()
                if not target.is_relative_to(root):
                    raise UsageError(f"artifact {given}: {entry} is a symbolic link leading outside the artifact")
                if not target.exists():
                    raise UsageError(f"artifact {given}: {entry} is a broken symbolic link")
                if target.is_dir():
                    raise UsageError(f"artifact {given}: {entry} is a symbolic link to a folder")
                files.append(entry.relative_to(root).as_posix())
            elif stat.S_ISREG(mode):
                files.append(entry.relative_to(root).as_posix())
            elif not stat.S_ISDIR(mode):
                raise UsageError(f"artifact {given}: {entry} is {_kind(mode)}")
            if name == ".dvcignore":
                raise UsageError(f"artifact {given}: contains a .dvcignore file, which DVC would not store")
    if not files:
        raise UsageError(f"artifact {given} is an empty folder")
    return Source(root, True, tuple(sorted(files)))


class Store:
    """The DVC cache and remote of a registry checkout (``.dvc/`` at ``root``)."""

    def __init__(self, root: Path, remote: str) -> None:
        from dvc.config import Config, ConfigError

        self.root = root
        self.remote_name = remote
        try:
            self.config: Any = Config(dvc_dir=str(root / ".dvc"))
        except ConfigError as exc:
            raise ArtifactError(f"{root / '.dvc'}: cannot read DVC configuration: {exc}") from exc

    def _cache_odb(self) -> Any:
        from dvc_data.hashfile.db import get_odb
        from dvc_objects.fs.local import LocalFileSystem

        cache = self.config.get("cache", {})
        folder = cache.get("dir") or str(self.root / ".dvc" / "cache")
        types = cache.get("type") or ["reflink", "copy"]
        if isinstance(types, str):
            types = [t.strip() for t in types.split(",")]
        fs: Any = LocalFileSystem()  # type: ignore[no-untyped-call]
        return get_odb(fs, fs.join(folder, "files", "md5"), hash_name="md5", type=types)  # type: ignore[no-untyped-call]

    def _remote_odb(self) -> Any:
        from dvc.config import ConfigError
        from dvc.fs import get_cloud_fs
        from dvc_data.hashfile.db import get_odb

        if self.remote_name not in self.config.get("remote", {}):
            raise ArtifactError(f"DVC remote {self.remote_name!r} is not configured in {self.root / '.dvc' / 'config'}")
        try:
            cls, conf, fs_path = get_cloud_fs(self.config, name=self.remote_name)
            fs = cls(**conf)
        except (ConfigError, ImportError) as exc:
            raise ArtifactError(f"DVC remote {self.remote_name!r} cannot be used: {exc}") from exc
        return get_odb(fs, fs.join(fs_path, "files", "md5"), hash_name="md5")  # type: ignore[no-untyped-call]

    def prepare(self, source: Source) -> Prepared:
        """Hash ``source`` (nothing is written yet) and check the remote is usable."""
        from dvc_data.hashfile.build import build
        from dvc_objects.fs.local import LocalFileSystem

        cache = self._cache_odb()
        remote = self._remote_odb()
        try:
            local: Any = LocalFileSystem()  # type: ignore[no-untyped-call]
            staging, meta, obj = build(cache, str(source.path), local, "md5")
        except OSError as exc:
            raise ArtifactError(f"reading artifact {source.path} failed: {exc}") from exc
        if source.is_dir:
            tree: Any = obj
            built = tuple(sorted("/".join(key) for key, _, _ in tree))
            if built != source.files:
                raise ArtifactError(
                    f"artifact {source.path}: DVC's listing of the folder does not match its files; nothing stored"
                )
        artifact = Artifact(
            path=source.path.name,
            md5=str(obj.hash_info.value),
            size=int(meta.size or 0),
            remote=self.remote_name,
            nfiles=int(meta.nfiles or 0) if source.is_dir else None,
        )
        return Prepared(artifact, source, (staging, cache, remote, obj.hash_info))

    def push(self, prepared: Prepared) -> None:
        """Copy a prepared artifact into the cache, then to the remote."""
        from dvc_data.hashfile.transfer import transfer

        staging, cache, remote, hash_info = prepared.handles
        try:
            transfer(staging, cache, {hash_info}, shallow=False, hardlink=False)
            result = transfer(cache, remote, {hash_info}, shallow=False)
        except OSError as exc:
            raise ArtifactError(f"storing artifact {prepared.source.path} failed: {exc}") from exc
        if result.failed:
            raise ArtifactError(
                f"pushing artifact {prepared.source.path} to DVC remote {self.remote_name!r} "
                f"failed for {len(result.failed)} object(s)"
            )


@dataclass(frozen=True)
class Prepared:
    """A hashed artifact, ready to push."""

    artifact: Artifact
    source: Source
    handles: tuple[Any, Any, Any, Any]
