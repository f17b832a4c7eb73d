"""The site's pages as HTML text: pure functions of registry documents.

Everything a registry holds is text someone typed (descriptions, labels,
reasons, params, commit subjects), so every value goes through ``esc`` and
shows as text, markup included; a link is made only of an ``http(s)`` URL.
Pages carry a Content-Security-Policy that allows nothing from elsewhere:
the site works offline and no page can make a request off its own host.
Links are relative, so the site works from any folder or URL prefix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote

from gitreg.documents.manifest import Evaluation, Model, ModelVersion, SignaturePolicy, StagePointer
from gitreg.site import charts

CHARTED_METRICS = 12  # charts on a model page
CHARTED_VERSIONS = 500  # newest versions a chart shows
ROWS_PER_PAGE = 500  # versions per page of a model's version table; models per overview page
TIMELINE_ROWS = 200  # moves per stage on a model page
EVALUATION_ROWS = 100
KEY_METRICS = 4  # metric columns of a version table
# what one page shows of values that have no bound of their own, so that no page passes 1 MiB
VALUE_CHARS = 2000  # one param, label, metadata or lineage value
NOTE_CHARS = 500  # a reason, a commit subject, who
TABLE_ROWS = 500  # rows of a params, metadata or lineage table, metrics compared
ROW_LABELS = 5  # labels in a table row
RAW_BYTES = 200_000  # of the manifest shown as committed
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)
_URL = re.compile(r"https?://[^\s\"'<>]+")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._/-]*")  # what names and versions are made of: nothing to quote


def esc(value: object) -> str:
    return escape(str(value), quote=True)


@dataclass(frozen=True)
class Settings:
    """What every page may show besides its own documents (part of each
    page's key: a change here rewrites the pages)."""

    title: str  # the registry's name
    stages: tuple[str, ...]  # configured order
    base_url: str | None = None  # where the site is published (canonical links)
    commit_url: str | None = None  # a template with {commit}
    registry_url: str | None = None  # what snippets pass as -R / registry=
    version: str = ""  # gitreg's

    def stage_class(self) -> dict[str, str]:
        return {stage: f"s{i % 6}" for i, stage in enumerate(self.stages)}

    def digest_parts(self) -> list[str]:
        optional = (self.base_url, self.commit_url, self.registry_url)
        return [self.title, ",".join(self.stages), *(x or "" for x in optional), self.version]


@dataclass
class Timeline:
    """One move of a stage pointer, as a page shows it."""

    commit: str
    at: str
    by: str
    action: str
    reason: str
    stage: str
    before: str | None  # versions
    after: str | None


@dataclass
class Row:
    """A model's line on the overview (also kept with the site, so an
    unchanged model is not read again)."""

    name: str
    description: str
    latest: str | None
    holders: dict[str, str]
    versions: int
    activity: str
    labels: dict[str, str] = field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "latest": self.latest,
            "holders": self.holders,
            "versions": self.versions,
            "activity": self.activity,
            "labels": self.labels,
        }


# -- paths -------------------------------------------------------------------


def model_page(model: str, page: int = 1) -> str:
    return f"models/{model}/index.html" if page == 1 else f"models/{model}/versions-{page}.html"


def version_page(model: str, version: str) -> str:
    return f"models/{model}/versions/{version}.html"


def overview_page(page: int = 1) -> str:
    return "index.html" if page == 1 else f"index-{page}.html"


def href(here: str, target: str) -> str:
    """``target`` (a site path: no ``.``, ``..`` or leading ``/``) relative
    to the page at ``here``; string work only, as it runs for every link."""
    folder = here.split("/")[:-1]
    parts = target.split("/")
    shared = 0
    while shared < len(folder) and shared < len(parts) - 1 and folder[shared] == parts[shared]:
        shared += 1
    relative = "../" * (len(folder) - shared) + "/".join(parts[shared:])
    return relative if _PLAIN_PATH.fullmatch(relative) else quote(relative, safe="/#.-_~@")


# -- pieces ------------------------------------------------------------------


def when(stamp: str) -> str:
    """An RFC 3339 time as a <time>, shown to the minute in UTC."""
    shown = stamp.replace("T", " ")[:16] + " UTC" if len(stamp) >= 16 else stamp
    return f'<time datetime="{esc(stamp)}">{esc(shown)}</time>'


def badge(stage: str, css: Mapping[str, str]) -> str:
    return f'<span class="badge {css.get(stage, "s-other")}">{esc(stage)}</span>'


def status_badge(state: str) -> str:
    return f'<span class="status status-{esc(state)}">{esc(state)}</span>' if state != "active" else ""


def link_or_text(value: object) -> str:
    """An http(s) URL as a link that sends nothing back; anything else as text."""
    text = str(value)
    return _outbound(text, text) if _URL.fullmatch(text) else esc(text)


def _outbound(url: str, text: str) -> str:
    return f'<a href="{esc(url)}" rel="nofollow noopener noreferrer">{esc(text)}</a>'


def commit_ref(commit: str, settings: Settings) -> str:
    if settings.commit_url:
        target = settings.commit_url.replace("{commit}", commit)
        return f'<a href="{esc(target)}" rel="nofollow noopener noreferrer"><code>{esc(commit[:10])}</code></a>'
    return f"<code>{esc(commit[:10])}</code>"


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested mappings as dotted keys; lists and scalars as leaves."""
    if isinstance(value, Mapping):
        rows: list[tuple[str, Any]] = []
        for key in sorted(value):
            rows += flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
        return rows
    return [(prefix, value)]


def clip(text: str, limit: int = VALUE_CHARS) -> str:
    """``text``, cut at ``limit`` characters with a note of its length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters: the manifest has it whole)"


def note(text: str) -> str:
    """A short free text (a reason, who, a subject), escaped and cut to size."""
    return esc(clip(text, NOTE_CHARS))


def shown(value: Any) -> str:
    if isinstance(value, str):
        return clip(value)
    if isinstance(value, float):
        return charts.number(value)
    return clip(json.dumps(value, sort_keys=True, default=str))


def kv_table(rows: Sequence[tuple[str, Any]], cls: str = "kv") -> str:
    if not rows:
        return '<p class="none">None recorded.</p>'
    body = "".join(
        f"<tr><th scope=row>{note(k)}</th><td>{link_or_text(shown(v))}</td></tr>" for k, v in rows[:TABLE_ROWS]
    )
    more = (
        f"<p>The first {TABLE_ROWS} of {len(rows):,}; the manifest has them all.</p>" if len(rows) > TABLE_ROWS else ""
    )
    return f'<table class="{cls}"><tbody>{body}</tbody></table>{more}'


def table(head: Sequence[str], rows: Iterable[str], cls: str = "", table_id: str = "") -> str:
    th = "".join(f"<th scope=col>{h}</th>" for h in head)
    attrs = (f' class="{cls}"' if cls else "") + (f' id="{table_id}"' if table_id else "")
    return f"<table{attrs}><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def text_block(text: str) -> str:
    return f'<p class="text">{esc(clip(text, 10_000))}</p>' if text else ""


def labels_list(labels: Mapping[str, str], limit: int | None = None) -> str:
    """Labels as chips (the first ``limit``, then how many more)."""
    if not labels:
        return ""
    chosen = sorted(labels.items())[:limit]
    items = "".join(f'<li><span class="label">{note(k)}={note(v)}</span></li>' for k, v in chosen)
    more = f"<li>+{len(labels) - len(chosen)} more</li>" if len(labels) > len(chosen) else ""
    return f'<ul class="labels">{items}{more}</ul>'


def pager(here: str, pages: int, current: int, path: Any) -> str:
    if pages <= 1:
        return ""
    links = []
    for page in range(1, pages + 1):
        if page == current:
            links.append(f'<li><span aria-current="page">{page}</span></li>')
        else:
            links.append(f'<li><a href="{href(here, path(page))}">{page}</a></li>')
    return f'<nav class="pager" aria-label="pages"><ul>{"".join(links)}</ul></nav>'


def shell(here: str, title: str, body: str, settings: Settings, crumbs: Sequence[tuple[str, str]] = ()) -> str:
    """A whole page: head, navigation, ``body``."""
    root = href(here, "index.html")[: -len("index.html")]
    canonical = ""
    if settings.base_url:
        canonical = f'<link rel="canonical" href="{esc(settings.base_url.rstrip("/") + "/" + quote(here))}">'
    trail = "".join(f'<li><a href="{href(here, path)}">{esc(name)}</a></li>' for name, path in crumbs)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)} · {esc(settings.title)}</title>"
        f'<link rel="stylesheet" href="{root}assets/site.css">'
        f'<link rel="icon" href="{root}assets/favicon.svg" type="image/svg+xml">{canonical}'
        f'<script src="{root}assets/site.js" defer></script></head><body>'
        '<a class="skip" href="#main">Skip to content</a>'
        f'<header><nav aria-label="site"><a class="brand" href="{root}index.html">{esc(settings.title)}</a>'
        f'<ul><li><a href="{root}index.html">Models</a></li><li><a href="{root}changes.html">Changes</a></li></ul>'
        f"</nav></header>"
        + (f'<nav class="crumbs" aria-label="breadcrumb"><ol>{trail}</ol></nav>' if trail else "")
        + f'<main id="main">{body}</main>'
        f"<footer><p>A static view of a gitreg registry (gitreg {esc(settings.version)}). "
        "No scripts from elsewhere, no tracking.</p></footer></body></html>\n"
    )


# -- the overview ------------------------------------------------------------


def overview(
    rows: Sequence[Row], page: int, pages: int, settings: Settings, commit: str, at: str, total_versions: int
) -> str:
    here = overview_page(page)
    css = settings.stage_class()
    head = ["Model", "Latest", *(esc(s) for s in settings.stages), "Versions", "Last activity"]
    lines = []
    for row in rows:
        labelled = " ".join(f"{k}={v}" for k, v in row.labels.items())
        searchable = " ".join([row.name, row.description[:300], labelled[:NOTE_CHARS]])
        cells = [
            f'<td><a href="{href(here, model_page(row.name))}">{esc(row.name)}</a>'
            + (f'<span class="sub">{esc(_first_line(row.description))}</span>' if row.description else "")
            + "</td>",
            f"<td>{_version_link(here, row.name, row.latest)}</td>" if row.latest else "<td>—</td>",
        ]
        for stage in settings.stages:
            held = row.holders.get(stage)
            if held is None:
                cells.append('<td class="empty">—</td>')
                continue
            target = href(here, version_page(row.name, held))
            cells.append(f'<td><a class="badge {css[stage]}" href="{target}">{esc(held)}</a></td>')
        cells.append(f"<td class=num>{row.versions}</td><td>{when(row.activity) if row.activity else '—'}</td>")
        lines.append(f'<tr data-search="{esc(searchable.lower())}">{"".join(cells)}</tr>')
    models_total = sum(1 for _ in rows) if pages == 1 else None
    count = f"{models_total} models" if models_total is not None else f"page {page} of {pages}"
    body = (
        f"<h1>Models</h1><p class=lead>{count}, {total_versions} versions, at commit "
        f"{commit_ref(commit, settings)} ({when(at)}).</p>"
        '<p class="search"><label for="filter">Filter models</label> '
        '<input type="search" id="filter" data-filter="models" data-source="'
        f'{href(here, "data/models.json")}" placeholder="name, label, description">'
        '</p><ul class="matches" id="models-matches" hidden></ul>'
        + table(head, lines, "models", "models")
        + pager(here, pages, page, overview_page)
    )
    return shell(here, "Models", body, settings)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:140] + ("…" if len(line) > 140 else "")


def _version_link(here: str, model: str, version: str | None) -> str:
    if version is None:
        return "—"
    return f'<a href="{href(here, version_page(model, version))}">{esc(version)}</a>'


# -- a model -----------------------------------------------------------------


def key_metrics(model: Model, versions: Sequence[ModelVersion]) -> list[str]:
    """The metrics a version table shows: those the gates name first, then
    the most recorded."""
    gated = []
    for gates in model.gates.values():
        for key in gates:
            for prefix in ("min_improvement_pct_", "min_improvement_", "min_", "max_"):
                if key.startswith(prefix):
                    gated.append(key[len(prefix) :])
                    break
    counts: dict[str, int] = {}
    for v in versions:
        for name in v.metrics:
            counts[name] = counts.get(name, 0) + 1
    ordered = list(dict.fromkeys(m for m in gated if m in counts))
    ordered += sorted((m for m in counts if m not in ordered), key=lambda m: (-counts[m], m))
    return ordered


def model_pages(
    model: Model,
    versions: Sequence[ModelVersion],  # newest first
    pointers: Mapping[str, StagePointer],
    timeline: Sequence[Timeline],  # oldest first
    policies: Mapping[str, SignaturePolicy],
    settings: Settings,
) -> dict[str, str]:
    """The model's page (and the further pages of its version table)."""
    css = settings.stage_class()
    holders: dict[str, list[str]] = {}
    for stage in settings.stages:
        if stage in pointers:
            holders.setdefault(pointers[stage].version, []).append(stage)
    metrics = key_metrics(model, versions)
    pages = max(1, -(-len(versions) // ROWS_PER_PAGE))
    crumbs = [("Models", "index.html")]
    found = {}
    for page in range(1, pages + 1):
        here = model_page(model.name, page)
        chunk = versions[(page - 1) * ROWS_PER_PAGE : page * ROWS_PER_PAGE]
        table_html = _versions_table(here, model.name, chunk, holders, metrics[:KEY_METRICS], css)
        pager_html = pager(here, pages, page, lambda p: model_page(model.name, p))
        if page > 1:
            body = f"<h1>{esc(model.name)}: versions, page {page}</h1>{table_html}{pager_html}"
            found[here] = shell(
                here, f"{model.name} versions", body, settings, [*crumbs, (model.name, model_page(model.name))]
            )
            continue
        body = "".join(
            [
                f"<h1>{esc(model.name)}</h1>",
                text_block(model.description),
                _owners(model),
                labels_list(dict(model.labels)),
                "<h2 id=stages>Stages</h2>",
                _stages_table(here, model.name, pointers, css, settings),
                _gates(model, policies, settings),
                _charts(versions, holders, metrics, css),
                f"<h2 id=versions>Versions</h2><p>{len(versions)} version{'s' if len(versions) != 1 else ''}.</p>",
                '<p class="search"><label for="vfilter">Filter versions</label> '
                '<input type="search" id="vfilter" data-filter="versions" placeholder="version, stage, label"></p>',
                table_html,
                pager_html,
                _timeline(here, model.name, timeline, css, settings),
                _evaluations(here, model.name, versions),
            ]
        )
        found[here] = shell(here, model.name, body, settings, crumbs)
    return found


def _owners(model: Model) -> str:
    if not model.owners:
        return ""
    return f"<p>Owners: {', '.join(esc(o) for o in model.owners)}</p>"


def _stages_table(
    here: str, name: str, pointers: Mapping[str, StagePointer], css: Mapping[str, str], settings: Settings
) -> str:
    rows = []
    for stage in settings.stages:
        p = pointers.get(stage)
        if p is None:
            rows.append(f'<tr><th scope=row>{badge(stage, css)}</th><td colspan=4 class="empty">no version</td></tr>')
            continue
        rows.append(
            f"<tr><th scope=row>{badge(stage, css)}</th><td>{_version_link(here, name, p.version)}</td>"
            f"<td>{when(p.promoted_at)}</td><td>{note(p.promoted_by)}</td><td>{note(p.reason)}</td></tr>"
        )
    return table(["Stage", "Version", "Since", "By", "Reason"], rows, "stages")


def _gates(model: Model, policies: Mapping[str, SignaturePolicy], settings: Settings) -> str:
    items = []
    for stage in settings.stages:
        rules = [f"<code>{esc(k)}: {esc(shown(v))}</code>" for k, v in sorted(model.gates.get(stage, {}).items())]
        policy = policies.get(stage)
        if policy is not None:
            said = [f"{k}: {', '.join(v)}" for k, v in sorted(policy.to_doc().items()) if v]
            rules.append(f"<code>require_signature ({esc('; '.join(said))})</code>")
        if rules:
            items.append(f"<li>{esc(stage)}: {', '.join(rules)}</li>")
    if not items:
        return "<h2 id=gates>Gates</h2><p class=none>No gates: any version may be promoted to any stage.</p>"
    return f"<h2 id=gates>Gates</h2><ul class=gates>{''.join(items)}</ul>"


def _charts(
    versions: Sequence[ModelVersion],
    holders: Mapping[str, Sequence[str]],
    metrics: Sequence[str],
    css: Mapping[str, str],
) -> str:
    if not metrics:
        return ""
    oldest_first = list(reversed(versions[:CHARTED_VERSIONS]))
    parts = ["<h2 id=metrics>Metrics across versions</h2>"]
    if len(versions) > CHARTED_VERSIONS:
        parts.append(f"<p>The charts show the newest {CHARTED_VERSIONS} versions.</p>")
    if len(metrics) > CHARTED_METRICS:
        parts.append(
            f"<p>{CHARTED_METRICS} of {len(metrics)} metrics are charted; every version page has them all.</p>"
        )
    for i, metric in enumerate(metrics[:CHARTED_METRICS]):
        points = [(v.version, float(v.metrics[metric])) for v in oldest_first if charts.finite(v.metrics.get(metric))]
        if not points:
            continue
        rows = "".join(
            f"<tr><td>{esc(v)}</td><td class=num>{charts.number(x)}</td>"
            f"<td>{esc(', '.join(holders.get(v, ())))}</td></tr>"
            for v, x in points
        )
        chart = charts.line_chart(metric, points, holders, css, f"chart-{i}")
        parts.append(
            f'<figure class="chart" id="metric-{esc(metric)}"><figcaption>{esc(metric)}</figcaption>{chart}'
            f"<details><summary>Data table: {esc(metric)}</summary>"
            + table(["Version", esc(metric), "Stages"], [rows], "data")
            + "</details></figure>"
        )
    return "".join(parts)


def _versions_table(
    here: str,
    name: str,
    versions: Sequence[ModelVersion],
    holders: Mapping[str, Sequence[str]],
    metrics: Sequence[str],
    css: Mapping[str, str],
) -> str:
    rows = []
    for v in versions:
        stages = holders.get(v.version, ())
        labels = dict(v.labels)
        labelled = " ".join(f"{k}={x}" for k, x in labels.items())[:NOTE_CHARS]
        searchable = " ".join([v.version, *stages, v.state, labelled]).lower()
        metric_cells = "".join(
            f"<td class=num>{charts.number(v.metrics[m]) if m in v.metrics else '—'}</td>" for m in metrics
        )
        rows.append(
            f'<tr data-search="{esc(searchable)}"><td>{_version_link(here, name, v.version)}</td>'
            f"<td>{''.join(badge(s, css) for s in stages)}{status_badge(v.state)}</td>"
            f"<td>{when(v.created_at)}</td><td>{esc(v.created_by)}</td>{metric_cells}"
            f"<td>{labels_list(labels, ROW_LABELS)}</td></tr>"
        )
    head = ["Version", "Stages, status", "Registered", "By", *(esc(m) for m in metrics), "Labels"]
    return table(head, rows, "versions", "versions")


def _timeline(here: str, name: str, moves: Sequence[Timeline], css: Mapping[str, str], settings: Settings) -> str:
    parts = ["<h2 id=timeline>Promotion timeline</h2>"]
    if not moves:
        parts.append("<p class=none>No stage has held a version yet.</p>")
    for stage in [*settings.stages, *sorted({m.stage for m in moves} - set(settings.stages))]:
        own = [m for m in reversed(moves) if m.stage == stage]
        if not own:
            continue
        rows = []
        for m in own[:TIMELINE_ROWS]:
            before = _version_link(here, name, m.before) if m.before else "—"
            after = _version_link(here, name, m.after) if m.after else "<em>none</em>"
            rows.append(
                f'<tr class="action-{esc(m.action)}"><td>{when(m.at)}</td><td>{note(m.by)}</td>'
                f"<td>{before} → {after}</td><td>{esc(m.action)}</td><td>{note(m.reason)}</td>"
                f"<td>{commit_ref(m.commit, settings)}</td></tr>"
            )
        more = ""
        if len(own) > TIMELINE_ROWS:
            command = f"gitreg history {name} --stage {stage}"
            more = f"<p>The newest {TIMELINE_ROWS} of {len(own)} moves; all: <code>{esc(command)}</code></p>"
        parts.append(
            f'<h3 id="timeline-{esc(stage)}">{badge(stage, css)}</h3>'
            + table(["When", "Who", "From → to", "Action", "Reason", "Commit"], rows, "timeline")
            + more
        )
    return "".join(parts)


def _evaluations(here: str, name: str, versions: Sequence[ModelVersion]) -> str:
    found = [(e, v.version) for v in versions for e in v.evaluations]
    if not found:
        return ""
    found.sort(key=lambda x: x[0].at, reverse=True)
    rows = [
        f"<tr><td>{when(e.at)}</td><td>{_version_link(here, name, version)}</td><td>{esc(e.environment or '')}</td>"
        f"<td>{note(e.by)}</td><td>{esc(_metric_list(e.metrics))}</td></tr>"
        for e, version in found[:EVALUATION_ROWS]
    ]
    charted = "".join(_evaluation_chart(metric, found, i) for i, metric in enumerate(_evaluated(found)))
    head = ["When", "Version", "Environment", "By", "Metrics"]
    return "<h2 id=evaluations>Evaluations</h2>" + charted + table(head, rows)


def _evaluated(found: Sequence[tuple[Evaluation, str]]) -> list[str]:
    """The metrics evaluations recorded most, up to four."""
    counts: dict[str, int] = {}
    for evaluation, _ in found:
        for metric in evaluation.metrics:
            counts[metric] = counts.get(metric, 0) + 1
    return sorted(counts, key=lambda m: (-counts[m], m))[:4]


def _evaluation_chart(metric: str, found: Sequence[tuple[Evaluation, str]], index: int) -> str:
    """One metric's evaluations over time (the newest CHARTED_VERSIONS), each
    point the version evaluated, the axis their dates."""
    chosen = [(e, v) for e, v in reversed(found[:CHARTED_VERSIONS]) if charts.finite(e.metrics.get(metric))]
    if not chosen:
        return ""
    points = [(version, float(e.metrics[metric])) for e, version in chosen]
    dates = [e.at[:10] for e, _ in chosen]
    chart = charts.line_chart(metric, points, {}, {}, f"evaluation-{index}", dates, "evaluated")
    rows = "".join(
        f"<tr><td>{when(e.at)}</td><td>{esc(version)}</td><td>{esc(e.environment or '')}</td>"
        f"<td class=num>{charts.number(float(e.metrics[metric]))}</td></tr>"
        for e, version in chosen
    )
    return (
        f'<figure class="chart"><figcaption>{esc(metric)}, as evaluated</figcaption>{chart}'
        f"<details><summary>Data table: {esc(metric)} as evaluated</summary>"
        + table(["When", "Version", "Environment", esc(metric)], [rows], "data")
        + "</details></figure>"
    )


# -- a version ---------------------------------------------------------------


def version_page_html(
    doc: ModelVersion,
    raw: bytes,
    holders: Mapping[str, ModelVersion],  # stage -> its holder
    signatures: Sequence[str],
    settings: Settings,
) -> str:
    here = version_page(doc.model, doc.version)
    css = settings.stage_class()
    held = [s for s in settings.stages if s in holders and holders[s].version == doc.version]
    ref = f"{doc.model}@{doc.version}"
    body = [
        f"<h1>{esc(doc.model)} <span class=version>{esc(doc.version)}</span> "
        f"{''.join(badge(s, css) for s in held)}{status_badge(doc.state)}</h1>",
        text_block(doc.description),
        labels_list(dict(doc.labels)),
        f"<p>Registered {when(doc.created_at)} by {esc(doc.created_by)}.</p>",
        _compare(here, doc, holders, held, css),
        "<h2 id=artifact>Artifact</h2>",
        _artifact(doc),
        "<h2 id=params>Params</h2>",
        kv_table(flatten(doc.params)),
    ]
    if doc.metadata:
        body += ["<h2 id=metadata>Metadata</h2>", kv_table(flatten(doc.metadata))]
    body += ["<h2 id=lineage>Lineage</h2>", _lineage(here, doc)]
    if doc.datasets:
        rows = [
            f'<tr><td><a href="{href(here, version_page(link.dataset, link.version))}">{esc(link.ref)}</a></td>'
            f"<td>{esc(link.role)}</td><td>{esc(link.path or '')}</td></tr>"
            for link in doc.datasets
        ]
        body += ["<h2 id=datasets>Datasets</h2>", table(["Dataset version", "Role", "Tracked by DVC as"], rows)]
    if doc.data is not None:
        body += ["<h2 id=data>Data</h2>", _data(doc.data)]
    if doc.signature or doc.input_example:
        body += ["<h2 id=io>Input and output</h2>", _interface(doc)]
    if doc.environment:
        body += ["<h2 id=environment>Environment</h2>", _environment(doc.environment)]
    if signatures:
        items = "".join(f"<li><code>{esc(s)}</code></li>" for s in signatures)
        body.append(f"<h2 id=signatures>Signatures</h2><ul>{items}</ul>")
    if doc.evaluations:
        rows = [
            f"<tr><td>{when(e.at)}</td><td>{esc(e.environment or '')}</td><td>{note(e.by)}</td>"
            f"<td>{esc(_metric_list(e.metrics))}</td></tr>"
            for e in reversed(doc.evaluations)
        ]
        body.append("<h2 id=evaluations>Evaluations</h2>" + table(["When", "Environment", "By", "Metrics"], rows))
    if doc.approvals:
        rows = [
            f"<tr><td>{when(a.at)}</td><td>{esc(a.stage)}</td><td>{note(a.by)}</td><td>{note(a.note)}</td></tr>"
            for a in doc.approvals
        ]
        body.append("<h2 id=approvals>Approvals</h2>" + table(["When", "For", "By", "Note"], rows))
    if doc.annotations:
        rows = [
            f"<tr><td>{when(a.at)}</td><td>{note(a.by)}</td><td>{note(a.reason)}</td>"
            f"<td>{esc(json.dumps(_said(a.to_doc()), sort_keys=True))}</td></tr>"
            for a in doc.annotations
        ]
        body.append("<h2 id=annotations>Annotations</h2>" + table(["When", "By", "Reason", "Said"], rows))
    registry = f" -R {_shell_word(settings.registry_url)}" if settings.registry_url else ""
    python_registry = f", registry={json.dumps(settings.registry_url)}" if settings.registry_url else ""
    cli = f"gitreg pull {ref}{registry} -o {_shell_word(doc.artifact.path)}"
    py = f"import gitreg\n\npath = gitreg.load_artifact({json.dumps(ref)}{python_registry})"
    body += [
        "<h2 id=use>Use it</h2>",
        f'<pre class="snippet" id="snippet-cli"><code>{esc(cli)}</code></pre>',
        f'<pre class="snippet" id="snippet-python"><code>{esc(py)}</code></pre>',
        "<h2 id=manifest>Manifest</h2><details><summary>The version's file as committed</summary>",
        f"<pre>{esc(clip(raw.decode('utf-8', 'replace'), RAW_BYTES))}</pre></details>",
    ]
    crumbs = [("Models", "index.html"), (doc.model, model_page(doc.model))]
    return shell(here, ref, "".join(body), settings, crumbs)


def _metric_list(metrics: Mapping[str, float]) -> str:
    return clip(", ".join(f"{k}={charts.number(x)}" for k, x in sorted(metrics.items())), NOTE_CHARS)


def _said(record: Mapping[str, Any]) -> dict[str, Any]:
    """What an annotation record says, without its when, who and why."""
    return {k: v for k, v in record.items() if k not in ("at", "by", "reason")}


def _shell_word(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_./:@+=-]+", text) else "'" + text.replace("'", "'\\''") + "'"


def _compare(
    here: str, doc: ModelVersion, holders: Mapping[str, ModelVersion], held: Sequence[str], css: Mapping[str, str]
) -> str:
    others = [(s, v) for s, v in holders.items() if s not in held]
    names = sorted(set(doc.metrics) | {m for _, v in others for m in v.metrics})
    if not names:
        return "<h2 id=metrics>Metrics</h2><p class=none>None recorded.</p>"
    head = ["Metric", esc(doc.version)]
    for stage, holder in others:
        head += [f"{badge(stage, css)} {_version_link(here, doc.model, holder.version)}", "Δ"]
    rows = []
    for name in names[:TABLE_ROWS]:
        mine = doc.metrics.get(name)
        cells = [
            f"<th scope=row>{esc(name)}</th>",
            f"<td class=num>{charts.number(mine) if mine is not None else '—'}</td>",
        ]
        for _, holder in others:
            theirs = holder.metrics.get(name)
            cells.append(f"<td class=num>{charts.number(theirs) if theirs is not None else '—'}</td>")
            if charts.finite(mine) and charts.finite(theirs):
                delta = float(mine) - float(theirs)  # type: ignore[arg-type]
                sign = "up" if delta > 0 else "down" if delta < 0 else "same"
                cells.append(f'<td class="num delta {sign}">{"+" if delta > 0 else ""}{charts.number(delta)}</td>')
            else:
                cells.append("<td class=num>—</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    title = "Metrics, compared with the stage holders" if others else "Metrics"
    more = f"<p>The first {TABLE_ROWS} of {len(names):,} metrics.</p>" if len(names) > TABLE_ROWS else ""
    return f"<h2 id=metrics>{title}</h2>" + table(head, rows, "compare") + more


def _artifact(doc: ModelVersion) -> str:
    a = doc.artifact
    rows: list[tuple[str, Any]] = [("path", a.path), ("size", f"{_size(a.size)} ({a.size} bytes)")]
    if a.nfiles is not None:
        rows.append(("files", a.nfiles))
    rows += [("md5", a.md5)]
    if a.sha256:
        rows.append(("sha256", a.sha256))
    rows.append(("remote", a.remote))
    listing = ""
    if a.files:
        items = "".join(f"<tr><td>{esc(p)}</td><td><code>{esc(h)}</code></td></tr>" for p, h in sorted(a.files.items()))
        listing = (
            f"<details><summary>{len(a.files)} files</summary>" + table(["File", "SHA-256"], [items]) + "</details>"
        )
    return kv_table(rows) + listing


def _data(data: Mapping[str, Any]) -> str:
    """A dataset version's metadata: format, size, rows, then its columns and declared schema."""
    facts = [(k, data[k]) for k in ("format", "size", "files", "rows") if k in data]
    html = kv_table(facts)
    columns = [
        f"<tr><td>{esc(c['name'])}</td><td>{esc(c['type'])}</td><td>{c['nulls']:.1%}</td></tr>"
        for c in list(data.get("columns", ()))[:TABLE_ROWS]
    ]
    if columns:
        html += table(["Column", "Type", "Missing"], columns)
    declared = (data.get("schema") or {}).get("columns", ())
    if declared:
        rows = [
            f"<tr><td>{esc(c['name'])}</td><td>{esc(c['type'])}</td>"
            f"<td>{'yes' if c.get('nullable', True) else 'no'}</td></tr>"
            for c in list(declared)[:TABLE_ROWS]
        ]
        html += "<h3>Declared schema</h3>" + table(["Column", "Type", "Nullable"], rows)
    return html


def _interface(doc: ModelVersion) -> str:
    """The signature as a table (part, name, type), then the input example's record."""
    from gitreg.documents import interface

    rows = [
        f"<tr><td>{part}</td><td>{note(spec['name'])}</td><td><code>{esc(interface.describe(spec))}</code></td></tr>"
        for part in ("inputs", "outputs", "params")
        for spec in ((doc.signature or {}).get(part) or ())[:TABLE_ROWS]
    ]
    html = table(["Part", "Name", "Type"], rows) if rows else '<p class="none">No signature declared.</p>'
    example = doc.input_example
    if example is not None:
        a = example.artifact
        facts: list[tuple[str, Any]] = [("input example", a.path), ("format", example.format)]
        facts += [("holds", ", ".join(example.inputs) or "one tensor"), ("rows", example.rows)]
        facts += [("size", f"{_size(a.size)} ({a.size} bytes)"), ("sha256", a.sha256), ("remote", a.remote)]
        html += kv_table(facts)
    return html


def _environment(environment: Mapping[str, Any]) -> str:
    """The training environment: interpreter, platform, and its packages."""
    from gitreg.operations import environment as environments

    facts = [(k, environment[k]) for k in ("source", *environments.PROPERTIES) if environment.get(k)]
    lines = environments.pip_lines(environment)
    conda = [d for d in (environment.get("conda") or {}).get("dependencies", ()) if isinstance(d, str)]
    packages = "".join(f"<li><code>{esc(line)}</code></li>" for line in [*conda, *lines][:TABLE_ROWS])
    more = (
        f"<p>The first {TABLE_ROWS} of {len(conda) + len(lines):,}.</p>" if len(conda) + len(lines) > TABLE_ROWS else ""
    )
    listing = f"<details><summary>{len(conda) + len(lines)} packages</summary><ul>{packages}</ul>{more}</details>"
    return kv_table(facts) + listing


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _lineage(here: str, doc: ModelVersion) -> str:
    lineage = dict(doc.lineage)
    extra = []
    parent = lineage.get("parent")
    if isinstance(parent, str):
        extra.append(f"<p>Parent version: {_version_link(here, doc.model, parent)}</p>")
    code = lineage.get("code")
    if isinstance(code, Mapping) and isinstance(code.get("repo"), str) and isinstance(code.get("commit"), str):
        url = forge_commit_url(code["repo"], code["commit"])
        if url:
            extra.append(f"<p>Training code: {_outbound(url, code['commit'][:10])}</p>")
    run = lineage.get("run")
    if isinstance(run, Mapping) and isinstance(run.get("url"), str) and _URL.fullmatch(run["url"]):
        extra.append(f"<p>Training run: {link_or_text(run['url'])}</p>")
    return "".join(extra) + kv_table(flatten(lineage))


_SCP = re.compile(r"(?:ssh://)?[A-Za-z0-9._-]+@(?P<host>[A-Za-z0-9.-]+)[:/](?P<path>[^\s]+?)(?:\.git)?/?")
_HTTPS = re.compile(r"https?://(?P<host>[A-Za-z0-9.-]+(?::\d+)?)/(?P<path>[^\s?#]+?)(?:\.git)?/?")


def forge_commit_url(repo: str, commit: str) -> str | None:
    """A web page of ``commit`` in ``repo`` (an https or ssh git URL), the way
    GitHub, GitLab, Gitea and Forgejo name it; None for anything else."""
    if not re.fullmatch(r"[0-9a-f]{7,64}", commit):
        return None
    template = forge_template(repo)
    return template.replace("{commit}", commit) if template else None


def forge_template(repo: str) -> str | None:
    match = _HTTPS.fullmatch(repo) or _SCP.fullmatch(repo)
    if match is None or not re.fullmatch(r"[A-Za-z0-9._/-]+", match["path"]):
        return None
    return f"https://{match['host']}/{match['path']}/commit/{{commit}}"


# -- changes -----------------------------------------------------------------


@dataclass
class ChangeLine:
    """One commit on the Changes page, described in registry terms."""

    commit: str
    at: str
    by: str
    subject: str
    action: str
    items: list[str]  # HTML
    total: int


def changes(lines: Sequence[ChangeLine], settings: Settings) -> str:
    here = "changes.html"
    parts = ["<h1>Changes</h1><p class=lead>The newest commits of the registry branch, newest first.</p>"]
    if not lines:
        parts.append("<p class=none>No commits.</p>")
    parts.append('<ol class="changes">')
    for line in lines:
        more = f"<li>… and {line.total - len(line.items)} more files</li>" if line.total > len(line.items) else ""
        parts.append(
            f'<li id="c-{esc(line.commit)}"><p class=commit>{when(line.at)} <strong>{note(line.subject)}</strong></p>'
            f"<p class=meta>{note(line.by)} · {esc(line.action)} · {commit_ref(line.commit, settings)}</p>"
            f"<ul>{''.join(line.items)}{more}</ul></li>"
        )
    parts.append("</ol>")
    return shell(here, "Changes", "".join(parts), settings)


def change_item(
    kind: str, status: str, model: str, name: str, before: str | None, after: str | None, present: set[tuple[str, str]]
) -> str:
    """One changed file; ``before``/``after`` are versions for a stage, and
    ``present`` the (model, version) pairs that have pages."""
    here = "changes.html"

    def model_link() -> str:
        if (model, "") in present:
            return f'<a href="{href(here, model_page(model))}">{esc(model)}</a>'
        return esc(model)

    def version_ref(version: str | None) -> str:
        if version is None:
            return "none"
        if (model, version) in present:
            return f'<a href="{href(here, version_page(model, version))}">{esc(version)}</a>'
        return esc(version)

    done = {"A": "added", "D": "removed"}.get(status, "changed")
    if kind == "stage":
        return f"<li>{model_link()}: {esc(name)} {version_ref(before)} → {version_ref(after)}</li>"
    if kind == "version":
        verb = {"A": "registered", "D": "removed", "M": "updated (status, annotations, evaluations or approvals)"}
        return f"<li>{model_link()} {version_ref(name)} {verb.get(status, 'changed')}</li>"
    if kind == "model":
        return f"<li>{model_link()}: model.yaml {done}</li>"
    if kind == "signature":
        return f"<li>{model_link()} {version_ref(name)}: signature {'added' if status == 'A' else 'changed'}</li>"
    if kind == "config":
        return f"<li>the registry's configuration (.gitreg/config.yaml) {done}</li>"
    if kind == "dvc":
        return f"<li>{model_link()} {version_ref(name)}: DVC pointer {'added' if status == 'A' else 'changed'}</li>"
    return f"<li>{esc(name or model)} {done}</li>"
