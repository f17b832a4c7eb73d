"""Parsed registry documents remembered between commands, keyed by their bytes.

Reading a document means YAML parsing and schema validation, and a short read
command spends about a third of its time importing those two libraries. What
they produce depends only on the document's bytes, its kind and the code that
judges it, so the answer is kept under (kind, digest of the bytes) in a SQLite
file inside the repository's git folder, one file per *generation*: a digest
of the code that decides what is kept (``yamlio``, ``schema``, ``layout``,
``names``, ``snapshot``, ``dvcconfig``, the schemas, the installed YAML and
JSON Schema libraries). New code means a new file, never a stale answer. Only documents
that passed are kept; a rejected one is judged again each time. The same file
keeps the remotes read from a ``.dvc/config``, and what is derived from a git
object id (a listing's line for a model, from its folder's tree id): ids are
digests of content too.

It is a cache and nothing depends on it: a git folder that cannot be written,
a locked or damaged file, or ``GITREG_PARSE_MEMO=0`` only mean documents are
parsed as before. ``gitreg check`` never uses it: the gate parses every
document itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable
from importlib.machinery import PathFinder
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitreg.storage.git import Repo

ENV = "GITREG_PARSE_MEMO"
FOLDER = "gitreg"  # inside the git folder
# gitreg's modules whose code decides what is remembered: documents, and model lines of a listing
_JUDGES = (
    "documents/yamlio.py",
    "documents/schema.py",
    "documents/layout.py",
    "documents/names.py",
    "core/snapshot.py",
    "storage/dvcconfig.py",
)
_LIBRARIES = ("yaml", "jsonschema", "jsonschema_rs")
_FLUSH_AT = 2000  # answers kept in memory before they are written


def generation() -> str:
    """A digest of everything that decides how a document parses."""
    digest = hashlib.blake2b(digest_size=10)
    here = Path(__file__).parent.parent  # the gitreg package
    for path in [here / name for name in _JUDGES] + sorted((here / "schemas").glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in _LIBRARIES:  # an upgrade rewrites the package's files: size and time change
        spec = PathFinder.find_spec(name)
        origin = spec.origin if spec is not None else None
        stat = os.stat(origin) if origin else None
        digest.update(f"{name} {origin} {stat and stat.st_size} {stat and stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


class Memo:
    """Validated documents of one repository, by (kind, content digest)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / f"parsed-{generation()}.sqlite"
        self._db: sqlite3.Connection | None = None
        self._off = False
        self._pending: dict[bytes, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(kind: str, data: bytes) -> bytes:
        return kind.encode() + b":" + hashlib.blake2b(data, digest_size=20).digest()

    def get(self, kind: str, data: bytes) -> Any:
        """The validated document for ``data``, or None when not known."""
        return self._get(self.key(kind, data))

    def put(self, kind: str, data: bytes, doc: Any) -> None:
        """Remember that ``data`` is the valid ``kind`` document ``doc``."""
        self._put(self.key(kind, data), doc)

    def recall(self, kind: str, data: bytes, compute: Callable[[], Any]) -> Any:
        """The value kept for ``data``, else ``compute()``, then kept (what
        raises is not)."""
        found = self.get(kind, data)
        if found is None:
            found = compute()
            self.put(kind, data, found)
        return found

    def get_derived(self, kind: str, oid: str) -> Any:
        """What was derived from git object ``oid`` (a tree, say) as ``kind``."""
        return self._get(kind.encode() + b"@" + bytes.fromhex(oid))

    def put_derived(self, kind: str, oid: str, value: Any) -> None:
        self._put(kind.encode() + b"@" + bytes.fromhex(oid), value)

    def _get(self, key: bytes) -> Any:
        with self._lock:
            text = self._pending.get(key)
            if text is None:
                db = self._connect()
                if db is None:
                    return None
                try:
                    row = db.execute("SELECT doc FROM docs WHERE key = ?", (key,)).fetchone()
                except sqlite3.Error as exc:
                    self._failed(exc)
                    return None
                if row is None:
                    return None
                text = row[0]
        return json.loads(text)

    def _put(self, key: bytes, value: Any) -> None:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))  # ASCII: lone surrogates survive
        with self._lock:
            if self._off:
                return
            self._pending[key] = text
            if len(self._pending) >= _FLUSH_AT:
                self._flush()

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def close(self) -> None:
        with self._lock:
            self._flush()
            if self._db is not None:
                self._db.close()
                self._db = None

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        db = self._connect() if pending else None
        if db is None:
            return
        try:
            with db:  # one transaction; another writer is waited for at most 0.2 s, then the answers are dropped
                db.executemany("INSERT OR IGNORE INTO docs (key, doc) VALUES (?, ?)", pending.items())
        except sqlite3.Error as exc:
            self._failed(exc)

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None or self._off:
            return self._db
        try:
            if not self.path.exists():
                self.folder.mkdir(exist_ok=True)
                for old in self.folder.glob("parsed-*.sqlite*"):  # answers of other code: never read again
                    old.unlink(missing_ok=True)
            db = sqlite3.connect(self.path, timeout=0.2, isolation_level=None, check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
                db.execute("PRAGMA synchronous=OFF")  # a cache: a torn write is detected and dropped
                db.execute("CREATE TABLE IF NOT EXISTS docs (key BLOB PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID")
            except sqlite3.Error:
                db.close()
                raise
        except (OSError, sqlite3.Error) as exc:
            self._failed(exc)
            return None
        db.isolation_level = "IMMEDIATE"  # ``with db`` takes the write lock when it begins
        self._db = db
        return db

    def _failed(self, exc: BaseException) -> None:
        """Stop using the file for this process; remove it if it is damaged."""
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return  # another process is writing: this answer is simply not kept
        self._off = True
        self._pending.clear()
        if self._db is not None:
            self._db.close()
            self._db = None
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            for damaged in self.folder.glob(self.path.name + "*"):  # the next command starts a new one
                damaged.unlink(missing_ok=True)


_memos: weakref.WeakKeyDictionary[Repo, Memo] = weakref.WeakKeyDictionary()


def of(repo: Repo) -> Memo | None:
    """The repository's memo (None when ``GITREG_PARSE_MEMO=0``); written
    out when the Repo is closed or collected, or the process ends."""
    if os.environ.get(ENV, "1") == "0":
        return None
    found = _memos.get(repo)
    if found is None:
        found = _memos[repo] = Memo(repo.git_dir / FOLDER)
        weakref.finalize(repo, found.close)
    return found
