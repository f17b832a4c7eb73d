"""A registry repository on this machine, and operations that each land as
exactly one commit on its branch (with the GTO tags that mirror them)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from gitreg import lazy
from gitreg.core import events
from gitreg.core.snapshot import Resolved, Snapshot, timestamp
from gitreg.documents import dvcyaml, layout, manifest, tags
from gitreg.documents.manifest import Artifact, Model, ModelVersion, RegistryConfig
from gitreg.documents.names import BUMPS, Bump, Version, check_name, next_version
from gitreg.errors import ConflictError, NotFoundError, UsageError
from gitreg.storage import credentials, failpoints, files
from gitreg.storage import location as locations
from gitreg.storage.git import RefUpdate, RefUpdateRejected, Repo

if TYPE_CHECKING:
    from gitreg.ci import workflows as ci_templates
    from gitreg.documents import yamlio
    from gitreg.operations import lineage
    from gitreg.storage import cache as caches
    from gitreg.storage import dvcconfig
    from gitreg.storage.artifacts import Progress
    from gitreg.storage.cache import Cache
else:  # loaded by the commands that need them
    caches, ci_templates, dvcconfig, lineage, yamlio = (
        lazy.module(f"gitreg.{name}")
        for name in ("storage.cache", "ci.workflows", "storage.dvcconfig", "operations.lineage", "documents.yamlio")
    )

T = TypeVar("T")
COMMIT_ATTEMPTS = 8
REMOTE_ATTEMPTS = 100


def _backoff(attempt: int) -> None:
    """Exponential backoff with full jitter, capped at four seconds: losers of
    a race spread out instead of colliding again (and starving the CPU)."""
    time.sleep(random.uniform(0, min(4.0, 0.1 * 2**attempt)))


DEFAULT_STORAGE = ".gitreg/storage"


def one_line(text: str) -> str:
    """``text`` as one line of printable characters (runs of whitespace and
    control characters become one space)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


@dataclass(frozen=True)
class TagSpec:
    """A GTO tag to create with the commit. Stage events get their counter
    when the commit is made; ``target`` None means the new commit."""

    event: tags.TagEvent
    version: str
    target: str | None = None


@dataclass(frozen=True)
class Change:
    """One operation's effect: files to write (None: delete), the commit
    message parts, and the GTO tags that mirror it."""

    files: Mapping[str, bytes | None]
    summary: str
    trailers: Mapping[str, str]
    tags: Sequence[TagSpec] = ()
    result: Any = None
    before: Sequence[Change] = ()  # commits to make first, in order (each with its own tags)

    def all_files(self) -> dict[str, bytes | None]:
        """The files as the whole series leaves them."""
        files: dict[str, bytes | None] = {}
        for part in (*self.before, self):
            files |= part.files
        return files

    def message(self) -> str:
        """The commit message: the summary, a blank line, the trailers. Free
        text (reasons, sources, descriptions) arrives here from users and
        files: each trailer value is made one printable line and the summary
        keeps no control characters, so no text can add a trailer line of
        its own or reach a terminal that shows the log."""
        trailer_lines = "".join(f"{k}: {one_line(v)}\n" for k, v in self.trailers.items())
        summary = "\n".join(one_line(line) for line in self.summary.splitlines())
        return f"{summary}\n\n{trailer_lines}"


@dataclass(frozen=True)
class Applied:
    commit: str
    change: Change
    tag_names: tuple[str, ...] = field(default=())
    attempts: int = 1  # how many times the change was built before it landed


@dataclass(frozen=True)
class Registered:
    """A registration: the manifest committed, the commit and its GTO tag."""

    manifest: ModelVersion
    commit: str
    tag: str
    attempts: int = 1
    lineage_notes: tuple[str, ...] = ()  # what lineage capture could not find

    @property
    def model(self) -> str:
        return self.manifest.model

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def artifact(self) -> Artifact:
        return self.manifest.artifact


@dataclass(frozen=True)
class ModelEdited:
    """``set_model``'s result: model.yaml as it now is, and the commit (None
    when nothing changed)."""

    model: Model
    commit: str | None


@dataclass(frozen=True)
class Initialised:
    root: str  # the registry's folder, or its URL
    commit: str | None  # None: already a registry, nothing changed
    remote: str
    remote_url: str
    files: tuple[str, ...] = ()  # what the commit wrote
    adopted: Any = None  # gitreg.operations.adopt.Adopted, with --adopt


class Registry:
    """A registry: a checkout on this machine, or (given by URL) a private
    clone that is fetched before reading and pushed to after writing."""

    def __init__(self, repo: Repo, cache: Cache | None = None) -> None:
        self.repo = repo
        self.cache = cache
        # ref -> (branch tip, registration tag name, its target, answer); see locate
        self._located: dict[str, tuple[str | None, str, str | None, Resolved]] = {}

    @classmethod
    def open(cls, location: str | os.PathLike[str] | None = None, *, offline: bool = False) -> Registry:
        """The registry at ``location`` (see ``gitreg.storage.location``). A URL is
        fetched now unless ``offline``, so reads see the remote's state."""
        where = locations.resolve(location)
        if not where.remote:
            registry = cls(Repo(where.value))
            registry.recover()
            return registry
        cache = caches.Cache(where.value)
        with cache.locked():
            if offline and not cache.repo_dir.is_dir():
                raise NotFoundError(f"no cached copy of {credentials.redact(where.value)}: run once without --offline")
            fresh = not cache.repo_dir.is_dir()
            repo = cache.repo()
            if not offline and not fresh:
                cache.fetch()
        return cls(repo, cache)

    @property
    def root(self) -> Path:
        return self.repo.root

    @property
    def name(self) -> str:
        """How messages name the registry: its URL, or its folder."""
        return credentials.redact(self.cache.url) if self.cache else str(self.root)

    def dvc_root(self, snap: Snapshot) -> Path:
        """The folder whose .dvc/ configures the artifact store."""
        if self.cache is None:
            return self.root
        data = snap.read_files([layout.DVC_CONFIG_PATH])[layout.DVC_CONFIG_PATH]
        return self.cache.dvc_dir(data)

    def branch_ref(self) -> str:
        ref = self.repo.head_ref()
        if ref is None:
            raise ConflictError(f"{self.root}: HEAD is detached; check out the registry branch first")
        return ref

    def snapshot(self, rev: str | None = None) -> Snapshot:
        if rev is None:
            ref = self.repo.head_ref()
            commit = self.repo.resolve(ref) if ref else self.repo.resolve("HEAD")
        else:
            commit = self.repo.resolve(rev)
            if commit is None:
                raise NotFoundError(f"revision {rev!r} does not exist in {self.root}")
        return Snapshot(self.repo, commit)

    def snapshot_at(self, at: str | None) -> Snapshot:
        """The registry as it was at ``at``: a revision (commit, tag, branch,
        ``HEAD~3``) or a date/time in ISO 8601 (a date alone means the end of
        that day, UTC); None is now. A time picks the last commit on the
        registry branch's first-parent line made at or before it."""
        if at is None:
            return self.snapshot()
        when = parse_when(at)
        if when is None:
            return self.snapshot(at)
        now = self.snapshot()
        found = self.repo.last_before(now.commit, int(when.timestamp())) if now.commit else None
        if found is None:
            raise NotFoundError(f"the registry {self.name} has no commits on or before {at}")
        return Snapshot(self.repo, found)

    def locate(self, ref: str) -> Resolved:
        """``Snapshot.locate`` at the branch tip, for services that resolve
        the same references over and over: the answer is remembered with the
        tip and the registration tag it was computed from, and reused while
        one read of both finds them unchanged (a new commit or a moved tag
        is noticed on the next call)."""
        branch = self.repo.head_ref() or "HEAD"
        known = self._located.get(ref)
        if known is None:
            tip = self.repo.resolve(branch)
        else:
            tip, tagged = self.repo.resolve_many([branch, known[1]])
            if (tip, tagged) == (known[0], known[2]):
                return known[3]
        snap = Snapshot(self.repo, tip)
        answer = snap.locate(ref)
        tag = f"refs/tags/{answer.model}@v{answer.version}"
        if len(self._located) >= 4096:
            self._located.clear()
        tip, tagged = self.repo.resolve_many([branch, tag])
        if tip == snap.commit:  # nothing moved while this was computed
            self._located[ref] = (tip, tag, tagged, answer)
        return answer

    # -- the commit machinery -------------------------------------------------

    def apply(self, build: Callable[[Snapshot], Change], *, branch: str | None = None) -> Applied:
        """Land ``build``'s change as one commit (plus tags) on the branch.

        ``build`` runs against the branch tip and must check everything it
        relies on; if another writer moves the branch first, it runs again on
        the new tip (bounded, with jittered backoff).

        With ``branch``, the commit goes on a new branch of that name instead
        (for a pull request): no tags (they cannot travel with a PR; `gitreg
        tags sync` adds them after the merge) and no change to the checkout.
        """
        if self.cache is not None and branch is None:
            applied = self._apply_remote(build, self.cache)
        elif self.cache is not None:
            with self.cache.locked():
                applied = self._apply_local(build, branch)
        else:
            applied = self._apply_local(build, branch)
        events.committed(self, applied.commit, dict(applied.change.trailers), applied.tag_names)
        return applied

    def _apply_local(self, build: Callable[[Snapshot], Change], branch: str | None) -> Applied:
        ref = self.branch_ref()
        target = f"refs/heads/{self.repo.check_branch_name(branch)}" if branch is not None else ref
        for attempt in range(COMMIT_ATTEMPTS):
            head = self.repo.resolve(ref)
            change = build(Snapshot(self.repo, head))
            if branch is None:
                dirty = self.repo.dirty_paths(change.all_files())
                if dirty:
                    raise ConflictError(f"{dirty[0]} has uncommitted changes; commit or stash them first")
            commit, specs = self._commit_series(head, change)
            if branch is not None:
                try:
                    self.repo.update_refs([RefUpdate(target, commit, None)])
                except RefUpdateRejected:
                    raise ConflictError(f"branch {branch!r} already exists; name another with --branch NAME") from None
                return Applied(commit, change)
            updates = [RefUpdate(ref, commit, head), *self._tag_updates(specs, commit)]
            failpoints.reach("after-commit")
            files = change.all_files()
            present = [p for p, data in files.items() if data is not None]
            removed = [p for p, data in files.items() if data is None]
            self._journal(commit, present, removed)
            try:
                self.repo.update_refs(updates)
            except RefUpdateRejected:
                self._journal_path().unlink(missing_ok=True)
                _backoff(attempt)
                continue
            failpoints.reach("after-ref")
            self.repo.checkout_paths(commit, present, removed)
            self._journal_path().unlink(missing_ok=True)
            return Applied(commit, change, tuple(u.ref.removeprefix("refs/tags/") for u in updates[1:]), attempt + 1)
        raise ConflictError(
            f"the registry branch kept moving under concurrent writers; gave up after {COMMIT_ATTEMPTS} attempts"
        )

    def push_branch(self, name: str) -> str | None:
        """Push a pull-request branch to ``origin``, if the checkout has one;
        returns the remote pushed to."""
        if "origin" not in self.repo.remotes():
            return None
        branch = f"refs/heads/{name}"
        self.repo.push("origin", [RefUpdate(branch, str(self.repo.resolve(branch)), None)])
        return "origin"

    def _journal_path(self) -> Path:
        return self.repo.git_dir / "gitreg-sync.json"

    def _journal(self, commit: str, present: Sequence[str], removed: Sequence[str]) -> None:
        """Note, before the branch moves, which paths the checkout must then
        follow: a process killed in between is completed by ``recover``."""
        if self.repo.bare:
            return
        note = {"commit": commit, "present": list(present), "removed": list(removed)}
        files.atomic_write(self._journal_path(), json.dumps(note).encode())

    def recover(self) -> None:
        """Finish what a killed gitreg left half done in this checkout: if the
        branch moved but the index and working tree did not follow, bring the
        paths it wrote up to date — those the user has not touched since."""
        journal = self._journal_path()
        if self.repo.bare or not journal.is_file():
            return
        try:
            note = json.loads(journal.read_text())
            commit, present, removed = note["commit"], note["present"], note["removed"]
        except (ValueError, KeyError, TypeError):
            journal.unlink(missing_ok=True)
            return
        ref = self.repo.head_ref()
        tip = self.repo.resolve(ref) if ref else None
        if tip is not None and self.repo.is_ancestor(commit, tip):
            touched = set(
                self.repo.differing_paths(
                    f"{commit}^" if self.repo.resolve(f"{commit}^") else None, [*present, *removed]
                )
            )
            self.repo.checkout_paths(
                commit, [p for p in present if p not in touched], [p for p in removed if p not in touched]
            )
        journal.unlink(missing_ok=True)

    def _apply_remote(self, build: Callable[[Snapshot], Change], cache: Cache) -> Applied:
        """The commit loop against the remote: fetch, build on its tip, push
        branch and tags atomically (never forced). A rejected push means
        another writer got there first: back off, fetch, rebuild, retry."""
        for attempt in range(REMOTE_ATTEMPTS):
            with cache.locked():
                if attempt:
                    cache.fetch()
                ref = self.branch_ref()
                head = self.repo.resolve(ref)
                change = build(Snapshot(self.repo, head))
                commit, specs = self._commit_series(head, change)
                updates = [RefUpdate(ref, commit, head), *self._tag_updates(specs, commit)]
                failpoints.reach("after-commit")
                if self.repo.push_atomic("origin", updates):
                    failpoints.reach("after-push")
                    self.repo.update_refs(updates)  # the clone follows what the remote accepted
                    tag_names = tuple(u.ref.removeprefix("refs/tags/") for u in updates[1:])
                    return Applied(commit, change, tag_names, attempt + 1)
            _backoff(attempt)
        raise ConflictError(
            f"the registry {self.name} kept moving under concurrent writers; gave up after {REMOTE_ATTEMPTS} "
            "attempts (nothing was written)"
        )

    def _commit_series(self, head: str | None, change: Change) -> tuple[str, list[TagSpec]]:
        """Commit ``change.before`` and then ``change`` on ``head`` (no ref
        moves); the last commit, and every tag spec aimed at its own commit."""
        parent = head
        specs: list[TagSpec] = []
        commit = ""
        for part in (*change.before, change):
            tree = self.repo.write_tree(parent, part.files)
            failpoints.reach("after-objects")
            commit = self.repo.commit_tree(tree, [parent] if parent else [], part.message())
            specs += [s if s.target else dataclasses.replace(s, target=commit) for s in part.tags]
            parent = commit
        return commit, specs

    def _tag_updates(self, specs: Sequence[TagSpec], commit: str | None) -> list[RefUpdate]:
        """Annotated tag objects for ``specs`` (``commit`` for specs without a
        target), as ref creations for one transaction."""
        updates = []
        tagger = self.repo.identity() if specs else ""
        planned = self._plan_tags(specs)
        latest = max((when for _, _, when in planned), default=0)
        while time.time() < latest:  # tag times are real: wait for the second a tag must carry
            time.sleep(min(1.0, latest - time.time()) + 0.001)
        for spec, event, when in planned:
            name = event.name()
            target = spec.target or commit
            if target is None:
                raise ValueError(f"tag {name} has no target")
            tag_oid = self.repo.make_tag(name, target, event.message(spec.version), tagger, when)
            updates.append(RefUpdate(f"refs/tags/{name}", tag_oid, None))
        return updates

    def tag_names(self, specs: Sequence[TagSpec]) -> list[str]:
        """The names ``specs`` would get (counters included), creating nothing."""
        return [event.name() for _, event, _ in self._plan_tags(specs)]

    def create_tags(self, specs: Sequence[TagSpec]) -> list[str]:
        """Create tags (each with an explicit target) in one transaction."""
        updates = self._tag_updates(specs, None)
        if updates:
            self.repo.update_refs(updates)
        return [u.ref.removeprefix("refs/tags/") for u in updates]

    def _plan_tags(self, specs: Sequence[TagSpec]) -> list[tuple[TagSpec, tags.TagEvent, int]]:
        """Name and time each tag as GTO expects: stage events numbered 1 + the
        highest counter among the model's tags; tagger times the real time,
        and strictly after every earlier tag GTO orders it against: a
        version's assignments and unassignments of one stage, or its
        registrations and deregistrations (GTO sorts each of those by tagger
        time at one-second resolution; a version's tags all point at its
        registration commit). A time later than now is waited for by the
        caller, never written ahead of the clock."""
        planned = []
        names: dict[str, list[str]] = {}
        last: dict[tuple[str, str, str], int] = {}  # (model, target commit, stage or "") -> latest tagger time
        for spec in specs:
            model = spec.event.model
            if model not in names:
                rows = self.repo.tag_targets(tags.model_patterns(model))
                names[model] = [name for name, _, _ in rows]
                for name, target, stamp in rows:
                    parsed = tags.parse(name)
                    key = (model, target, (parsed.stage or "") if parsed else "")
                    last[key] = max(last.get(key, 0), stamp)
            event = spec.event
            if event.action in ("assign", "unassign"):
                event = dataclasses.replace(event, counter=tags.next_counter(names[model], model))
            key = (model, spec.target or "", event.stage or "")
            when = max(int(time.time()), last.get(key, 0) + 1)
            names[model].append(event.name())
            last[key] = when
            planned.append((spec, event, when))
        return planned

    # -- operations ----------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str] = ".",
        *,
        remote: str | None = None,
        models_dir: str = "models",
        ci: str | None = None,
        ci_owners: str | None = None,
        ci_install: str | None = None,
        adopt: bool = False,
    ) -> Initialised:
        """Make ``path`` a registry: a folder that does not exist yet or is in
        no git repo becomes a new repo; a folder inside a repo makes that
        repo (its top level) the registry. ``ci="github"`` also writes the
        check and tag-sync workflows and a CODEOWNERS template (files that
        already exist are kept as they are). A repository GTO manages is
        refused unless ``adopt`` (``gitreg.operations.adopt`` then brings its versions in)."""
        if ci not in (None, "github"):
            raise UsageError(f"unknown CI {ci!r}: gitreg writes files for github")
        if ci and ci_install:
            ci_templates.check_install(ci_install)
        if remote and credentials.has_credentials(remote):
            raise UsageError(
                f"--remote {credentials.redact(remote)} carries credentials, which would be committed in "
                ".dvc/config: give the URL without them and keep them out of git (dvc remote modify --local "
                "NAME user/password ..., or the environment)"
            )
        where = locations.resolve(path)
        if where.remote:
            if remote is None:
                raise UsageError("a shared registry needs a shared artifact store: give --remote URL (any DVC remote)")
            registry = cls.open(path)
        else:
            target = Path(path)
            if target.exists() and not target.is_dir():
                raise UsageError(f"{target} exists and is not a folder")
            try:
                repo = Repo(target) if target.exists() else _new_repo(target)
            except NotFoundError:
                repo = _new_repo(target)
            registry = cls(repo)
        repo = registry.repo
        url = dvcconfig.normalise_url(remote) if remote else None
        own = dvcconfig.own_folder(url) if url else None  # chosen once: build may run more than once
        manifest.parse(  # validates models_dir before anything is written
            yamlio.dump(RegistryConfig(models_dir=models_dir).to_doc()), RegistryConfig, "--models-dir"
        )
        outcome: dict[str, str] = {}

        def build(snap: Snapshot) -> Change:
            branch = (repo.head_ref() or "refs/heads/main").removeprefix("refs/heads/")
            ci_files = ci_templates.files(models_dir, branch, ci_owners or ci_templates.DEFAULT_OWNERS, ci_install)
            paths = [
                layout.CONFIG_PATH,
                layout.DVC_CONFIG_PATH,
                layout.DVC_GITIGNORE_PATH,
                layout.DVCIGNORE_PATH,
                ".gitreg/.gitignore",
                *(ci_files if ci else ()),
            ]
            current = snap.read_files(paths)
            files: dict[str, bytes | None] = {}
            dvc_text = (current[layout.DVC_CONFIG_PATH] or b"").decode("utf-8")
            default, known = dvcconfig.remotes(dvc_text, layout.DVC_CONFIG_PATH)
            config_data = current[layout.CONFIG_PATH]
            if config_data is not None:
                config = manifest.parse(config_data, RegistryConfig, layout.CONFIG_PATH)
                name = config.remote
                if url is not None and known.get(name) != url and not dvcconfig.is_own_folder(known.get(name), url):
                    raise ConflictError(
                        f"{registry.name} is already a registry storing artifacts in DVC remote {name!r} "
                        f"({known.get(name, 'not configured')}); change it with `dvc remote modify {name} url ...`"
                    )
            else:
                if not adopt:
                    _refuse_gto_managed(repo, snap)
                name, wanted = _choose_remote(default, known, url, own, repo.root)
                config = RegistryConfig(models_dir=models_dir, remote=name)
                files[layout.CONFIG_PATH] = manifest.render(config, layout.CONFIG_PATH)
                if wanted is not None:
                    dvc_text = dvcconfig.with_remote(dvc_text, name, wanted, default is None, layout.DVC_CONFIG_PATH)
                    files[layout.DVC_CONFIG_PATH] = dvc_text.encode("utf-8")
                    if wanted == str(repo.root / DEFAULT_STORAGE) and current[".gitreg/.gitignore"] is None:
                        files[".gitreg/.gitignore"] = b"/storage/\n"
            if name not in dvcconfig.remotes(dvc_text, layout.DVC_CONFIG_PATH)[1]:
                raise ConflictError(
                    f"DVC remote {name!r} named in {layout.CONFIG_PATH} is missing from {layout.DVC_CONFIG_PATH}"
                )
            if current[layout.DVC_GITIGNORE_PATH] is None:
                files[layout.DVC_GITIGNORE_PATH] = dvcconfig.DVC_GITIGNORE.encode()
            if current[layout.DVCIGNORE_PATH] is None:
                files[layout.DVCIGNORE_PATH] = dvcconfig.DVCIGNORE.encode()
            if ci:
                ci_files = ci_templates.files(
                    config.models_dir, branch, ci_owners or ci_templates.DEFAULT_OWNERS, ci_install
                )
                files |= {path: data for path, data in ci_files.items() if current[path] is None}
            outcome["remote"] = name
            outcome["url"] = dvcconfig.remotes(dvc_text, layout.DVC_CONFIG_PATH)[1][name]
            outcome["written"] = "\n".join(files)
            summary = "Initialize gitreg registry" if config_data is None else "Add gitreg files"
            return Change(files, summary, {"Gitreg-Action": "init"})

        change = build(registry.snapshot())
        commit = registry.apply(build).commit if change.files else None
        if dvcconfig.is_local(outcome["url"]):
            Path(outcome["url"]).mkdir(parents=True, exist_ok=True)
        written = tuple(outcome["written"].split("\n")) if commit and outcome["written"] else ()
        return Initialised(registry.name, commit, outcome["remote"], outcome["url"], written)

    def register(
        self,
        model: str,
        artifact: str | os.PathLike[str],
        *,
        version: str | None = None,
        bump: str | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        description: str = "",
        progress: Progress | None = None,
        run_id: str | None = None,
        run_url: str | None = None,
        parent: str | None = None,
        require_clean: bool = False,
    ) -> Registered:
        """Store the artifact and commit a new version manifest, tagged for GTO.

        Inputs must already be checked values (see ``gitreg.documents.inputs``).
        """
        from gitreg.storage import artifacts

        check_name(model)
        if version is not None and bump is not None:
            raise UsageError("give either a version or a bump, not both")
        requested = Version.parse(version) if version is not None else None
        if bump is not None and bump not in BUMPS:
            raise UsageError(f"invalid bump {bump!r}: use patch, minor or major")
        part = cast(Bump, bump)
        source = artifacts.check_source(artifact)
        wanted_parent = str(Version.parse(parent)) if parent is not None else None
        captured = lineage.capture(
            source.path, run_id=run_id, run_url=run_url, parent=wanted_parent, require_clean=require_clean
        )
        if not metrics and captured.metrics_files:
            from gitreg.documents import inputs

            metrics = {}
            for file in captured.metrics_files:
                metrics |= inputs.metrics(file)
        snap = self.snapshot()
        config = snap.config
        self.branch_ref()
        identity = self.repo.identity()
        store = artifacts.Store(self.dvc_root(snap), config.remote, progress=progress)
        prepared = store.prepare(source)
        created = time.time()
        # A file's hash is only known once it is pushed: the checks before the
        # push run with a stand-in entry (everything but the hash is checked).
        stored = [prepared.artifact or Artifact(source.path.name, "0" * 32, 0, config.remote)]

        def build(snap: Snapshot) -> Change:
            existing = snap.versions(model)
            # a tag differing only in case is the same file on case-insensitive file systems
            tagged = self.repo.tag_refs(tags.model_patterns(model), ignore_case=True)
            for name in tagged:
                event = tags.parse(name) or tags.parse(name.lower())  # Fraud@v1.0.1 takes 1.0.1 too
                if event and event.version and event.action == "register":
                    with contextlib.suppress(UsageError):  # GTO allows build metadata; we do not
                        existing.append(Version.parse(event.version))
            if requested is None:
                chosen = str(next_version(existing, part or cast(Bump, config.default_bump)))
            else:
                chosen = str(requested)
                if requested in existing:
                    raise ConflictError(f"{model} {chosen} is already registered")
            if wanted_parent is not None and Version.parse(wanted_parent) not in snap.versions(model):
                raise NotFoundError(f"parent {model} {wanted_parent} is not registered")
            event = tags.register(model, chosen)
            if event.name() in tagged or event.name().lower() in {t.lower() for t in tagged}:
                raise ConflictError(f"tag {event.name()} already exists")
            document = ModelVersion(
                model=model,
                version=chosen,
                created_at=timestamp(created),
                created_by=identity,
                artifact=stored[0],
                metrics=metrics or {},
                params=params or _flat_params(captured.params),
                metadata=metadata or {},
                labels=labels or {},
                description=description,
                lineage=captured.lineage,
            )
            files: dict[str, bytes | None] = dict(manifest.version_files(config.models_dir, document))
            current = snap.read_files([dvcyaml.PATH])[dvcyaml.PATH]
            files |= dvcyaml.registering(current, config.models_dir, [document])
            if snap.model(model) is None:
                model_file = layout.model_path(config.models_dir, model)
                files[model_file] = manifest.render(Model(name=model), model_file)
            return Change(
                files,
                f"Register {model} {chosen}",
                {"Gitreg-Action": "register", "Gitreg-Model": model, "Gitreg-Version": chosen},
                tags=[TagSpec(event, chosen)],
                result=document,
            )

        build(snap)  # every check runs before any byte is stored
        stored[0] = store.push(prepared)
        applied = self.apply(build)
        return Registered(applied.change.result, applied.commit, applied.tag_names[0], applied.attempts, captured.notes)

    def set_model(
        self,
        model: str,
        *,
        description: str | None = None,
        owners: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        gates: Sequence[GateEdit] = (),
        remove_gates: Sequence[tuple[str, str]] = (),
        monitor_threshold: float | None = None,
    ) -> tuple[Model, str | None]:
        """Edit ``model.yaml`` (created if the model has none yet) in one
        commit; the commit is None when nothing changed."""
        check_name(model)

        def build(snap: Snapshot) -> Change:
            for stage in [g[0] for g in gates] + [r[0] for r in remove_gates]:
                snap.check_stage(stage)
            current = snap.model(model) or Model(name=model)
            updated = edit_model(
                current, description=description, owners=owners, labels=labels, gates=gates, remove_gates=remove_gates
            )
            if monitor_threshold is not None:
                updated = dataclasses.replace(updated, monitor_threshold=monitor_threshold)
            path = layout.model_path(snap.models_dir, model)
            files: dict[str, bytes | None] = (
                {} if updated == snap.model(model) else {path: manifest.render(updated, path)}
            )
            return Change(
                files, f"Update model {model}", {"Gitreg-Action": "set-model", "Gitreg-Model": model}, result=updated
            )

        change = build(self.snapshot())
        if not change.files:
            return change.result, None
        applied = self.apply(build)
        return applied.change.result, applied.commit


_WHEN = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")


def parse_when(text: str) -> datetime | None:
    """An ISO 8601 date or date-time as an aware datetime (UTC unless the text
    has an offset; a bare date is the last second of that day), or None when
    ``text`` is not shaped like one (then it is a revision)."""
    if not _WHEN.fullmatch(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"invalid date {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]") from None
    if len(text) == len("YYYY-MM-DD"):
        parsed = parsed.replace(hour=23, minute=59, second=59)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _flat_params(by_file: Mapping[str, Any]) -> dict[str, Any]:
    """dvc.lock's params ({file: {name: value}}) as one mapping; a name found
    in two files keeps the first."""
    merged: dict[str, Any] = {}
    for values in by_file.values():
        if isinstance(values, Mapping):
            for key, value in values.items():
                merged.setdefault(str(key), value)
    return merged


def _new_repo(target: Path) -> Repo:
    """A new git repository for a registry, caching the untracked-file scan
    (an optional index extension every git library skips). No split index:
    its ``link`` extension is mandatory, and libgit2 (pygit2, so DVC and
    DVC Studio) refuses such an index and hangs; a write at 1,000 x 100
    costs ~0.1 s more without it (docs/dvc-gto.md)."""
    repo = Repo.init(target)
    repo.run(["config", "core.untrackedCache", "true"])
    return repo


def _refuse_gto_managed(repo: Repo, snap: Snapshot) -> None:
    """A repository GTO manages (its artifacts.yaml, or tags in its grammar)
    is not made a registry in place: gitreg would not know GTO's versions,
    and mirroring its own files would contradict GTO's assignments."""
    found = [name for name, _, _ in repo.tag_targets(["*@v*", "*#*"]) if tags.parse(name) is not None]
    has_index = snap.commit is not None and snap.read_files(["artifacts.yaml"])["artifacts.yaml"] is not None
    if found or has_index:
        what = f"{len(found)} GTO tag(s), e.g. {found[0]}" if found else "artifacts.yaml"
        raise ConflictError(
            f"{repo.root} is managed by GTO ({what}): gitreg init --adopt brings its versions and stages in "
            "(a manifest per version, a pointer per holder, every tag kept); plain init would leave them "
            "without manifests"
        )


def _choose_remote(
    default: str | None, known: Mapping[str, str], url: str | None, own: str | None, root: Path
) -> tuple[str, str | None]:
    """(remote name to use, URL to write or None to keep the config as is).
    A remote the repository already has is used as it is (``url`` naming
    it, or its default); a new one given by ``url`` is ``own``, a folder of
    the registry's own in it (``dvcconfig.own_folder``)."""
    if url is None:
        if default is not None and default in known:
            return default, None
        url = own = str(root / DEFAULT_STORAGE)
    for name, existing in known.items():
        if existing == url:
            return name, None
    url = own or url
    name = "storage"
    suffix = 2
    while name in known:
        name, suffix = f"storage{suffix}", suffix + 1
    return name, url


GateEdit = tuple[str, str, float | bool]  # (stage, gate key, threshold)


def edit_model(
    current: Model,
    *,
    description: str | None = None,
    owners: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    gates: Sequence[GateEdit] = (),
    remove_gates: Sequence[tuple[str, str]] = (),
) -> Model:
    """``current`` with the given fields replaced, labels merged, gates set
    and removed (a stage left with no gates disappears)."""
    new_gates = {stage: dict(values) for stage, values in current.gates.items()}
    for stage, key in remove_gates:
        if key not in new_gates.get(stage, {}):
            raise NotFoundError(f"model {current.name!r} has no gate {key!r} for stage {stage!r}")
        del new_gates[stage][key]
    for stage, key, threshold in gates:
        new_gates.setdefault(stage, {})[key] = threshold
    return dataclasses.replace(
        current,
        description=current.description if description is None else description,
        owners=current.owners if owners is None else tuple(owners),
        labels={**current.labels, **(labels or {})},
        gates={stage: values for stage, values in new_gates.items() if values},
    )
