"""Artifact bytes: checked, hashed the way DVC hashes them, stored in the DVC
cache and pushed to a DVC remote through DVC's own data layer.

``check_source`` is plain Python, and so is pushing a file to a remote that
is a plain local folder (``Folder``: DVC's layout, written without loading
DVC); everything else imports DVC, so callers import this module only when
they touch artifacts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import itertools
import json
import os
import posixpath
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitreg.documents.manifest import FILES_LISTED, Artifact, folder_sha256
from gitreg.errors import ArtifactError, GitregError, UsageError
from gitreg.storage import failpoints
from gitreg.storage.credentials import redact


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


# a URL, or percent-encoded dots, slashes or NUL that a decoder would turn into a path
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|%(?:2e|2f|5c|00)", re.IGNORECASE)
_KERNEL_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_source(path: str | os.PathLike[str]) -> Source:
    """Refuse what cannot be stored faithfully and safely: URLs and
    encoded dots and slashes (an artifact is a local path, taken literally),
    missing paths, symlinks as the artifact, symlinks leading out of an
    artifact folder, dangling links, hard links (the same bytes under another
    name, perhaps outside), FIFOs, sockets and devices, files of the kernel's
    pseudo-filesystems, empty folders."""
    text = os.fspath(path)
    if _URL_RE.search(text):
        raise UsageError(f"artifact {text!r} is a URL or percent-encoded: give a local file or folder path")
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
    for kernel in _KERNEL_FOLDERS:
        if root.is_relative_to(kernel):
            raise UsageError(f"artifact {given} is in {kernel}, a kernel pseudo-filesystem")
    if any(is_git_name(part) for part in root.parts):
        raise UsageError(f"artifact {given} is, or is inside, a .git folder: give a file or folder of your own")
    if not root.name or root.name.startswith("."):
        raise UsageError(
            f"artifact {given}: its name {root.name!r} starts with '.' (a pull would write a hidden file or "
            "folder such as .git); rename it"
        )
    if stat.S_ISREG(st.st_mode):
        _refuse_hard_link(given, given, st)
        return Source(root, False)
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"artifact {given} is {_kind(st.st_mode)}")
    files: list[str] = []
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            entry = Path(folder) / name
            if is_git_name(name):
                raise UsageError(f"artifact {given}: {entry} is named like a .git folder, which a pull must not write")
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
                _refuse_hard_link(given, entry, entry.lstat())
                files.append(entry.relative_to(root).as_posix())
            elif not stat.S_ISDIR(mode):
                raise UsageError(f"artifact {given}: {entry} is {_kind(mode)}")
            if name == ".dvcignore":
                raise UsageError(f"artifact {given}: contains a .dvcignore file, which DVC would not store")
    if not files:
        raise UsageError(f"artifact {given} is an empty folder")
    return Source(root, True, tuple(sorted(files)))


def check_destination(destination: Path, is_dir: bool) -> None:
    """Refuse a pull that would write inside a ``.git`` folder, write a
    ``.git`` (a folder, or a file pointing git elsewhere), or create or
    replace any hidden folder (``.gitreg``, ``.dvc``, ...)."""
    parts = destination.absolute().parts
    if any(is_git_name(p) for p in parts):
        raise UsageError(f"pull destination {destination} is, or is inside, a .git folder")
    if destination.name.startswith(".") and (is_dir or destination.is_dir()):
        raise UsageError(f"pull destination {destination} would create or replace a hidden folder; choose another -o")


def sweep(folder: Path, prefix: str) -> None:
    """Remove what killed runs left in ``folder``: entries named ``PREFIX<pid>-…``
    whose process no longer exists (a live one is another run at work)."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


def remove_path(path: Path) -> None:
    """Remove a pulled file or folder (bytes that failed a check)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _refuse_hard_link(given: Path, entry: Path, st: os.stat_result) -> None:
    if st.st_nlink > 1:
        where = "" if entry == given else f"{entry} "
        raise UsageError(
            f"artifact {given}: {where}is a hard link ({st.st_nlink} names for the same file); register a copy"
        )


class Store:
    """The DVC cache and remote of a registry checkout (``.dvc/`` at ``root``)."""

    def __init__(self, root: Path, remote: str, *, progress: Progress | None = None) -> None:
        self.root = root
        self.remote_name = remote
        self._fresh: dict[str, str] = {}  # objects this process fetched and hashed: their SHA-256
        self.progress = progress  # told of each large transfer as it goes

    @functools.cached_property
    def config(self) -> Any:
        """DVC's merged configuration (repository, local, global, system)."""
        from dvc.config import Config, ConfigError

        try:
            return Config(dvc_dir=str(self.root / ".dvc"))
        except ConfigError as exc:
            raise ArtifactError(f"{self.root / '.dvc'}: cannot read DVC configuration: {exc}") from exc

    @functools.cached_property
    def _folder(self) -> Folder | None:
        """The remote as a plain folder, when DVC's view of it can be no other:
        defined in ``.dvc/config`` by an absolute local path and nothing else,
        no ``config.local`` beside it (``gitreg init``'s default remote)."""
        from gitreg.storage import dvcconfig

        dvc_dir = self.root / ".dvc"
        if (dvc_dir / "config.local").exists():
            return None
        try:
            text = (dvc_dir / "config").read_text("utf-8")
            options = dvcconfig.remote_section(text, str(dvc_dir / "config"), self.remote_name)
        except (OSError, UnicodeDecodeError, GitregError):
            return None
        if options is None or set(options) != {"url"}:
            return None
        url = options["url"]
        return Folder(url) if dvcconfig.is_local(url) and os.path.isabs(url) else None

    @classmethod
    def detached(cls, name: str, options: dict[str, str], folder: Path) -> Store:
        """A store for a remote known only by its options (e.g. from an
        export), configured in ``folder`` (credentials come from the
        environment, as DVC reads them)."""
        from gitreg.storage import dvcconfig

        (folder / ".dvc").mkdir(parents=True, exist_ok=True)
        (folder / ".dvc" / "config").write_text(dvcconfig.config_text({name: options}), encoding="utf-8")
        return cls(folder, name)

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

    @contextlib.contextmanager
    def _remote_errors(self, doing: str) -> Iterator[None]:
        """Whatever the remote's client raises (OSError, botocore, ...) becomes
        one line naming the remote and its URL, credentials removed."""
        try:
            yield
        except GitregError:
            raise
        except Exception as exc:  # the remote clients raise open-ended exception types
            url = (
                self._folder.url if self._folder else self.config.get("remote", {}).get(self.remote_name, {}).get("url")
            )
            url = redact(str(url or "?"))
            detail = redact(str(exc)).splitlines()[0] if str(exc) else ""
            raise ArtifactError(
                f"{doing} failed: DVC remote {self.remote_name!r} ({url}): {type(exc).__name__}: {detail}"
            ) from exc

    def prepare(self, source: Source) -> Prepared:
        """Check the remote is usable; hash a folder (nothing is written yet).
        A file is hashed while it is pushed, so it is read only once."""
        if not source.is_dir:  # streamed to the remote: no DVC cache involved
            return Prepared(None, source, (None, None, self._folder or self._remote_odb(), None))
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
        digests = _file_digests(source)
        artifact = Artifact(
            path=source.path.name,
            md5=str(obj.hash_info.value),
            size=int(meta.size or 0),
            remote=self.remote_name,
            nfiles=int(meta.nfiles or 0) if source.is_dir else None,
            sha256=folder_sha256(digests),
            files=digests if len(digests) <= FILES_LISTED else None,
        )
        return Prepared(artifact, source, (staging, cache, remote, obj.hash_info))

    def push(self, prepared: Prepared) -> Artifact:
        """Store a prepared artifact in the remote; its manifest entry. A file
        streams straight from its source to the remote, hashed on the way: one
        read and one write. A folder goes through the DVC cache."""
        staging, cache, remote, hash_info = prepared.handles
        if prepared.artifact is None:
            md5, sha256, size = self._upload_file(prepared.source.path, remote)
            return Artifact(prepared.source.path.name, md5, size, self.remote_name, sha256=sha256)
        from dvc_data.hashfile.transfer import transfer

        try:
            transfer(staging, cache, {hash_info}, shallow=False, hardlink=False)
        except OSError as exc:
            raise ArtifactError(f"storing artifact {prepared.source.path} in the DVC cache failed: {exc}") from exc
        self._drop_damaged(cache, remote, str(hash_info.value))
        with self._remote_errors(f"pushing artifact {prepared.source.path}"):
            result = transfer(cache, remote, {hash_info}, shallow=False)
        if result.failed:
            raise ArtifactError(
                f"pushing artifact {prepared.source.path} to DVC remote {self.remote_name!r} "
                f"failed for {len(result.failed)} object(s)"
            )
        return prepared.artifact

    @contextlib.contextmanager
    def _bar(self, label: str, total: Callable[[], int]) -> Iterator[Callable[[int], object]]:
        """The progress callback's counter for a transfer over
        PROGRESS_MIN_BYTES (the CLI draws a bar when stderr is a terminal)."""
        size = total() if self.progress else 0
        if self.progress is None or size < PROGRESS_MIN_BYTES:
            yield lambda n: None
            return
        with self.progress(label, size) as update:
            yield update

    def _upload_file(self, path: Path, remote: Any) -> tuple[str, str, int]:
        """Copy ``path`` to the remote, hashing it on the way: (md5, sha256, size)."""
        with path.open("rb") as src:
            return self._put(src, remote, f"push {path.name}", lambda: path.stat().st_size, f"pushing artifact {path}")

    def _put(
        self, src: Any, remote: Any, label: str, total: Callable[[], int], doing: str, expect: str | None = None
    ) -> tuple[str, str, int]:
        """Stream ``src`` to the remote under a temporary name, hashing it on
        the way, then move it to its content address: (object id, sha256,
        size). With ``expect``, bytes that do not hash to it are dropped
        (ArtifactError)."""
        suffix = ".dir" if expect and expect.endswith(".dir") else ""
        with self._remote_errors(doing):
            remote.fs.makedirs(remote.path, exist_ok=True)
            partial = remote.fs.join(remote.path, f".gitreg-upload-{os.getpid()}-{uuid.uuid4().hex}")
            try:
                with remote.fs.open(partial, "wb") as dst, self._bar(label, total) as advance:
                    md5, sha256, size = _copy_hashing(src, dst, advance)
                oid = md5 + suffix
                if expect is not None and oid != expect:
                    raise ArtifactError(f"hash mismatch while {doing}: expected md5 {expect}, got {oid}")
                final = object_path(remote, oid)
                if not self._intact(remote, oid, size):  # content-addressed: stored once, unless damaged
                    remote.fs.makedirs(remote.fs.parent(final), exist_ok=True)
                    if remote.fs.exists(final):
                        remote.fs.rm(final)
                    remote.fs.mv(partial, final)
            finally:
                if remote.fs.exists(partial):
                    remote.fs.rm(partial)
        return oid, sha256, size

    def _drop_damaged(self, cache: Any, remote: Any, listing_oid: str) -> None:
        """Before DVC copies a folder's objects (it skips those the remote
        has), remove from the remote any of them that is there but damaged,
        so the good copy from the cache replaces it."""
        raw = Path(object_path(cache, listing_oid)).read_bytes()
        objects = [listing_oid, *dict.fromkeys(md5 for _, md5 in _listing(raw, listing_oid))]
        for oid in objects:
            size = Path(object_path(cache, oid)).stat().st_size
            location = object_path(remote, oid)
            with self._remote_errors(f"checking object {oid}"):
                if remote.fs.exists(location) and not self._intact(remote, oid, size):
                    remote.fs.rm(location)

    def _intact(self, remote: Any, oid: str, size: int | None) -> bool:
        """Whether the remote holds object ``oid`` whole: present, of the
        expected size, and (where reading it back is cheap: a local folder,
        or at most CHEAP_CHECK_BYTES) hashing to its name. An object is never
        trusted by its name alone: a damaged one is replaced, not reused."""
        location = object_path(remote, oid)
        with self._remote_errors(f"checking object {oid}"):
            if not remote.fs.exists(location):
                return False
            stored = int(remote.fs.size(location))
            if size is not None and stored != size:
                return False
            if not (isinstance(remote, Folder) or _is_local(remote) or stored <= CHEAP_CHECK_BYTES):
                return True
            with remote.fs.open(location, "rb") as stream:
                return _md5_of(stream) + (".dir" if oid.endswith(".dir") else "") == oid

    def copy_to(self, target: Store, artifact: Artifact) -> dict[str, str]:
        """Copy the artifact's objects from this store's remote to
        ``target``'s (members before the folder listing), each re-hashed on
        the way; objects the target already has are skipped. Returns
        {object id: SHA-256} of those copied."""
        source, dest = self._remote_odb(), target._remote_odb()
        oids = [md5 for _, md5 in self.listing(artifact.md5)] if artifact.is_dir else []
        oids.append(artifact.md5)
        copied: dict[str, str] = {}
        for oid in dict.fromkeys(oids):
            location = object_path(source, oid)
            with self._remote_errors(f"reading object {oid}"):
                size = int(source.fs.size(location))
            if target._intact(dest, oid, size):
                continue
            with self._remote_errors(f"reading object {oid}"), source.fs.open(location, "rb") as src:
                _, copied[oid], _ = target._put(
                    src,
                    dest,
                    f"copy {artifact.path}",
                    functools.partial(source.fs.size, location),
                    f"copying object {oid} of {artifact.path}",
                    expect=oid,
                )
        return copied

    def sealed(self, artifact: Artifact, known: Mapping[str, str] | None = None) -> Artifact:
        """``artifact`` with its SHA-256 (and a folder's per file), read from
        the remote, every object's md5 checked on the way (for bytes stored
        by another tool, e.g. copied from a GTO registry's remote); objects
        in ``known`` ({object id: SHA-256}, as ``copy_to`` just hashed and
        checked them) are not read again."""
        known = known or {}
        remote = self._remote_odb()
        oids = {"": artifact.md5}
        if artifact.is_dir:
            oids = dict(self.listing(artifact.md5))
        digests: dict[str, str] = {}
        for relpath, oid in oids.items():
            if oid in known:
                digests[relpath] = known[oid]
                continue
            where = f"{artifact.path}/{relpath}" if relpath else artifact.path
            with self._remote_errors(f"reading {where}"), remote.fs.open(object_path(remote, oid), "rb") as stream:
                md5, digests[relpath], _ = _copy_hashing(stream, _Sink())
            if md5 != oid:
                raise ArtifactError(
                    f"hash mismatch for {where}: expected md5 {oid}, got {md5} (in DVC remote {self.remote_name!r})"
                )
        if not artifact.is_dir:
            return dataclasses.replace(artifact, sha256=digests[""])
        files = digests if len(digests) <= FILES_LISTED else None
        return dataclasses.replace(artifact, sha256=folder_sha256(digests), files=files)

    # -- reading back ------------------------------------------------------

    def _fetch(self, oids: list[str], remote: Any, cache: Any, where: str) -> None:
        """Download these objects into the cache, each hashed on the way and
        moved into place only if it matches (objects already cached are
        skipped). The remote is only ever read."""
        for oid in oids:
            target = Path(object_path(cache, oid))
            if target.exists():
                continue
            source = object_path(remote, oid)
            target.parent.mkdir(parents=True, exist_ok=True)
            sweep(target.parent, _PARTIAL)
            partial = target.with_name(f"{_PARTIAL}{os.getpid()}-{target.name}")
            try:
                with (
                    self._remote_errors(f"reading {where}"),
                    remote.fs.open(source, "rb") as src,
                    partial.open("wb") as dst,
                    self._bar(f"pull {where}", functools.partial(remote.fs.size, source)) as advance,
                ):
                    md5, sha256, _ = _copy_hashing(src, dst, advance)
            except ArtifactError as exc:
                partial.unlink(missing_ok=True)
                if isinstance(exc.__cause__, FileNotFoundError):
                    raise ArtifactError(
                        f"{where}: object {oid} is missing from DVC remote {self.remote_name!r}"
                    ) from None
                raise
            actual = md5 + (".dir" if oid.endswith(".dir") else "")
            if actual != oid:
                partial.unlink(missing_ok=True)
                raise ArtifactError(
                    f"hash mismatch for {where}: expected md5 {oid}, got {actual} (in DVC remote {self.remote_name!r})"
                )
            partial.chmod(0o444)
            os.replace(partial, target)
            self._fresh[oid] = sha256

    def _copy_checked(self, cache: Any, oid: str, target: Path, where: str) -> str:
        """Copy a cached object to ``target``, hashing every byte on the way
        (unless this process just fetched and checked it); a corrupted cache
        copy is dropped and fetched again once. Returns the bytes' SHA-256."""
        if oid in self._fresh:
            shutil.copyfile(object_path(cache, oid), target)
            return self._fresh[oid]
        for attempt in (1, 2):
            source = Path(object_path(cache, oid))
            with source.open("rb") as src, target.open("wb") as dst:
                actual, sha256, _ = _copy_hashing(src, dst)
            if actual == oid:
                return sha256
            source.chmod(0o644)
            source.unlink()
            if attempt == 1:
                self._fetch([oid], self._remote_odb(), cache, where)
        raise ArtifactError(
            f"hash mismatch for {where}: expected md5 {oid}, got {actual} (from DVC remote {self.remote_name!r})"
        )

    def pull(self, artifact: Artifact, destination: Path, force: bool = False) -> Path:
        """Fetch the artifact into the local cache and write it to
        ``destination``, verifying every byte; it appears whole or not at all."""
        check_destination(destination, artifact.is_dir)
        if (destination.exists() or destination.is_symlink()) and not force:
            raise UsageError(f"{destination} already exists (use --force to replace it)")
        cache, remote = self._cache_odb(), self._remote_odb()
        destination.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{destination.name}.gitreg-"
        sweep(destination.parent, prefix)
        scratch = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=destination.parent))
        try:
            built = scratch / destination.name
            if artifact.is_dir:
                listing_oid = artifact.md5
                self._fetch([listing_oid], remote, cache, f"{artifact.path} (folder listing)")
                raw = Path(object_path(cache, listing_oid)).read_bytes()
                if hashlib.md5(raw, usedforsecurity=False).hexdigest() + ".dir" != listing_oid:
                    Path(object_path(cache, listing_oid)).unlink()  # a damaged cache copy: fetch it again
                    self._fetch([listing_oid], remote, cache, f"{artifact.path} (folder listing)")
                    raw = Path(object_path(cache, listing_oid)).read_bytes()
                entries = _listing(raw, listing_oid)
                built.mkdir()
                digests = {}
                for relpath, md5 in entries:
                    self._fetch([md5], remote, cache, f"{artifact.path}/{relpath}")
                    target = built / relpath
                    target.parent.mkdir(parents=True, exist_ok=True)
                    digests[relpath] = self._copy_checked(cache, md5, target, f"{artifact.path}/{relpath}")
                _check_sha256(artifact, digests)
            else:
                self._fetch([artifact.md5], remote, cache, artifact.path)
                _check_sha256(artifact, {"": self._copy_checked(cache, artifact.md5, built, artifact.path)})
            failpoints.reach("during-pull")
            if destination.exists() or destination.is_symlink():
                old = scratch / ".replaced"
                os.replace(destination, old)
            os.replace(built, destination)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return destination

    def listing(self, oid: str) -> list[tuple[str, str]]:
        """(relpath, md5) of a folder artifact, read from the remote; empty
        when the remote no longer has the listing."""
        remote = self._remote_odb()
        location = object_path(remote, oid)
        with self._remote_errors(f"reading folder listing {oid}"):
            if not remote.fs.exists(location):
                return []
            with remote.fs.open(location, "rb") as stream:
                return _listing(stream.read(), oid)

    def remove(self, oid: str) -> bool:
        """Delete one object from the remote; False if it was not there."""
        remote = self._remote_odb()
        location = object_path(remote, oid)
        with self._remote_errors(f"removing object {oid}"):
            if not remote.fs.exists(location):
                return False
            remote.fs.rm(location)
        return True

    def verify(self, artifact: Artifact, deep: bool = False, repair: bool = False) -> list[Problem]:
        """Objects of the artifact that the remote lacks or (``deep``: every
        byte re-hashed) holds with other content. With ``repair``, each such
        object is put back from this clone's DVC cache where it holds the
        good bytes (checked by hash first); those come back ``repaired``."""
        problems = self._problems(artifact, deep)
        if not repair or not problems:
            return problems
        healed = [p for p in problems if self._heal(p.oid)]
        if not healed:
            return problems
        remaining = self._problems(artifact, deep)
        left = {p.oid for p in remaining}
        return [dataclasses.replace(p, repaired=True) for p in healed if p.oid not in left] + remaining

    def _heal(self, oid: str) -> bool:
        """Upload the cache's copy of ``oid`` over the remote's, if the
        cache's copy is good; False when this clone has no good copy."""
        source = Path(object_path(self._cache_odb(), oid))
        try:
            with source.open("rb") as stream:
                good = _md5_of(stream) + (".dir" if oid.endswith(".dir") else "") == oid
        except OSError:
            return False
        if not good:
            return False
        with source.open("rb") as src:
            self._put(
                src, self._remote_odb(), f"repair {oid}", lambda: source.stat().st_size, f"repairing {oid}", expect=oid
            )
        return True

    def _problems(self, artifact: Artifact, deep: bool) -> list[Problem]:
        remote = self._remote_odb()
        problems: list[Problem] = []
        digests: dict[str, str] = {}  # deep: {relpath: sha256} of the files read ("" for a file artifact)
        oids: dict[str, str] = {"": artifact.md5}  # {relpath: md5}

        def check(path: str, oid: str, relpath: str) -> bytes | None:
            location = object_path(remote, oid)
            with self._remote_errors(f"checking {path}"):
                if not remote.fs.exists(location):
                    problems.append(Problem(path, oid, "missing"))
                    return None
                if not deep and not oid.endswith(".dir"):
                    return None
                with remote.fs.open(location, "rb") as stream:
                    if not oid.endswith(".dir"):
                        actual, digests[relpath], _ = _copy_hashing(stream, _Sink())
                        raw = None
                    else:
                        listing = stream.read()
                        actual, raw = hashlib.md5(listing, usedforsecurity=False).hexdigest() + ".dir", listing
            if actual != oid:
                problems.append(Problem(path, oid, "corrupted", actual))
                return None
            return raw

        raw = check(artifact.path, artifact.md5, "")
        if raw is not None:
            for relpath, md5 in _listing(raw, artifact.md5):
                oids[relpath] = md5
                check(f"{artifact.path}/{relpath}", md5, relpath)
        if deep and not problems:
            problems += [
                Problem(where, oids.get(relpath, artifact.md5), "corrupted", got, digest="sha256", expected=expected)
                for where, relpath, expected, got in _sha256_mismatches(artifact, digests)
            ]
        return problems


@dataclass(frozen=True)
class Prepared:
    """An artifact ready to push (a folder already hashed; a file is hashed
    as it is pushed, so its entry is not known yet)."""

    artifact: Artifact | None
    source: Source
    handles: tuple[Any, Any, Any, Any]


class Folder:
    """A local DVC remote written the way DVC writes one (``<url>/files/md5/
    ab/cdef…``, moved into place from a temporary name in the same folder),
    without loading DVC. It offers the part of DVC's object database and
    filesystem interface that ``Store._put`` uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = os.path.join(url, "files", "md5")
        self.fs = self

    def oid_to_path(self, oid: str) -> str:
        return os.path.join(self.path, oid[:2], oid[2:])

    @staticmethod
    def join(*parts: str) -> str:
        return os.path.join(*parts)

    @staticmethod
    def parent(path: str) -> str:
        return os.path.dirname(path)

    @staticmethod
    def makedirs(path: str, exist_ok: bool = False) -> None:
        os.makedirs(path, exist_ok=exist_ok)

    @staticmethod
    def open(path: str, mode: str) -> Any:
        return open(path, mode)  # the caller's with-block closes it

    @staticmethod
    def exists(path: str) -> bool:
        return os.path.lexists(path)

    @staticmethod
    def mv(source: str, target: str) -> None:
        os.replace(source, target)

    @staticmethod
    def rm(path: str) -> None:
        os.unlink(path)

    @staticmethod
    def size(path: str) -> int:
        return os.stat(path).st_size


CHUNK = 4 * 1024 * 1024
CHEAP_CHECK_BYTES = 16 * 1024 * 1024  # an existing remote object this small is re-hashed before it is reused
_PARTIAL = ".gitreg-partial-"  # an object being fetched into the cache: _PARTIAL<pid>-<name>
_OBJECT_ID = re.compile(r"[0-9a-f]{32}(?:\.dir)?")
_MEMBER_ID = re.compile(r"[0-9a-f]{32}")


def object_path(odb: Any, oid: str) -> str:
    """Where ``odb`` (a DVC object database, or ``Folder``) keeps object
    ``oid``: only for a well-formed id (32 hex digits, ``.dir`` for a folder
    listing), and only when the path is proven to lie inside the database's
    folder. Every id read from a manifest or a listing goes through here
    before it names a file to read, write, chmod or delete."""
    if not isinstance(oid, str) or not _OBJECT_ID.fullmatch(oid):
        raise ArtifactError(f"{str(oid)[:80]!r} is not a DVC md5 object id")
    where = str(odb.oid_to_path(oid))
    root = str(odb.path).rstrip("/")
    normal = posixpath.normpath(where.replace(os.sep, "/"))
    if normal != where.replace(os.sep, "/") or not normal.startswith(root.replace(os.sep, "/") + "/"):
        raise ArtifactError(f"object {oid} would be stored outside {root}")
    return where


PROGRESS_MIN_BYTES = 8 * 1024 * 1024
# Told of a transfer (its label, its size in bytes), yields the function
# called with the size of each chunk as it goes.
Progress = Callable[[str, int], AbstractContextManager[Callable[[int], object]]]


@dataclass(frozen=True)
class Problem:
    """An object of a version's artifact that the remote lacks or holds wrong."""

    path: str  # the artifact's name, or name/relative path for a file in a folder
    oid: str
    problem: str  # missing | corrupted
    actual: str | None = None
    repaired: bool = False  # put back from a good local copy (``verify --repair``)
    digest: str = "md5"  # the digest that disagreed: md5, or sha256 (the md5 matched: bytes made to collide)
    expected: str | None = None  # with sha256: the manifest's


def _copy_hashing(src: Any, dst: Any, advance: Callable[[int], object] = lambda n: None) -> tuple[str, str, int]:
    """Copy a stream while hashing it: (md5, sha256, size). The write of
    one chunk and its SHA-256 run beside the md5 of the next (hashlib
    releases the GIL), so a copy costs about one read, one write and the
    slower hash running side by side."""
    from concurrent.futures import Future, ThreadPoolExecutor

    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    first = src.read(CHUNK)
    second = src.read(CHUNK) if first else b""
    if not second:  # all of it in one read: no helper threads (1,000 small objects would start 2,000)
        dst.write(first)
        md5.update(first)
        sha256.update(first)
        advance(len(first))
        return md5.hexdigest(), sha256.hexdigest(), len(first)
    size = 0
    with ThreadPoolExecutor(max_workers=2) as helpers:
        pending: list[Future[Any]] = []
        for chunk in itertools.chain((first, second), iter(functools.partial(src.read, CHUNK), b"")):
            for done in pending:
                done.result()
            pending = [helpers.submit(dst.write, chunk), helpers.submit(sha256.update, chunk)]
            md5.update(chunk)
            size += len(chunk)
            advance(len(chunk))
        for done in pending:
            done.result()
    return md5.hexdigest(), sha256.hexdigest(), size


def _file_digests(source: Source) -> dict[str, str]:
    """{relpath: sha256} of a folder's files."""
    return {relpath: _sha256_of(source.path / relpath) for relpath in source.files}


def digests_on_disk(path: Path) -> dict[str, str]:
    """{relpath: sha256} of the files at ``path`` as pulled (a file's under
    ""), the form ``_check_sha256`` and ``signatures.rehashed`` compare."""
    if path.is_file():
        return {"": _sha256_of(path)}
    return {f.relative_to(path).as_posix(): _sha256_of(f) for f in sorted(path.rglob("*")) if f.is_file()}


def check_on_disk(artifact: Artifact, path: Path) -> None:
    """Refuse the bytes at ``path`` unless they hash to the manifest's
    SHA-256 (re-read now: a copy cached earlier may have been changed since)."""
    if artifact.sha256 is None:
        raise ArtifactError(f"{artifact.path}: the manifest records no SHA-256 to check the bytes against")
    _check_sha256(artifact, digests_on_disk(path))


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(artifact: Artifact, found: dict[str, str]) -> None:
    """Refuse bytes whose SHA-256 is not the manifest's (their md5 matched:
    only a collision, made on purpose, gets here). ``found``: {relpath:
    sha256}; a file's under ""."""
    for where, _, expected, got in _sha256_mismatches(artifact, found)[:1]:
        raise ArtifactError(
            f"sha256 mismatch for {where}: expected {expected}, got {got} (its md5 matches: bytes made to collide)"
        )


def _sha256_mismatches(artifact: Artifact, found: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(where, relpath, expected, got) for each file whose SHA-256 is not
    the manifest's, or else the whole folder when its files together are
    not; none for a manifest without SHA-256 (registered before gitreg
    recorded it). ``found``: {relpath: sha256}, a file's under ""."""
    if artifact.sha256 is None:
        return []
    if not artifact.is_dir:
        got = found.get("", "")
        return [] if got == artifact.sha256 else [(artifact.path, "", artifact.sha256, got)]
    wrong = [
        (f"{artifact.path}/{relpath}", relpath, expected, found.get(relpath, ""))
        for relpath, expected in (artifact.files or {}).items()
        if found.get(relpath) != expected
    ]
    if not wrong and folder_sha256(found) != artifact.sha256:
        wrong.append((f"folder {artifact.path}", "", artifact.sha256, folder_sha256(found)))
    return wrong


class _Sink:
    """A stream that keeps nothing: hashing without a copy."""

    @staticmethod
    def write(data: bytes) -> int:
        return len(data)


def _is_local(odb: Any) -> bool:
    return getattr(getattr(odb, "fs", None), "protocol", None) in ("local", ("file", "local"))


def _md5_of(stream: Any) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _listing(raw: bytes, oid: str) -> list[tuple[str, str]]:
    """(relpath, md5) of a DVC folder listing (a .dir object), trusted in
    nothing: every md5 must be 32 hex digits (it names a file in the cache
    and the remote), every path a relative one that stays inside the folder,
    with no ``.git`` component (a pulled folder must not plant a repository's
    hooks or config), and no path given twice or both as file and folder."""
    try:
        entries = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ArtifactError(f"folder listing {oid} is not valid JSON") from exc
    if not isinstance(entries, list):
        raise ArtifactError(f"folder listing {oid} is not a list")
    found = []
    for entry in entries:
        relpath, md5 = (entry.get("relpath"), entry.get("md5")) if isinstance(entry, dict) else (None, None)
        if not isinstance(relpath, str) or not isinstance(md5, str):
            raise ArtifactError(f"folder listing {oid} has a malformed entry")
        if not _MEMBER_ID.fullmatch(md5):
            raise ArtifactError(f"folder listing {oid} has an entry whose md5 {md5[:80]!r} is not 32 hex digits")
        parts = relpath.split("/")
        if relpath.startswith("/") or any(p in ("", ".", "..") or "\x00" in p or "\\" in p for p in parts):
            raise ArtifactError(f"folder listing {oid} has an unsafe path {relpath[:200]!r}; nothing written")
        if any(is_git_name(p) for p in parts):
            raise ArtifactError(f"folder listing {oid} has a path inside a .git folder {relpath[:200]!r}")
        found.append((relpath, md5))
    paths = {relpath for relpath, _ in found}
    folders = {"/".join(r.split("/")[:i]) for r in paths for i in range(1, r.count("/") + 1)}
    if len(paths) != len(found) or paths & folders:
        raise ArtifactError(f"folder listing {oid} names a path twice, or as both a file and a folder")
    return found


def is_git_name(name: str) -> bool:
    """A file name git (or a case-insensitive or 8.3 file system) would take
    for the ``.git`` folder: ``.git``, ``.GIT``, ``git~1``, ``.git.``."""
    folded = name.lower().rstrip(". ")
    return folded in (".git", "git~1")
