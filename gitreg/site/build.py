"""Build the site into a folder, rewriting only what changed.

Each model's pages depend on its files (their blob ids), its stage moves and
the site's settings; a digest of those is the model's key. A model whose key
is unchanged since the last build is not read at all; within a changed
model, a version page is rewritten only when its manifest, the stage holders
it is compared with, or its signatures changed. What was built is recorded
in ``.gitreg-site.json`` in the folder, with the history walked so far
(``site.trail``); a rebuild after one promotion reads one model and rewrites
its pages, the overview, the Changes page and the data files.

A first build of a large registry spreads models over worker processes,
and walks the history meanwhile: a version costs its manifest's parse
(0.3-0.5 ms), its page (0.2-0.4 ms) and the file's creation (0.1-0.7 ms, as
the disk allows), so 100,000 versions take about 80 s of CPU here, 44-74 s
on two cores (benchmarks/results-site.md).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot
from gitreg.documents import layout, manifest
from gitreg.documents.manifest import Model, ModelVersion, RegistryConfig, StagePointer
from gitreg.documents.names import Version
from gitreg.errors import UsageError
from gitreg.operations import history
from gitreg.site import pages, trail
from gitreg.site.pages import Row, Settings, Timeline
from gitreg.storage import credentials, memo
from gitreg.storage.git import Repo

STATE = ".gitreg-site.json"
MOVES = ".gitreg-site-moves.json"  # during a build: the walk's answer, for worker processes
FORMAT = 2  # of the record; a record of another format means a whole build
ASSETS = ("site.css", "site.js", "favicon.svg")
_POOL_AT = 4000  # versions to read before worker processes pay for their start


@dataclass(frozen=True)
class Built:
    out: Path
    commit: str
    models: int
    versions: int
    written: int  # pages and data files written
    unchanged: int  # pages left as they were
    removed: int  # pages of models or versions no longer in the registry
    seconds: float


@dataclass
class ModelFiles:
    """One model's files in the tree being built: blob ids by name."""

    name: str
    model: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    pointers: dict[str, str] = field(default_factory=dict)
    signatures: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """What a worker needs to render one model's pages."""

    root: str
    out: str
    models_dir: str
    config: dict[str, Any]  # the RegistryConfig's document (what crosses to a worker process)
    files: ModelFiles
    moves_file: str  # the history walk's stage moves and activity (``MOVES``), once it is written
    previous: dict[str, str]  # page -> key, from the last build
    settings: Settings


@dataclass(frozen=True)
class Rendered:
    name: str
    row: Row
    pages: dict[str, str]  # page -> key
    written: int
    unchanged: int


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def check_base_url(url: str | None) -> str | None:
    if url is None:
        return None
    if not pages._URL.fullmatch(url):
        raise UsageError(f"invalid --base-url {url!r}: give the http(s) URL the site is published at")
    return url


def check_commit_url(url: str | None) -> str | None:
    if url is None:
        return None
    if "{commit}" not in url or not pages._URL.fullmatch(url.replace("{commit}", "0" * 40)):
        raise UsageError(
            f"invalid --commit-url {url!r}: give an http(s) URL with {{commit}} where the commit id goes, "
            "e.g. https://github.com/acme/registry/commit/{commit}"
        )
    return url


def _prepare(out: Path, registry: Registry) -> dict[str, Any]:
    """The last build's record, after making sure ``out`` is ours to write."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, not a folder: give a folder for the site")
    root = registry.root.resolve()
    target = out.resolve()
    if (
        target == root
        or target in root.parents
        or target == registry.repo.git_dir.resolve()
        or (registry.repo.git_dir.resolve() in target.parents)
    ):
        raise UsageError(f"{out} holds the registry itself: give a folder of its own for the site")
    state_file = out / STATE
    if out.is_dir() and any(out.iterdir()) and not state_file.is_file():
        raise UsageError(f"{out} is not empty and holds no site gitreg built: give an empty or new folder")
    if not state_file.is_file():
        return {}
    try:
        state = json.loads(state_file.read_text("utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged record: everything is built again
    return state if isinstance(state, dict) and state.get("format") == FORMAT else {}


def _listing(snap: Snapshot) -> dict[str, ModelFiles]:
    found: dict[str, ModelFiles] = {}
    models_dir = snap.models_dir
    for item in snap.repo.ls_tree(str(snap.commit), models_dir, recursive=True):
        where = layout.classify(models_dir, item.path)
        if where is None or where.kind in ("unexpected", "dvc"):
            continue
        files = found.setdefault(where.model, ModelFiles(where.model))
        if where.kind == "model":
            files.model = item.oid
        elif where.kind == "version":
            files.versions[where.name] = item.oid
        elif where.kind == "stage":
            files.pointers[where.name] = item.oid
        else:
            files.signatures.setdefault(where.name, []).append(where.file)
    for files in found.values():
        for version in files.versions:
            snap.version_of_file(files.name, version)
    return found


def settings_for(registry: Registry, snap: Snapshot, base_url: str | None, commit_url: str | None) -> Settings:
    from gitreg import __version__

    origin = None
    if registry.cache is not None:
        origin = credentials.strip(registry.cache.url)
    else:
        url = registry.repo.remote_url("origin")
        origin = credentials.strip(url) if url and not url.startswith("-") else None
    title = credentials.redact(registry.cache.url) if registry.cache else registry.root.name
    if commit_url is None and origin:
        commit_url = pages.forge_template(origin)
    return Settings(title, tuple(snap.config.stages), base_url, commit_url, origin, __version__)


def build(
    registry: Registry,
    out: Path,
    *,
    at: str | None = None,
    base_url: str | None = None,
    commit_url: str | None = None,
    jobs: int | None = None,
) -> Built:
    """Write the site of the registry (as it was at ``at``) into ``out``."""
    started = time.perf_counter()
    base_url, commit_url = check_base_url(base_url), check_commit_url(commit_url)
    state = _prepare(out, registry)
    snap = registry.snapshot_at(at)
    if snap.commit is None:
        raise UsageError(f"{registry.name} has no commits yet: nothing to show")
    commit, repo, models_dir = snap.commit, registry.repo, snap.models_dir
    config = snap.config
    settings = settings_for(registry, snap, base_url, commit_url)
    listing = _listing(snap)
    known_trail = _known_trail(state)
    base = _digest(FORMAT, settings.digest_parts(), _config_id(repo, commit))
    previous_models: Mapping[str, Any] = state.get("models", {}) if state.get("settings") == base else {}
    results: dict[str, Rendered] = {}
    out.mkdir(parents=True, exist_ok=True)
    moves_file = out / MOVES
    walked_now: list[trail.Trail] = []

    def walk() -> None:
        """The history walk; when every model is built anyway, it runs while
        the workers render (they wait for its file before a model page)."""
        try:
            walked_now.append(trail.walk(repo, commit, models_dir, known_trail))
            found = walked_now[0]
            moves = {m: [x.to_doc() for x in found.moves.get(m, [])] for m in listing}
            _write_atomically(moves_file, json.dumps({"moves": moves, "activity": found.activity}))
        except BaseException:
            _write_atomically(moves_file, json.dumps({"failed": True}))
            raise

    moves_file.unlink(missing_ok=True)  # one a stopped build left
    todo: list[Job] = []
    if previous_models:  # a rebuild: the walk decides which models changed
        walk()
    for name, files in sorted(listing.items()):
        before = previous_models.get(name)
        same = before is not None and before.get("key") == _model_key(base, files, walked_now[0])
        reused = _kept(name, before) if same and (out / pages.model_page(name)).is_file() else None
        if reused is not None:
            results[name] = reused
            continue
        previous = _pages_of(before)
        todo.append(
            Job(str(repo.root), str(out), models_dir, config.to_doc(), files, str(moves_file), previous, settings)
        )
    try:
        for done in _run(todo, jobs, None if previous_models else walk):
            results[done.name] = done
    finally:
        moves_file.unlink(missing_ok=True)
    walked = walked_now[0]
    keys = {name: _model_key(base, files, walked) for name, files in listing.items()}
    written = sum(r.written for r in results.values())
    unchanged = sum(r.unchanged for r in results.values())
    rows = [results[name].row for name in sorted(results)]
    shared = _shared_pages(repo, rows, walked, listing, settings, commit, models_dir)
    if registry.cache is None and registry.root.resolve() in out.resolve().parents:
        shared[".gitignore"] = "# a site gitreg built: not part of the registry's history\n*\n"
    for path, text in shared.items():
        if _write_if_changed(out, path, text):
            written += 1
        else:
            unchanged += 1
    kept = {path for r in results.values() for path in r.pages} | set(shared)
    old = {path for m in state.get("models", {}).values() for path in m.get("pages", {})} | set(state.get("shared", []))
    removed = _remove(out, old - kept)
    record = {
        "format": FORMAT,
        "commit": commit,
        "settings": base,
        "trail": walked.to_doc(),
        "models": {
            name: {"key": keys[name], "row": r.row.to_doc(), "pages": r.pages} for name, r in sorted(results.items())
        },
        "shared": sorted(shared),
    }
    _write_atomically(out / STATE, json.dumps(record, separators=(",", ":")))
    versions = sum(r.row.versions for r in results.values())
    return Built(out, commit, len(rows), versions, written, unchanged, removed, time.perf_counter() - started)


def _kept(name: str, before: Mapping[str, Any] | None) -> Rendered | None:
    """A model's pages as the last build recorded them; None if the record does not read."""
    written = _pages_of(before)
    try:
        return Rendered(name, Row(**before["row"]), written, 0, len(written))  # type: ignore[index]
    except (KeyError, TypeError):
        return None


def _pages_of(before: Mapping[str, Any] | None) -> dict[str, str]:
    """{page: key} of a model as the last build recorded it ({} if it does not read)."""
    try:
        return {str(p): str(k) for p, k in before["pages"].items()}  # type: ignore[index]
    except (KeyError, TypeError, AttributeError):
        return {}


def _known_trail(state: Mapping[str, Any]) -> trail.Trail | None:
    """The walk the last build recorded; None (walk again) if it does not read."""
    try:
        return trail.Trail.from_doc(state["trail"]) if "trail" in state else None
    except (KeyError, TypeError, ValueError):
        return None


def _model_key(base: str, files: ModelFiles, walked: trail.Trail) -> str:
    moves = [m.to_doc() for m in walked.moves.get(files.name, [])]
    return _digest(base, files.name, files.model, files.versions, files.pointers, files.signatures, moves)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, "utf-8")
    os.replace(temporary, path)


_WAITED: dict[tuple[str, int], dict[str, Any]] = {}


def _walked(job: Job) -> tuple[list[trail.Move], str]:
    """The model's stage moves and last activity, from the walk's file
    (waiting for it: the walk may still run in the building process)."""
    path = Path(job.moves_file)
    deadline = time.monotonic() + 3600
    while not path.is_file():
        if time.monotonic() > deadline:
            raise UsageError(f"the history walk did not finish: no {path}")
        time.sleep(0.05)
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _WAITED:
        _WAITED.clear()
        _WAITED[key] = json.loads(path.read_text("utf-8"))
    found = _WAITED[key]
    if found.get("failed"):
        raise UsageError("the history walk failed")
    moves = [trail.Move(*row) for row in found["moves"].get(job.files.name, [])]
    return moves, found["activity"].get(job.files.name, "")


def _config_id(repo: Repo, commit: str) -> str | None:
    """The blob id of the registry's configuration (stage policies show on model pages)."""
    entries = repo.read_trees([f"{commit}:.gitreg"]).get(f"{commit}:.gitreg") or []
    return next((oid for _, _, oid, name in entries if name == "config.yaml"), None)


def _run(todo: Sequence[Job], jobs: int | None, meanwhile: Callable[[], None] | None) -> list[Rendered]:
    """Render ``todo`` (in worker processes when it is large), running
    ``meanwhile`` once the work has started."""
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    size = sum(len(j.files.versions) for j in todo)
    if workers <= 1 or size < _POOL_AT or len(todo) < 2:
        if meanwhile:
            meanwhile()
        return [render_model(job) for job in todo]
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads (--serve)
    batches = _batches(todo, max(200, size // (workers * 32)))  # small enough that no worker idles long at the end
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_render_batch, batch) for batch in batches]
        if meanwhile:
            meanwhile()
        return [done for future in futures for done in future.result()]


def _batches(todo: Sequence[Job], size: int) -> list[list[Job]]:
    batches: list[list[Job]] = [[]]
    count = 0
    for job in todo:
        if count >= size:
            batches.append([])
            count = 0
        batches[-1].append(job)
        count += len(job.files.versions) + 1
    return batches


def _render_batch(batch: Sequence[Job]) -> list[Rendered]:
    return [render_model(job) for job in batch]


_REPOS: dict[str, Repo] = {}


def _repo(root: str) -> Repo:
    if root not in _REPOS:
        _REPOS[root] = Repo(root)
    return _REPOS[root]


def render_model(job: Job) -> Rendered:
    """Read one model's documents and write its pages (version pages only
    where their key changed)."""
    repo = _repo(job.root)
    remembered = memo.of(repo)
    files, models_dir, name = job.files, job.models_dir, job.files.name
    wanted = [*files.versions.values(), *files.pointers.values()]
    if files.model:
        wanted.append(files.model)
    blobs = repo.read_blobs(sorted(set(wanted)))
    model_path = layout.model_path(models_dir, name)
    model = (
        manifest.parse_at(blobs[files.model], Model, model_path, remembered, name=name) if files.model else Model(name)
    )
    docs: dict[str, ModelVersion] = {}
    for version, oid in files.versions.items():
        path = layout.version_path(models_dir, name, version)
        docs[version] = manifest.parse_at(blobs[oid], ModelVersion, path, remembered, model=name, version=version)
    pointers: dict[str, StagePointer] = {}
    for stage, oid in files.pointers.items():
        path = layout.stage_path(models_dir, name, stage)
        pointers[stage] = manifest.parse_at(blobs[oid], StagePointer, path, remembered, model=name, stage=stage)
    ordered = sorted(docs.values(), key=lambda d: Version.parse(d.version), reverse=True)
    holders = {s: docs[p.version] for s, p in pointers.items() if p.version in docs}
    holder_ids = sorted((s, p.version, files.versions.get(p.version)) for s, p in pointers.items())
    base = _digest(job.settings.digest_parts(), FORMAT)
    out = Path(job.out)
    page_keys: dict[str, str] = {}
    written = unchanged = 0
    made: set[Path] = set()  # folders this job made sure of
    compared = f"{base}|{json.dumps(holder_ids)}"  # what every version page of the model is compared with
    for version, doc in docs.items():
        path = pages.version_page(name, version)
        signatures = sorted(files.signatures.get(version, []))
        key = hashlib.sha256(f"{compared}|{files.versions[version]}|{','.join(signatures)}".encode()).hexdigest()[:24]
        page_keys[path] = key
        if job.previous.get(path) == key and (out / path).is_file():
            unchanged += 1
            continue
        html = pages.version_page_html(doc, blobs[files.versions[version]], holders, signatures, job.settings)
        _write(out, path, html, made)
        written += 1
    moves, activity = _walked(job)
    blobs.update(repo.read_blobs(trail.pointer_blobs(moves)))
    timeline = _timeline(moves, blobs, models_dir, name)
    config = RegistryConfig.from_doc(job.config)
    policies = {s: p for s in config.stages if (p := manifest.signature_policy(model, s, config)) is not None}
    for path, html in pages.model_pages(model, ordered, pointers, timeline, policies, job.settings).items():
        page_keys[path] = ""  # written whenever the model is: only a version page's key is compared
        _write(out, path, html, made)
        written += 1
    data_path = f"models/{name}/data.json"
    _write(out, data_path, _model_json(model, ordered, pointers, timeline, job.settings), made)
    page_keys[data_path] = ""
    written += 1
    if remembered is not None:
        remembered.flush()
    latest = str(Version.parse(ordered[0].version)) if ordered else None
    activity = activity or (ordered[0].created_at if ordered else "")
    row = Row(
        name,
        model.description,
        latest,
        {s: p.version for s, p in pointers.items()},
        len(docs),
        activity,
        dict(model.labels),
    )
    return Rendered(name, row, page_keys, written, unchanged)


def _timeline(moves: Sequence[trail.Move], blobs: Mapping[str, bytes], models_dir: str, name: str) -> list[Timeline]:
    found = []
    for move in moves:
        path = layout.stage_path(models_dir, name, move.stage)
        before = history.pointer(blobs.get(move.before) if move.before else None, path)
        after = history.pointer(blobs.get(move.after) if move.after else None, path)
        # a commit gitreg did not make (a `git revert`, an edit by hand) is its author's, and
        # says why in its subject: the pointer it leaves may still name whoever promoted before
        manual = move.action == "manual"
        by = after.promoted_by if after and not manual else move.by
        reason = move.reason or (after.reason if after and not manual else "")
        versions = (before.version if before else None), (after.version if after else None)
        found.append(Timeline(move.commit, move.at, by, move.action, reason, move.stage, *versions))
    return found


def _model_json(
    model: Model,
    versions: Sequence[ModelVersion],
    pointers: Mapping[str, StagePointer],
    timeline: Sequence[Timeline],
    settings: Settings,
) -> str:
    held: dict[str, list[str]] = {}
    for stage in settings.stages:
        if stage in pointers:
            held.setdefault(pointers[stage].version, []).append(stage)
    doc = {
        "name": model.name,
        "description": model.description,
        "owners": list(model.owners),
        "labels": dict(model.labels),
        "stages": {s: p.to_doc() for s, p in sorted(pointers.items())},
        "versions": [
            {
                "version": v.version,
                "stages": held.get(v.version, []),
                "status": v.state,
                "created_at": v.created_at,
                "created_by": v.created_by,
                "metrics": dict(v.metrics),
                "labels": dict(v.labels),
            }
            for v in versions
        ],
        "timeline": [t.__dict__ for t in reversed(timeline)],
    }
    return json.dumps(_json_safe(doc), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: such a number is written as its name, a string."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _shared_pages(
    repo: Repo,
    rows: Sequence[Row],
    walked: trail.Trail,
    listing: Mapping[str, ModelFiles],
    settings: Settings,
    commit: str,
    models_dir: str,
) -> dict[str, str | bytes]:
    """The pages every build writes (compared before writing): the overview,
    the model list, Changes, the assets."""
    found: dict[str, str | bytes] = {}
    at = walked.recent[0].at if walked.recent else ""
    total = sum(r.versions for r in rows)
    count = max(1, -(-len(rows) // pages.ROWS_PER_PAGE))
    for page in range(1, count + 1):
        chunk = rows[(page - 1) * pages.ROWS_PER_PAGE : page * pages.ROWS_PER_PAGE]
        found[pages.overview_page(page)] = pages.overview(chunk, page, count, settings, commit, at, total)
    found["data/models.json"] = json.dumps(
        [r.to_doc() | {"url": pages.model_page(r.name)} for r in rows], sort_keys=True, separators=(",", ":")
    )  # rows hold names, versions, labels and times: always finite
    found["changes.html"] = pages.changes(_change_lines(repo, walked, listing, models_dir), settings)
    folder = resources.files("gitreg.site") / "assets"
    for asset in ASSETS:
        found[f"assets/{asset}"] = (folder / asset).read_bytes()
    return found


def _change_lines(
    repo: Repo, walked: trail.Trail, listing: Mapping[str, ModelFiles], models_dir: str
) -> list[pages.ChangeLine]:
    present = {(m, "") for m in listing} | {(m, v) for m, f in listing.items() for v in f.versions}
    oids = sorted({o for c in walked.recent for x in c.changes if x.kind == "stage" for o in (x.before, x.after) if o})
    blobs = repo.read_blobs(oids)
    lines = []
    for c in walked.recent:
        items = []
        for x in c.changes:
            before, after = x.before, x.after
            if x.kind == "stage":
                path = layout.stage_path(models_dir, x.model, x.name)
                old = history.pointer(blobs.get(before) if before else None, path)
                new = history.pointer(blobs.get(after) if after else None, path)
                before, after = (old.version if old else None), (new.version if new else None)
            items.append(pages.change_item(x.kind, x.status, x.model, x.name, before, after, present))
        lines.append(pages.ChangeLine(c.id, c.at, c.by, c.subject, c.action, items, c.total))
    return lines


def _write(out: Path, path: str, text: str | bytes, made: set[Path] | None = None) -> None:
    target = out / path
    if made is None or target.parent not in made:
        target.parent.mkdir(parents=True, exist_ok=True)
        if made is not None:
            made.add(target.parent)
    target.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)


def _write_if_changed(out: Path, path: str, text: str | bytes) -> bool:
    data = text.encode("utf-8") if isinstance(text, str) else text
    target = out / path
    try:
        if target.read_bytes() == data:
            return False
    except OSError:
        pass
    _write(out, path, data)
    return True


def _remove(out: Path, paths: Iterable[str]) -> int:
    """Delete pages this site wrote before and no longer has (only paths the
    record lists, inside ``out``), then the folders they leave empty."""
    removed = 0
    root = out.resolve()
    folders: set[Path] = set()
    for path in paths:
        target = (out / path).resolve()
        if root not in target.parents:
            continue  # a record edited to point elsewhere: never followed
        try:
            target.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        folders.update(p for p in target.parents if root in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty
            folder.rmdir()
    return removed
