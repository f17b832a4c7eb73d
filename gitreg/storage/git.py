"""The only module that runs git.

Every git process starts in one launcher (``_spawn``: English messages, the
descriptors a held lock must pass on), with machine-readable output (``-z``,
``--format``, ``--porcelain``); a refused ref update or push is judged by
reading the refs back, never by git's words. gitdb, GitPython's object
database, writes loose objects in process; GitPython's own package is not
imported (its import runs ``git version``: about 115 ms a command, for a
wrapper ``_spawn`` already is; docs/design.md §2).
Writes never touch the user's index or working tree: blobs and trees are
built in the object database, a commit is made with ``commit-tree``, and
branch and tags move together in one ``update-ref`` transaction that is a
compare-and-swap on the branch.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from gitreg.errors import ConflictError, GitError, NotFoundError, UsageError

ZERO_OID = "0" * 40
_TREE_MODE = "040000"
_BLOB_MODE = "100644"


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str
    oid: str
    path: str


@dataclass(frozen=True)
class Diffed:
    """One entry that differs between two commits."""

    status: str  # A added, M modified, D deleted, T type changed (file, symlink, submodule)
    path: str
    old_mode: str  # "000000" when added
    new_mode: str  # "000000" when deleted


@dataclass(frozen=True)
class RefUpdate:
    """Set ``ref`` to ``new`` if it is currently ``old`` (None: must not exist)."""

    ref: str
    new: str
    old: str | None


class RefUpdateRejected(ConflictError):
    """A ref moved or appeared under us: the caller may recompute and retry."""


def _in_tree(path: str) -> bool:
    """Whether ``path`` can name a file in a tree: relative, no ``.`` or
    ``..`` part, no line break (the object reader reads one name a line)."""
    parts = path.split("/")
    return bool(path) and "\n" not in path and "\r" not in path and not any(p in ("", ".", "..") for p in parts)


def _literal(paths: Iterable[str]) -> list[str]:
    return [f":(literal){p}" for p in paths]


class Repo:
    """A git repository, addressed by any path inside it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        start = Path(path).absolute()
        if not start.is_dir():
            raise NotFoundError(f"{start}: no such directory")
        self._cwd = str(start)
        # one process for a work tree (the usual case); --show-toplevel fails in a bare repository
        code, out, _ = self.run(["rev-parse", "--absolute-git-dir", "--show-toplevel"], check=False)
        if code != 0:
            code, out, _ = self.run(["rev-parse", "--absolute-git-dir"], check=False)
        if code != 0:
            raise NotFoundError(f"{start}: not a git repository")
        git_dir, *top = out.decode().splitlines()
        self._loose: Any = None  # the in-process object writer, once known (False: use git)
        self._trees: dict[str, dict[str, tuple[str, str, str]]] = {}  # tree id -> entries
        self._commit_trees: dict[str, str] = {}  # commit id -> its tree id
        self._signing: tuple[bool, bool] | None = None  # (sign commits, sign tags), once read from git's config
        self.bare = not top
        self.git_dir = Path(git_dir)
        self.root = Path(top[0]) if top else self.git_dir
        self._cwd = str(self.root)
        self._batch = _Batch(self._cwd)

    def close(self) -> None:
        """Stop the object reader (it also stops when the Repo is collected)."""
        self._batch.close()

    @staticmethod
    def init_bare(path: Path, branch: str = "main") -> Repo:
        path.mkdir(parents=True, exist_ok=True)
        _init(path, "--bare", f"--initial-branch={branch}")
        return Repo(path)

    @staticmethod
    def init(path: Path, branch: str = "main") -> Repo:
        path = path.absolute()
        path.mkdir(parents=True, exist_ok=True)
        _init(path, f"--initial-branch={branch}")
        return Repo(path)

    # -- running -------------------------------------------------------------

    def run(
        self,
        args: Sequence[str],
        *,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> tuple[int, bytes, bytes]:
        """Run ``git args``; return (exit code, stdout, stderr)."""
        code, out, err = _git(self._cwd, args, input, env)
        if check and code != 0:
            message = err.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {message[-1] if message else f'exit {code}'}")
        return code, out, err

    def _text(self, args: Sequence[str], **kwargs: object) -> str:
        return self.run(args, **kwargs)[1].decode("utf-8").strip()  # type: ignore[arg-type]

    # -- reading -------------------------------------------------------------

    def head_ref(self) -> str | None:
        """The branch HEAD points to (``refs/heads/...``), or None when detached."""
        try:  # git's own format: "ref: refs/heads/NAME" or a detached commit id
            text = (self.git_dir / "HEAD").read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            text = ""
        if text.startswith("ref: refs/"):
            return text[5:]
        if text:
            return None
        code, out, _ = self.run(["symbolic-ref", "-q", "HEAD"], check=False)  # an unusual HEAD: ask git
        return out.decode().strip() if code == 0 else None

    def resolve(self, rev: str) -> str | None:
        """The commit id ``rev`` names, or None if it names nothing."""
        return self.resolve_many([rev])[0]

    def resolve_many(self, revs: Sequence[str]) -> list[str | None]:
        """``resolve`` for each of ``revs``, in one round trip."""
        return [found[0] if found else None for found in self._batch.read([f"{rev}^{{commit}}" for rev in revs])]

    def last_before(self, rev: str, epoch: int) -> str | None:
        """The newest commit on ``rev``'s first-parent line committed at or
        before ``epoch`` (a merged pull request counts from its merge)."""
        out = self.run(["rev-list", "-1", "--first-parent", f"--before={epoch}", rev, "--"])[1]
        return out.decode().strip() or None

    def ls_tree(self, commit: str, path: str = "", recursive: bool = False) -> list[TreeEntry]:
        """Entries below ``path`` (a folder, no trailing slash) in ``commit``."""
        target = f"{commit}:{path}" if path else f"{commit}^{{tree}}"
        prefix = f"{path}/" if path else ""
        if not recursive:  # one tree object, read by the running object reader
            return [TreeEntry(m, k, o, prefix + n) for m, k, o, n in self.read_trees([target])[target] or []]
        code, out, _ = self.run(["ls-tree", "-z", "-r", target], check=False)
        if code != 0:
            return []  # the folder does not exist at that commit
        entries = []
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, kind, oid = meta.decode().split(" ")
            entries.append(TreeEntry(mode, kind, oid, prefix + name.decode("utf-8", "surrogateescape")))
        return entries

    def read_trees(self, names: Sequence[str]) -> dict[str, list[tuple[str, str, str, str]] | None]:
        """(mode, type, id, name) of the entries of many trees, named in any
        form ``cat-file`` takes (``tree-id:path`` too), in one round trip to
        the running object reader; None where a name is not a tree."""
        trees = self._objects(names, "tree")
        return {name: _tree_entries(tree[1], len(tree[0]) // 2) if tree else None for name, tree in trees.items()}

    def file_names(self, trees: Sequence[str]) -> dict[str, list[str] | None]:
        """The names of the files (not subfolders) in each of many trees, as
        ``read_trees`` names them, without the rest of each entry."""
        found = self._objects(trees, "tree")
        return {name: _file_names(tree[1], len(tree[0]) // 2) if tree else None for name, tree in found.items()}

    def entries_under(self, commit: str, folder: str) -> list[tuple[str, str, str]]:
        """(mode, path relative to ``folder``, object id) of every entry below
        it that is not a folder: files, symbolic links and submodules."""
        code, out, _ = self.run(["ls-tree", "-r", "-z", f"{commit}:{folder}"], check=False)
        if code != 0:
            return []
        found = []
        for record in out.split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                mode, _, oid = meta.decode().split(" ")
                found.append((mode, name.decode("utf-8", "surrogateescape"), oid))
        return found

    def _cat(self, names: Sequence[str]) -> dict[str, bytes | None]:
        """Contents of many blobs (ids or ``rev:path``) from the running
        ``cat-file --batch``; None for names that are not blobs."""
        return {name: found[1] if found else None for name, found in self._objects(names, "blob").items()}

    def _objects(self, names: Sequence[str], kind: str) -> dict[str, tuple[str, bytes] | None]:
        """(object id, content) for each of ``names`` that is an object of
        ``kind``, None for the others; each name asked once."""
        unique = list(dict.fromkeys(names))
        found = self._batch.read(unique)
        return {
            name: (item[0], item[2]) if item and item[1] == kind else None
            for name, item in zip(unique, found, strict=True)
        }

    def read_blobs(self, oids: Sequence[str]) -> dict[str, bytes]:
        found = self._cat(oids)
        missing = [oid for oid, data in found.items() if data is None]
        if missing:
            raise GitError(f"object {missing[0]} is missing from the repository")
        return {oid: data for oid, data in found.items() if data is not None}

    def read_paths(self, commit: str, paths: Sequence[str]) -> dict[str, bytes | None]:
        """Files at ``commit`` (None where a path is not a file there, or
        could not be one: ``..``, a leading ``/`` or a line break would make
        git's object reader stop rather than answer "missing")."""
        asked = [p for p in paths if _in_tree(p)]
        found = self._cat([f"{commit}:{p}" for p in asked])
        return {p: found[f"{commit}:{p}"] if _in_tree(p) else None for p in paths}

    def read_commits_path(self, commits: Sequence[str], path: str) -> dict[str, bytes | None]:
        """One file as it is at each of ``commits``."""
        found = self._cat([f"{c}:{path}" for c in commits])
        return {c: found[f"{c}:{path}"] for c in commits}

    def read_objects(self, names: Sequence[str]) -> dict[str, bytes | None]:
        """Blobs named in any form ``cat-file`` takes (``rev:path`` too)."""
        return self._cat(names)

    def tag_refs(self, patterns: Sequence[str], ignore_case: bool = False) -> dict[str, int]:
        """Tags matching the fnmatch ``patterns`` (under refs/tags/) with their
        tagger time (0 for lightweight tags); ``ignore_case``: matching
        ``Fraud@v1.0.0`` for ``fraud@*`` too."""
        return {name: when for name, _, when in self.tag_targets(patterns, ignore_case)}

    def log(self, rev: str, paths: Sequence[str], fields: Sequence[str], extra: Sequence[str] = ()) -> list[list[str]]:
        """One row per commit reachable from ``rev`` that touches ``paths``
        (newest first), with the given ``--format`` placeholders as columns."""
        fmt = "%x1f".join(fields) + "%x1e"
        out = self.run(["log", f"--format={fmt}", "--no-renames", *extra, rev, "--", *_literal(paths)])[1]
        records = (r.strip("\n") for r in out.decode("utf-8", "replace").split("\x1e"))
        return [r.split("\x1f") for r in records if r]

    def index_commit(self, parent: str | None) -> str:
        """An unreferenced commit of what is staged in the index (for checks
        before committing); git's gc removes it later."""
        tree = self._text(["write-tree"])
        return self.commit_tree(tree, [parent] if parent else [], "gitreg check: staged changes")

    def is_ancestor(self, a: str, b: str) -> bool:
        return self.run(["merge-base", "--is-ancestor", a, b], check=False)[0] == 0

    def differing_paths(self, tree_ish: str | None, paths: Sequence[str]) -> list[str]:
        """Those of ``paths`` whose index or working-tree file differs from
        ``tree_ish`` (None: the empty tree), or that exist there untracked."""
        base = tree_ish or self._empty_tree()
        out = self.run(["diff-index", "-z", "--name-only", base, "--", *_literal(paths)])[1]
        changed = {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}
        untracked = self.run(["ls-files", "-z", "--others", "--", *_literal(paths)])[1]
        changed |= {p.decode("utf-8", "surrogateescape") for p in untracked.split(b"\0") if p}
        return sorted(changed)

    def merge_base(self, a: str, b: str) -> str | None:
        code, out, _ = self.run(["merge-base", a, b], check=False)
        return out.decode().strip() if code == 0 else None

    def changed(self, old: str, new: str, paths: Sequence[str]) -> list[tuple[str, str]]:
        """(status A/M/D/T, path) for files that differ between two commits
        below ``paths``; a rename is a deletion plus an addition."""
        return [(d.status, d.path) for d in self.diff(old, new, paths)]

    def diff(self, old: str, new: str, paths: Sequence[str] = ()) -> list[Diffed]:
        """Every entry (files, symlinks, submodules) that differs between two
        commits, below ``paths`` (none: everywhere), with its modes before
        and after; a rename is a deletion plus an addition."""
        args = ["diff", "--raw", "-z", "--no-renames", "--no-abbrev", old, new, "--"]
        out = self.run([*args, *_literal(paths)])[1]
        fields = out.split(b"\0")
        found = []
        for i in range(0, len(fields) - 1, 2):
            meta = fields[i].decode().lstrip(":").split(" ")
            found.append(Diffed(meta[4][0], fields[i + 1].decode("utf-8", "surrogateescape"), meta[0], meta[1]))
        return found

    def added_in(self, rev: str, path: str) -> str | None:
        """The commit (reachable from ``rev``) that last added ``path``."""
        rows = self.log(rev, [path], ["%H"], ["--diff-filter=A", "-1"])
        return rows[0][0] if rows else None

    def check_branch_name(self, name: str) -> str:
        code, _, _ = self.run(["check-ref-format", "--branch", name], check=False)
        if code != 0 or name.startswith("-"):
            raise UsageError(f"invalid branch name {name!r}")
        return name

    def remotes(self) -> list[str]:
        return self._text(["remote"]).splitlines()

    def remote_url(self, name: str) -> str | None:
        """The URL the remote ``name`` fetches from, as configured (None: no such remote)."""
        code, out, _ = self.run(["remote", "get-url", name], check=False)
        return out.decode("utf-8", "replace").strip() or None if code == 0 else None

    def push(self, remote: str, updates: Sequence[RefUpdate]) -> None:
        """``push_atomic``, where losing the race is an error."""
        if not self.push_atomic(remote, updates):
            raise ConflictError(f"the push to {remote} was rejected: the remote has changed; fetch and try again")

    def push_atomic(self, remote: str, updates: Sequence[RefUpdate]) -> bool:
        """Push every update or none (never forced): True when the remote
        took them, False when a ref there is no longer at the update's
        ``old`` (a compare-and-swap that lost: the caller rebuilds and
        retries). Judged by the remote's refs, read back after a refusal,
        not by git's words; refs all as expected mean the remote refused for
        another reason (a hook, a lock another push held): tried again
        briefly, then an error naming git's reason."""
        from gitreg.storage import failpoints

        refspecs = [f"{u.new}:{u.ref}" for u in updates]
        for attempt in range(3):
            popen = _spawn(
                self._cwd,
                ["push", "--atomic", "--porcelain", "--quiet", remote, *refspecs],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            failpoints.reach("during-push")  # while the push is under way
            out, err = popen.communicate()
            if popen.returncode == 0:
                return True
            there = self._remote_refs(remote, [u.ref for u in updates])
            if there is not None and any(there.get(u.ref) != u.old for u in updates):
                return False
            time.sleep(0.1 * (attempt + 1))
        reasons = [f"{summary} {reason}".strip() for flag, summary, reason in _push_report(out) if flag == "!"]
        reasons = [r for r in reasons if not r.endswith("atomic push failed")] or reasons
        lines = err.decode("utf-8", "replace").strip().splitlines()
        why = reasons[0] if reasons else lines[-1] if lines else f"exit {popen.returncode}"
        raise GitError(f"git push to {remote} failed: {why}")

    def _remote_refs(self, remote: str, refs: Sequence[str]) -> dict[str, str] | None:
        """The remote's values of ``refs`` (absent ones left out), or None
        when the remote cannot be read."""
        code, out, _ = self.run(["ls-remote", remote, *refs], check=False)
        if code != 0:
            return None
        found = (line.split("\t", 1) for line in out.decode().splitlines() if "\t" in line)
        return {ref: oid for oid, ref in found if ref in refs}

    def remote_head(self, remote: str) -> str | None:
        """The branch the remote's HEAD names (refs/heads/...), if any."""
        out = self.run(["ls-remote", "--symref", remote, "HEAD"], check=False)[1]
        for line in out.decode().splitlines():
            if line.startswith("ref: ") and line.endswith("\tHEAD"):
                return line[5:].split("\t")[0]
        return None

    def tag_targets(self, patterns: Sequence[str], ignore_case: bool = False) -> list[tuple[str, str, int]]:
        """(name, commit it points at, tagger time or 0) for tags matching
        the fnmatch ``patterns`` under refs/tags/."""
        return [(name, target, when) for name, target, when, _ in self.tag_details(patterns, ignore_case)]

    def tag_details(self, patterns: Sequence[str], ignore_case: bool = False) -> list[tuple[str, str, int, str]]:
        """``tag_targets`` plus each tag's tagger, ``Name <email>`` (for a
        lightweight tag, its commit's committer)."""
        out = self._text(
            [
                "for-each-ref",
                *(["--ignore-case"] if ignore_case else []),
                "--format=%(refname:strip=2)%00%(*objectname)%00%(objectname)%00%(taggerdate:unix)"
                "%00%(taggername) %(taggeremail)%00%(committername) %(committeremail)",
                *(f"refs/tags/{p}" for p in patterns),
            ]
        )
        rows = []
        for line in out.splitlines():
            name, peeled, direct, when, tagger, committer = line.split("\0")
            rows.append((name, peeled or direct, int(when) if when else 0, tagger.strip() or committer.strip()))
        return rows

    def identity(self) -> str:
        """``Name <email>`` of the committer git would record."""
        code, out, _ = self.run(["var", "GIT_COMMITTER_IDENT"], check=False)
        if code != 0:
            raise UsageError(
                "git does not know who you are: set user.name and user.email "
                "(git config user.name 'Your Name'; git config user.email you@example.com)"
            )
        ident = out.decode("utf-8").strip()
        return ident.rsplit(" ", 2)[0]

    def dirty_paths(self, paths: Iterable[str]) -> list[str]:
        """Those of ``paths`` with staged, unstaged or untracked changes."""
        paths = list(paths)
        if self.bare or not paths:
            return []
        out = self.run(
            ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", *_literal(paths)]
        )[1]
        return [r[3:].decode("utf-8", "surrogateescape") for r in out.split(b"\0") if r]

    # -- writing objects -----------------------------------------------------

    def _store(self, kind: str, data: bytes) -> str:
        """Write one object (blob, tree, tag) into the object database: in
        this process for SHA-1 repositories (thousands of objects in an
        import cost no processes), through ``hash-object`` otherwise."""
        if self._loose is None:
            fmt = self._text(["rev-parse", "--show-object-format"]) or "sha1"
            self._loose = False
            if fmt == "sha1":
                from gitdb import LooseObjectDB  # GitPython's object database

                self._loose = LooseObjectDB(str(self.git_dir / "objects"))
        if self._loose is False:
            return self._text(["hash-object", "-t", kind, "-w", "--stdin"], input=data)
        import io

        from gitdb import IStream

        stored = self._loose.store(IStream(kind.encode(), len(data), io.BytesIO(data)))
        return cast(str, stored.hexsha.decode())

    def write_blob(self, data: bytes) -> str:
        return self._store("blob", data)

    def write_tree(self, base_commit: str | None, changes: Mapping[str, bytes | None]) -> str:
        """A tree equal to ``base_commit``'s with files added, replaced or
        (value None) removed. Only the folders on the changed paths are read
        and rewritten, so the cost follows the change, not the repository;
        trees this process wrote are remembered, so a series of commits
        (an import) reads each folder once."""
        blobs = {path: (self.write_blob(data) if data is not None else None) for path, data in changes.items()}
        root = self._root_tree(base_commit) if base_commit else None
        return self._rewrite(root, blobs) or self._empty_tree()

    def _empty_tree(self) -> str:
        return self._store("tree", b"")

    def _root_tree(self, commit: str) -> str:
        if commit not in self._commit_trees:
            found = self._batch.read([f"{commit}^{{tree}}"])[0]
            if found is None:
                raise GitError(f"commit {commit} is missing from the repository")
            self._commit_trees[commit] = found[0]
        return self._commit_trees[commit]

    def _tree_entries(self, tree: str) -> dict[str, tuple[str, str, str]]:
        """{name: (mode, type, oid)} of one tree object."""
        if tree not in self._trees:
            self._trees[tree] = {e.path: (e.mode, e.type, e.oid) for e in self.ls_tree(tree)}
        return dict(self._trees[tree])

    def _rewrite(self, tree: str | None, blobs: Mapping[str, str | None]) -> str | None:
        lines = self._tree_entries(tree) if tree else {}
        children: dict[str, dict[str, str | None]] = {}
        for path, oid in blobs.items():
            head, sep, rest = path.partition("/")
            if sep:
                children.setdefault(head, {})[rest] = oid
            elif oid is None:
                lines.pop(head, None)
            else:
                lines[head] = (_BLOB_MODE, "blob", oid)
        for name, sub in children.items():
            existing = lines.get(name)
            subtree = self._rewrite(existing[2] if existing and existing[1] == "tree" else None, sub)
            if subtree is None:
                lines.pop(name, None)
            else:
                lines[name] = (_TREE_MODE, "tree", subtree)
        if not lines:
            return None
        # git's order: a folder sorts as if its name ended with "/"
        ordered = sorted(lines.items(), key=lambda item: item[0] + "/" if item[1][1] == "tree" else item[0])
        data = b"".join(
            f"{mode.lstrip('0')} {name}".encode() + b"\0" + bytes.fromhex(oid) for name, (mode, _, oid) in ordered
        )
        oid = self._store("tree", data)
        self._trees[oid] = lines
        return oid

    def commit_tree(
        self, tree: str, parents: Sequence[str], message: str, *, when: float | None = None, author: str | None = None
    ) -> str:
        """A commit object; ``when`` (epoch seconds) dates it as author and
        committer, ``author`` ('Name <email>') names its author (an import
        replaying another system's history)."""
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env: dict[str, str] = {}
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{int(when)} +0000"
        if author is not None:
            name, _, email = author.partition(" <")
            env["GIT_AUTHOR_NAME"], env["GIT_AUTHOR_EMAIL"] = name, email.rstrip(">")
        if self.signing()[0]:  # commit-tree does not read commit.gpgSign itself
            args.append("-S")
        code, out, err = self.run([*args, "-F", "-"], input=message.encode("utf-8"), env=env, check=False)
        if code != 0:
            text = err.decode("utf-8", "replace")
            if "tell me who you are" in text or "empty ident" in text:
                self.identity()  # raises the friendly error
            raise GitError(f"git commit-tree failed: {text.strip().splitlines()[-1] if text.strip() else code}")
        commit = out.decode().strip()
        self._commit_trees[commit] = tree
        return commit

    def make_tag(self, name: str, target: str, message: str, tagger: str, when: int) -> str:
        """An annotated tag object (not yet a ref) with an exact tagger time,
        in the format ``git mktag`` accepts."""
        body = f"object {target}\ntype commit\ntag {name}\ntagger {tagger} {when} +0000\n\n{message}\n".encode()
        if self.signing()[1]:
            body += self.sign_buffer(body)
        return self._store("tag", body)

    def commit_signatures(
        self, revisions: str, allowed_signers: Path, paths: Sequence[str] = ()
    ) -> list[tuple[str, str, str, str]]:
        """(commit, git's verdict %G?, signer, subject) of each commit in
        ``revisions`` (touching ``paths``, when given), judged by git's own
        verification with ``allowed_signers`` as its SSH allowed-signers
        file (OpenPGP signatures: gpg's keyring)."""
        args = ["-c", f"gpg.ssh.allowedSignersFile={allowed_signers}", "log", "--format=%H%x1f%G?%x1f%GS%x1f%s%x1e"]
        out = self.run([*args, revisions, "--", *_literal(paths)])[1]
        rows = [r.strip("\n").split("\x1f") for r in out.decode("utf-8", "replace").split("\x1e") if r.strip()]
        return [(c, verdict, signer, subject) for c, verdict, signer, subject in rows]

    def signing(self) -> tuple[bool, bool]:
        """Whether git is configured to sign (commits, tags): ``commit.gpgSign``
        signs both, as gitreg's commits and tags are one operation;
        ``tag.gpgSign`` tags."""
        if self._signing is None:  # one process: both keys at once
            out = self.run(["config", "--type=bool", "--get-regexp", r"^(commit|tag)\.gpgsign$"], check=False)[1]
            found = dict(line.split(" ", 1) for line in out.decode().splitlines() if " " in line)
            commits = found.get("commit.gpgsign") == "true"
            self._signing = (commits, commits or found.get("tag.gpgsign") == "true")
        return self._signing

    def sign_buffer(self, data: bytes) -> bytes:
        """An armored signature of ``data`` as git makes one for a tag: with
        ``gpg.format`` ssh, ``ssh-keygen -Y sign -n git`` and the key
        ``user.signingKey`` names (a file, or ``key::`` and the public key
        held by an agent); otherwise gpg (``gpg.program``) and that key id."""
        import tempfile

        fmt = self._text(["config", "--default=openpgp", "gpg.format"])
        key = self._text(["config", "--default=", "user.signingkey"])
        with tempfile.TemporaryDirectory(prefix="gitreg-sign-") as scratch:
            if fmt == "ssh":
                if not key:
                    raise GitError("commit.gpgSign is on with gpg.format ssh, but user.signingKey names no key")
                keyfile = Path(scratch) / "key.pub"
                if key.startswith("key::"):
                    keyfile.write_text(key.removeprefix("key::") + "\n")
                else:
                    keyfile = Path(key).expanduser() if Path(key).expanduser().is_absolute() else self.root / key
                program = self._text(["config", "--default=ssh-keygen", "gpg.ssh.program"])
                buffer = Path(scratch) / "buffer"
                buffer.write_bytes(data)
                command = [program, "-Y", "sign", "-n", "git", "-f", str(keyfile), str(buffer)]
                done = subprocess.run(command, capture_output=True, check=False, cwd=self._cwd)
                signature = buffer.with_name("buffer.sig")
                if done.returncode != 0 or not signature.exists():
                    raise GitError(f"signing a tag with {program} failed: {done.stderr.decode(errors='replace')[:200]}")
                return signature.read_bytes()
            program = self._text(["config", "--default=gpg", "gpg.program"])
            command = [program, "--status-fd=2", "-bsa", *(["-u", key] if key else [])]
            done = subprocess.run(command, input=data, capture_output=True, check=False, cwd=self._cwd)
            if done.returncode != 0:
                raise GitError(f"signing a tag with {program} failed: {done.stderr.decode(errors='replace')[:200]}")
            return done.stdout

    def update_refs(self, updates: Sequence[RefUpdate]) -> None:
        """Apply all updates or none; RefUpdateRejected when any precondition fails."""
        lines = ["start"]
        for u in updates:
            if u.old is None:
                lines.append(f"create {u.ref} {u.new}")
            else:
                lines.append(f"update {u.ref} {u.new} {u.old}")
        lines += ["prepare", "commit", ""]
        code, _, err = self.run(["update-ref", "--stdin"], input="\n".join(lines).encode(), check=False)
        if code == 0:
            return
        # Judged by the refs, not by git's words: a ref no longer where the
        # update expected it (or one that appeared) lost the race; a ref whose
        # lock file another git process holds is about to move (the caller
        # retries from a new snapshot, as for a lost race); anything else is
        # an error.
        now = self._ref_values([u.ref for u in updates])
        moved = [u.ref for u in updates if now.get(u.ref) != u.old]
        if moved:
            raise RefUpdateRejected(f"{moved[0]} moved meanwhile")
        common = Path(self._text(["rev-parse", "--path-format=absolute", "--git-common-dir"]))
        locked = [u.ref for u in updates if (common / f"{u.ref}.lock").exists()]
        if locked or (common / "packed-refs.lock").exists():
            raise RefUpdateRejected(f"{(locked or ['packed-refs'])[0]} is locked by another git process")
        text = err.decode("utf-8", "replace").strip()
        why = text.splitlines()[0].removeprefix("fatal: ") if text else f"exit {code}"
        raise GitError(f"git update-ref failed: {why}")

    def _ref_values(self, refs: Sequence[str]) -> dict[str, str]:
        """The values of those of ``refs`` that exist, in one process."""
        out = self.run(["for-each-ref", "--format=%(refname)%00%(objectname)", *refs])[1].decode()
        found = dict(line.split("\0", 1) for line in out.splitlines())
        return {ref: oid for ref, oid in found.items() if ref in refs}

    def checkout_paths(self, commit: str, present: Sequence[str], removed: Sequence[str]) -> None:
        """Make index and working tree match ``commit`` at these paths only."""
        if self.bare:
            return
        if present:
            self.run(["checkout", commit, "--", *_literal(present)])
        if removed:
            self.run(["rm", "--quiet", "--cached", "--ignore-unmatch", "--", *_literal(removed)])
            for path in removed:
                (self.root / path).unlink(missing_ok=True)


class _Batch:
    """One ``git cat-file --batch`` process per repository, started on first
    use and kept: a read costs a round trip, not a process. It reads refs and
    objects as they are at each request, so it sees commits made since."""

    def __init__(self, cwd: str) -> None:
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], _Batch] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._finalizer is not None:  # a reader that stopped: close its pipes first
            self._finalizer()
        proc = _spawn(
            self._cwd,
            ["cat-file", "--batch"],
            share=False,  # it outlives any lock held while it started: it must not keep one
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._finalizer = weakref.finalize(self, _stop, proc)
        return proc

    def close(self) -> None:
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._proc = self._finalizer = None

    def read(self, names: Sequence[str]) -> list[tuple[str, str, bytes] | None]:
        """(object id, type, content) for each name, None where it names nothing."""
        if not names:
            return []
        # one name per line: a line break inside a name would be read as two requests
        asked = [name for name in names if name and "\n" not in name]
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            stdin, stdout = self._proc.stdin, self._proc.stdout
            if stdin is None or stdout is None:
                raise GitError("git cat-file has no pipes")
            request = "".join(f"{name}\n" for name in asked).encode("utf-8", "surrogateescape")
            try:
                if len(request) < 32768:  # fits the pipe: write, then read
                    _write_all(stdin, request)
                    answers = self._answers(stdout, len(asked))
                else:  # the answers could fill the pipe before the questions are written
                    writer = threading.Thread(target=_write_all, args=(stdin, request))
                    writer.start()
                    answers = self._answers(stdout, len(asked))
                    writer.join()
            except BaseException:
                self._proc = None  # in an unknown place in the stream: the next read starts afresh
                if self._finalizer is not None:
                    self._finalizer()  # stops ``proc``, once
                raise
        by_name = dict(zip(asked, answers, strict=True))
        return [by_name.get(name) for name in names]

    def _answers(self, out: IO[bytes], count: int) -> list[tuple[str, str, bytes] | None]:
        answers: list[tuple[str, str, bytes] | None] = []
        for _ in range(count):
            header = out.readline()
            if not header:
                raise GitError("git cat-file stopped unexpectedly")
            fields = header.decode("utf-8", "replace").split()
            if len(fields) != 3 or not fields[2].isdigit():  # "<name> missing" / "<name> ambiguous"
                answers.append(None)
                continue
            oid, kind, size = fields[0], fields[1], int(fields[2])
            data = out.read(size + 1)[:size]
            answers.append((oid, kind, data))
        return answers


def _write_all(pipe: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(OSError):  # git stopped: the reader reports it
        pipe.write(data)
        pipe.flush()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


_TREE_RECORDS = {
    20: re.compile(rb"([0-7]+) ([^\0]*)\0(.{20})", re.S),
    32: re.compile(rb"([0-7]+) ([^\0]*)\0(.{32})", re.S),
}
_ENTRY_KINDS = {b"40000": "tree", b"160000": "commit"}


def _push_report(out: bytes) -> list[tuple[str, str, str]]:
    """``git push --porcelain``'s ref lines: (flag, summary, reason), e.g.
    ("!", "[rejected]", "fetch first")."""
    report = []
    for line in out.decode("utf-8", "replace").splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and len(fields[0]) == 1:
            summary, _, reason = fields[2].partition(" (")
            report.append((fields[0], summary, reason.removesuffix(")")))
    return report


def _tree_entries(data: bytes, oid_bytes: int) -> list[tuple[str, str, str, str]]:
    """(mode, type, id, name) of a raw tree object: ``MODE NAME\\0ID`` records,
    back to back (git writes them so), matched in one pass of the regex engine."""
    return [
        (
            mode.decode().rjust(6, "0"),
            _ENTRY_KINDS.get(mode, "blob"),
            oid.hex(),
            name.decode("utf-8", "surrogateescape"),
        )
        for mode, name, oid in _TREE_RECORDS[oid_bytes].findall(data)
    ]


def _file_names(data: bytes, oid_bytes: int) -> list[str]:
    """The names of a raw tree's files: not folders (40000), not submodules (160000)."""
    records = _TREE_RECORDS[oid_bytes].findall(data)
    return [name.decode("utf-8", "surrogateescape") for mode, name, _ in records if mode not in _ENTRY_KINDS]


_inherited: list[int] = []  # file descriptors every git process gets (see ``sharing``)


@contextlib.contextmanager
def sharing(fd: int) -> Iterator[None]:
    """Give ``fd`` to every git process started meanwhile (``_spawn``; the
    object reader excepted). With an ``flock``ed file this makes the lock outlive a killed
    parent for as long as its git children still run, so whoever takes the
    lock next never races an orphaned ``git fetch`` or ``git push``. Windows
    passes no descriptors: there the lock ends with gitreg."""
    if os.name == "nt":
        yield
        return
    _inherited.append(fd)
    try:
        yield
    finally:
        _inherited.remove(fd)


def _git(
    cwd: str, args: Sequence[str], input: bytes | None = None, env: Mapping[str, str] | None = None
) -> tuple[int, bytes, bytes]:
    """One git process in ``cwd``: (exit code, stdout, stderr). Messages are
    asked for in English, as callers recognise some of them."""
    proc = _spawn(cwd, args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with proc:
        out, err = proc.communicate(input)
    return proc.returncode, out, err


def _spawn(
    cwd: str, args: Sequence[str], *, env: Mapping[str, str] | None = None, share: bool = True, **pipes: Any
) -> subprocess.Popen[bytes]:
    """The one place a git process starts: in ``cwd``, messages in English,
    and (``share``) holding the descriptors ``sharing`` passes on, so a lock
    held meanwhile outlives a killed gitreg for as long as its git runs."""
    try:
        return subprocess.Popen(
            ["git", *args], cwd=cwd, env=_english(env), pass_fds=tuple(_inherited) if share else (), **pipes
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc


def _english(env: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **(env or {})}


def _init(path: Path, *options: str) -> None:
    code, _, err = _git(str(path), ["init", "--quiet", *options, str(path)])
    if code != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git init {path} failed: {lines[-1] if lines else f'exit {code}'}")
