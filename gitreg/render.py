"""Text and JSON forms of what the core returns (used by the CLI only)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gitreg import lazy
from gitreg.documents import names

if TYPE_CHECKING:  # names for annotations only: rendering imports no command's module
    from gitreg.api import Verified
    from gitreg.ci.check import MoveCheck, Report, Review
    from gitreg.core.snapshot import ModelSummary, Resolved, VersionSummary
    from gitreg.documents import tabular, yamlio
    from gitreg.documents.gates import GateResult
    from gitreg.documents.manifest import Model, ModelVersion
    from gitreg.documents.runs import Run
    from gitreg.operations.compare import Comparison
    from gitreg.operations.datasets import Use
    from gitreg.operations.deploy import AutoDeployed, Decision
    from gitreg.operations.diff import Field, RegistryDiff
    from gitreg.operations.doctor import Finding, Synced
    from gitreg.operations.environment import Difference
    from gitreg.operations.export import Imported
    from gitreg.operations.from_gto import GtoReport
    from gitreg.operations.from_mlflow import Report as MlflowReport
    from gitreg.operations.gc import Collected
    from gitreg.operations.history import Event
    from gitreg.operations.init import Initialised
    from gitreg.operations.lifecycle import Moved, OrderCheck, Plan
    from gitreg.operations.model import ModelEdited
    from gitreg.operations.monitor import Monitored, Trend
    from gitreg.operations.register import Registered
    from gitreg.operations.runs import RunComparison, RunsCollected
    from gitreg.operations.sign import Signed
    from gitreg.operations.status import Status
    from gitreg.operations.tags_sync import SyncResult
    from gitreg.operations.upgrade import Upgraded
    from gitreg.site.build import Built
else:
    yamlio = lazy.module("gitreg.documents.yamlio")  # only the YAML views need it
    tabular = lazy.module("gitreg.documents.tabular")

MAX_METRIC_COLUMNS = 4


def plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_json(value: Any) -> str:
    return json_safe(json.dumps(plain(value), indent=2, ensure_ascii=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def summaries_json(items: Sequence[ModelSummary]) -> list[dict[str, Any]]:
    return [
        {"model": s.name, "type": s.type, "latest": s.latest, "stages": dict(s.stages), "versions": s.versions}
        for s in items
    ]


def summaries_text(items: Sequence[ModelSummary], stages: Sequence[str], what: str = "model") -> str:
    if not items:
        return f"No {what}s registered yet."
    typed = what == "model" and any(s.type != "model" for s in items)  # a TYPE column once there are datasets
    headers = [what.upper(), *(["TYPE"] if typed else []), "LATEST", *(s.upper() for s in stages), "VERSIONS"]
    rows = [
        [
            s.name,
            *([s.type] if typed else []),
            s.latest or "-",
            *(s.stages.get(st, "-") for st in stages),
            str(s.versions),
        ]
        for s in items
    ]
    return table(headers, rows)


def versions_json(items: Sequence[VersionSummary]) -> list[dict[str, Any]]:
    return [
        {
            "model": v.model,
            "version": v.version,
            "stage": v.stage,
            "stages": list(v.stages),
            "status": v.status,
            "created_at": v.created_at,
            "created_by": v.created_by,
            "metrics": dict(v.metrics),
        }
        for v in items
    ]


def versions_text(items: Sequence[VersionSummary]) -> str:
    names: list[str] = []
    for item in items:
        names += [m for m in item.metrics if m not in names]
    names = names[:MAX_METRIC_COLUMNS]
    if not items:
        return "No versions match."
    several = len({v.model for v in items}) > 1
    headers = [*(["MODEL"] if several else []), "VERSION", "STAGE", "REGISTERED", "BY", *names]
    rows = [
        [
            *([v.model] if several else []),
            v.version,
            f"{v.stage} (degraded)" if v.stages and v.status == "degraded" else v.stage,
            v.created_at[:19].replace("T", " ") + " UTC",
            v.created_by.split(" <")[0],
            *(number(v.metrics.get(n)) for n in names),
        ]
        for v in items
    ]
    return table(headers, rows)


def version_json(version: ModelVersion, stages: Sequence[str] | None = None) -> dict[str, Any]:
    """The manifest and, when given, the stages the version holds
    (``stages``: not part of the manifest, the registry's pointers say it)."""
    result: dict[str, Any] = plain(version.to_doc())
    if stages is not None:
        result["stages"] = list(stages)
    return result


def version_text(version: ModelVersion) -> str:
    return yamlio.dump(plain(version.to_doc())).rstrip("\n")


def environment_note(against: str | None, differences: Sequence[Difference]) -> str:
    """YAML comments after a manifest: how its environment differs from ``against``'s."""
    if against is None or not differences:
        return ""
    lines = [f"# environment differs from {against}:"]
    lines += [f"#   {d.text()}" for d in differences[:MAX_ENV_LINES]]
    if len(differences) > MAX_ENV_LINES:
        lines.append(f"#   ... and {len(differences) - MAX_ENV_LINES} more (--json lists all)")
    return "\n" + "\n".join(lines)


def environment_differences_json(against: str | None, differences: Sequence[Difference]) -> dict[str, Any]:
    return {
        "environment_differences": {"against": against, "differences": [dataclasses.asdict(d) for d in differences]}
    }


def _value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _delta(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4g}"


def gate_rows(
    results: Sequence[GateResult],
    order: OrderCheck | None,
    marks: tuple[str, str] = ("pass", "FAIL"),
    why: bool = False,
) -> list[list[str]]:
    """One row per gate (gate, threshold, actual, holder, delta, result[, why]),
    then the stage-order policy."""
    rows = []
    for g in results:
        row = [
            g.gate,
            _value(g.threshold),
            _value(g.actual),
            _value(g.baseline),
            _delta(g.delta),
            marks[0] if g.passed else marks[1],
        ]
        rows.append([*row, "" if g.passed else g.reason] if why else row)
    if order is not None:
        row = [
            "stage order",
            " or ".join(order.requires),
            f"held: {', '.join(order.held) or 'none'}",
            "-",
            "-",
            marks[0] if order.passed else marks[1],
        ]
        rows.append([*row, ""] if why else row)
    return rows


_MARKS = ("✅ pass", "❌ fail")


def _holder_header(previous: str | None) -> str:
    return f"holder {previous}" if previous else "holder"


def plan_text(plan: Plan, commit: str | None = None) -> str:
    head = plan.title()
    if plan.action in ("promote", "demote"):
        head += f" (current holder: {plan.previous})" if plan.previous else " (no current holder)"
    lines = [head]
    if plan.removed:
        lines.append(f"  leaves: {', '.join(plan.removed)}")
    if plan.reason:
        lines.append(f"  reason: {plan.reason}")
    if plan.transition is not None:
        lines.append(f"  refused by transition rule: {plan.transition}")
    if plan.archived is not None:
        lines.append(f"  archives the replaced holder {plan.archived} (archive_replaced)")
    if plan.gates or plan.order:
        headers = ["GATE", "THRESHOLD", "VALUE", _holder_header(plan.previous).upper(), "DELTA", "RESULT", "WHY"]
        lines.append(table(headers, gate_rows(plan.gates, plan.order, why=True)))
    elif plan.action == "promote":
        lines.append(f"  no gates for {plan.stage} in model.yaml")
    elif plan.action == "rollback":
        lines.append("  rollback: metric gates are skipped; the target has held the stage before and is active")
    if commit is None:
        lines.append(plan.diff.rstrip("\n") if plan.diff else "(no file changes)")
    return "\n".join(lines)


def gates_json(results: Sequence[GateResult]) -> list[dict[str, Any]]:
    return [
        {
            "gate": g.gate,
            "kind": g.kind,
            "name": g.name,
            "threshold": g.threshold,
            "actual": g.actual,
            "holder": g.baseline,
            "delta": g.delta,
            "passed": g.passed,
            "reason": g.reason,
        }
        for g in results
    ]


def order_json(order: OrderCheck | None) -> dict[str, Any] | None:
    if order is None:
        return None
    return {"stage": order.stage, "requires": list(order.requires), "held": list(order.held), "passed": order.passed}


def plan_json(
    plan: Plan, commit: str | None = None, tag_names: Sequence[str] = (), *, dry_run: bool = False
) -> dict[str, Any]:
    """A move's plan; ``commit`` None with ``dry_run`` False: refused, nothing written."""
    return {
        "action": plan.action,
        "model": plan.model,
        "stage": plan.stage,
        "version": plan.version,
        "previous": plan.previous,
        "reason": plan.reason,
        "allowed": plan.allowed,
        "gates": gates_json(plan.gates),
        "order": order_json(plan.order),
        "removed": list(plan.removed),
        "transition": plan.transition,
        "archived": plan.archived,
        "diff": plan.diff,
        "commit": commit,
        "tags": list(tag_names),
        "dry_run": dry_run,
    }


def events_json(events: Sequence[Event]) -> list[dict[str, Any]]:
    return [
        {
            "commit": e.commit,
            "at": e.at,
            "by": e.by,
            "action": e.action,
            "model": e.model,
            "version": e.version,
            "stage": e.stage,
            "from": e.previous,
            "reason": e.reason,
            "summary": e.summary,
        }
        for e in events
    ]


def events_text(events: Sequence[Event]) -> str:
    if not events:
        return "No history."
    rows = []
    for e in events:
        what = f"{e.stage}: {e.previous or '-'} -> {e.version or '-'}" if e.stage else e.version or e.summary
        rows.append([e.at.replace("T", " ")[:19], e.by.split(" <")[0], e.action, what, e.reason, e.commit[:10]])
    return table(["WHEN", "WHO", "ACTION", "WHAT", "REASON", "COMMIT"], rows)


def comparison_json(c: Comparison) -> dict[str, Any]:
    return {
        "model": c.model,
        "versions": list(c.versions),
        "metrics": {k: list(v) for k, v in c.metrics.items()},
        "deltas": {k: list(v) for k, v in c.deltas.items()},
        "params": {k: list(v) for k, v in c.params.items()},
        "metadata": {k: list(v) for k, v in c.metadata.items()},
        "stages": dict(c.stages),
        "signature_changes": {v: [dataclasses.asdict(x) for x in changes] for v, changes in c.signatures.items()},
        "signature_breaking": sorted(c.breaking),
        "environment_differences": {v: [dataclasses.asdict(x) for x in d] for v, d in c.environments.items()},
    }


MAX_ENV_LINES = 40  # environment differences shown per version in text (--json has all)


def comparison_text(c: Comparison) -> str:
    base = c.versions[0]
    headers = ["METRIC", *c.versions, *(f"Δ {v}-{base}" for v in c.versions[1:])]
    rows = [[m, *(_value(v) for v in values), *(_delta(d) for d in c.deltas[m][1:])] for m, values in c.metrics.items()]
    parts = [table(headers, rows) if rows else "No metrics."]
    for title, diffs in (("PARAM", c.params), ("METADATA", c.metadata)):
        if diffs:
            parts.append(table([title, *c.versions], [[k, *(_value(v) for v in vals)] for k, vals in diffs.items()]))
        else:
            parts.append(f"No {title.lower()} differences.")
    for version, changes in c.signatures.items():
        if changes:
            breaking = "BREAKING for callers of " if any(x.breaking for x in changes) else "changed from "
            lines = [f"Signature of {version}: {breaking}{base}"]
            lines += [f"  {'!' if x.breaking else ' '} {x.text()}" for x in changes]
            parts.append("\n".join(lines))
    if c.signatures and not any(c.signatures.values()):
        parts.append("No signature differences.")
    for version, found in c.environments.items():
        if found:
            lines = [f"Environment of {version} against {base}:"]
            lines += [f"  {d.text()}" for d in found[:MAX_ENV_LINES]]
            if len(found) > MAX_ENV_LINES:
                lines.append(f"  ... and {len(found) - MAX_ENV_LINES} more (--json lists all)")
            parts.append("\n".join(lines))
    if c.environments and not any(c.environments.values()):
        parts.append("No environment differences.")
    return "\n\n".join(parts)


def resolved_json(r: Resolved) -> dict[str, Any]:
    return {
        "model": r.model,
        "version": r.version,
        "stage": r.stage,
        "status": r.status,
        "registry_commit": r.registry_commit,
        "version_commit": r.version_commit,
        "artifact": r.artifact.to_doc(),
        "remote_url": r.remote_url,
    }


def resolved_text(r: Resolved) -> str:
    a = r.artifact
    lines = [
        f"{r.model} {r.version}"
        + (f" (holds {r.stage})" if r.stage else "")
        + (f" [{r.status}]" if r.status != "active" else ""),
        f"  artifact: {a.path}  md5 {a.md5}  {a.size} bytes" + (f"  {a.nfiles} files" if a.nfiles is not None else ""),
        f"  remote:   {a.remote}" + (f" ({r.remote_url})" if r.remote_url else ""),
        f"  registered in commit {r.version_commit or '?'}; resolved at {r.registry_commit}",
    ]
    return "\n".join(lines)


def model_text(model: Model) -> str:
    return yamlio.dump(plain(model.to_doc())).rstrip("\n")


def _move_title(m: MoveCheck) -> str:
    kind = "unassigned" if m.version is None else "rollback" if m.rollback else "promotion"
    return f"{m.model}: {m.stage} {m.previous or '-'} → {m.version or '-'} ({kind})"


_MOVE_HEADERS = ["GATE", "THRESHOLD", "ACTUAL", "HOLDER", "DELTA", "RESULT"]


def _review_line(r: Review) -> str:
    return f"needs owners' review: {r.path} ({r.reason})"


def report_text(report: Report) -> str:
    lines = []
    for m in report.moves:
        lines.append(_move_title(m) + (" — gates skipped (rollback)" if m.rollback else ""))
        if m.gates or m.order:
            lines.append(table(_MOVE_HEADERS, gate_rows(m.gates, m.order)))
    for v in report.violations:
        lines.append(f"{v.path}{' ' + v.field if v.field else ''}: {v.message}")
    lines += [_review_line(r) for r in report.reviews]
    where = f"change since {report.base[:10]}" if report.base else "whole registry"
    verdict = "all rules hold" if report.ok else f"{len(report.violations)} violation(s)"
    if report.reviews:
        verdict += f"; {len(report.reviews)} file(s) need the owners' review"
    lines.append(f"gitreg check ({where} at {report.head[:10]}, {report.files} files read): {verdict}")
    return "\n".join(lines)


def report_json(report: Report) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "head": report.head,
        "base": report.base,
        "files": report.files,
        "violations": [
            {"rule": v.rule, "path": v.path, "field": v.field, "message": v.message} for v in report.violations
        ],
        "moves": [
            {
                "path": m.path,
                "model": m.model,
                "stage": m.stage,
                "from": m.previous,
                "to": m.version,
                "rollback": m.rollback,
                "passed": m.passed,
                "gates": gates_json(m.gates),
                "order": order_json(m.order),
            }
            for m in report.moves
        ],
        "review": [{"path": r.path, "reason": r.reason} for r in report.reviews],
    }


_MARKDOWN = re.compile(r"([\\`\[\]<>|])")  # what opens code, links, images or HTML, or ends a cell


def json_safe(text: str) -> str:
    """JSON text with C1 codes, bidirectional overrides and bytes that were
    not UTF-8 escaped too (``json.dumps`` escapes only C0 when non-ASCII
    text is kept)."""
    return names.CONTROLS.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _cell(text: str) -> str:
    """Free text as one markdown table cell: nothing in it can open a code
    span, a link, an image or HTML, or end the cell or the row."""
    return _MARKDOWN.sub(r"\\\1", names.escaped(" ".join(text.split())))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], escape: bool = True) -> str:
    """``escape``: cells are plain text (pipes and line breaks escaped);
    False: cells are markdown already made safe (``code``, ``_cell``)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) if escape else c for c in row) + " |" for row in rows]
    return "\n".join(lines)


def gates_markdown(results: Sequence[GateResult], order: OrderCheck | None, previous: str | None) -> str:
    headers = ["gate", "threshold", "actual", _holder_header(previous), "delta", "result"]
    return markdown_table(headers, gate_rows(results, order, _MARKS))


def move_markdown(m: MoveCheck) -> str:
    verdict = "✅" if m.passed else "❌"
    parts = [f"### {verdict} {_move_title(m)}"]
    if m.rollback:
        parts.append("A rollback: the version held this stage before, so metric gates are skipped.")
    elif m.version is None:
        parts.append("The pointer is removed: no version holds the stage afterwards.")
    elif m.gates or m.order:
        parts.append(gates_markdown(m.gates, m.order, m.previous))
    else:
        parts.append(f"No gates for {m.stage}.")
    parts += [f"- ❌ {_cell(problem)}" for problem in m.problems]
    return "\n\n".join(parts)


def code(text: str) -> str:
    """``text`` as a markdown code span that nothing in it can close: a
    fence longer than any run of backticks inside, control characters shown
    escaped, pipes escaped for tables."""
    shown = names.escaped(text).replace("\n", "\\n").replace("\t", " ")
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}".replace("|", "\\|")


def fenced(text: str, language: str = "") -> str:
    """A markdown code block that nothing in ``text`` can close."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{language}\n{names.escaped(text)}\n{fence}"


def report_markdown(report: Report) -> str:
    heading = "✅ all rules hold" if report.ok else f"❌ {len(report.violations)} violation(s)"
    if report.reviews:
        heading += " · 👀 needs owners' review"
    where = (
        f"change from {code(report.base[:10])} to {code(report.head[:10])}"
        if report.base
        else f"whole registry at {code(report.head[:10])}"
    )
    parts = [f"## gitreg check: {heading}", f"Checked the {where}; {report.files} registry files read."]
    parts += [move_markdown(m) for m in report.moves]
    if report.violations:
        rows = [[code(v.path), code(v.field) if v.field else "", _cell(v.message)] for v in report.violations]
        parts.append("### Violations\n\n" + markdown_table(["file", "field", "reason"], rows, escape=False))
    if report.reviews:
        rows = [[code(r.path), r.reason] for r in report.reviews]
        parts.append(
            "### 👀 Needs owners' review\n\nThese files steer the registry; they break no rule by themselves, "
            "but a code owner must approve them.\n\n" + markdown_table(["file", "why"], rows, escape=False)
        )
    return "\n\n".join(parts) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


_REVIEW_TITLE = "gitreg check: needs owners' review"


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def report_github(report: Report) -> str:
    """GitHub Actions workflow commands: an error annotation on each offending file."""
    lines = [
        f"::error file={_escape_property(v.path)},title={_escape_property('gitreg check: ' + v.rule)}::"
        + _escape_data(f"{v.field + ': ' if v.field else ''}{v.message}")
        for v in report.violations
    ]
    lines += [
        f"::notice file={_escape_property(m.path)},title=gitreg check::" + _escape_data(_move_title(m) + ": rules hold")
        for m in report.moves
        if m.passed
    ]
    lines += [
        f"::warning file={_escape_property(r.path)},title={_escape_property(_REVIEW_TITLE)}::" + _escape_data(r.reason)
        for r in report.reviews
    ]
    if report.ok:
        extra = "; some files need the owners' review" if report.reviews else ""
        lines.append("gitreg check: all rules hold" + extra)
    return "\n".join(lines)


_NOUNS = {"promote": "promotion", "demote": "demotion", "rollback": "rollback", "unassign": "unassignment"}


def pr_body(plan: Plan, branch: str) -> str:
    """A ready pull-request description for a move made with --branch."""
    parts = [f"## {plan.title()}"]
    facts = [f"Current holder of {code(plan.stage)}: {plan.previous or 'none'}."]
    if plan.removed:
        facts.append(f"Leaves: {', '.join(plan.removed)}.")
    if plan.reason:
        facts.append(f"Reason: {_cell(plan.reason)}")
    parts.append(" ".join(facts))
    if plan.gates or plan.order:
        parts.append(gates_markdown(plan.gates, plan.order, plan.previous))
    elif plan.action == "rollback":
        parts.append("A rollback: the version held this stage before, so metric gates are skipped.")
    files = ", ".join(code(p) for p in plan.files)
    parts.append(
        f"Merging this pull request (branch {code(branch)}) is the {_NOUNS[plan.action]}: it changes {files}. "
        "The required `gitreg check --base` status re-checks the gates against the target branch; "
        "after the merge, `gitreg tags sync` adds the GTO tags."
    )
    parts.append(f"<details><summary>Pointer diff</summary>\n\n{fenced(plan.diff.rstrip(), 'diff')}\n\n</details>")
    return "\n\n".join(parts) + "\n"


def trend_json(rows: Sequence[Trend]) -> list[dict[str, Any]]:
    return [
        {
            "model": t.model,
            "version": t.version,
            "metric": t.metric,
            "registered": t.registered,
            "best": t.best,
            "latest": t.latest,
            "change": t.change,
            "evaluations": t.evaluations,
            "latest_at": t.latest_at,
            "environment": t.environment,
            "lower_is_better": t.lower_is_better,
        }
        for t in rows
    ]


def trend_text(rows: Sequence[Trend]) -> str:
    if not rows:
        return "No metrics recorded."
    body = [
        [
            t.version,
            t.metric + (" (lower is better)" if t.lower_is_better else ""),
            number(t.registered),
            number(t.best),
            number(t.latest),
            _delta(t.change),
            str(t.evaluations),
            (t.latest_at or "")[:19].replace("T", " ") + (f" {t.environment}" if t.environment else "") or "-",
        ]
        for t in rows
    ]
    return table(["VERSION", "METRIC", "REGISTERED", "BEST", "LATEST", "CHANGE", "EVALS", "LAST EVALUATED"], body)


def monitored_json(m: Monitored) -> dict[str, Any]:
    return {
        "model": m.model,
        "stage": m.stage,
        "version": m.version,
        "outcome": m.outcome,
        "threshold": m.threshold,
        "checks": [
            {
                "metric": c.metric,
                "registered": c.registered,
                "measured": c.measured,
                "drop": c.drop,
                "lower_is_better": c.lower_is_better,
                "degraded": c.degraded(m.threshold),
            }
            for c in m.checks
        ],
        "rolled_back_to": m.rollback.version if m.rollback else None,
        "note": m.note,
        "commit": m.commit,
        "tags": list(m.tags),
        "dry_run": m.commit is None,
    }


def monitored_text(m: Monitored) -> str:
    rows = [
        [
            c.metric,
            number(c.registered),
            number(c.measured),
            f"{-c.drop:+.2%}",
            "DEGRADED" if c.degraded(m.threshold) else "ok",
        ]
        for c in m.checks
    ]
    lines = [
        f"{m.model} {m.version} in {m.stage} (threshold {m.threshold:.2%} relative)",
        table(["METRIC", "REGISTERED", "MEASURED", "CHANGE", "STATUS"], rows),
    ]
    would = m.commit is None
    if m.outcome == "healthy":
        lines.append("Healthy: " + ("would record the measurement." if would else "measurement recorded."))
    elif m.outcome == "degraded":
        lines.append(f"Degraded, but no rollback is possible: {m.note}")
    elif m.rollback is not None:
        verb = "Would roll back" if would else "Rolled back"
        lines.append(f"{verb} {m.stage} from {m.version} to {m.rollback.version}: {m.rollback.reason}")
    if m.commit:
        tags = f", tags {', '.join(m.tags)}" if m.tags else ""
        lines.append(f"Done: commit {m.commit[:10]}{tags}")
    else:
        lines.append("Dry run: nothing written.")
    return "\n".join(lines)


def decision_json(d: Decision) -> dict[str, Any]:
    return {
        "model": d.model,
        "stage": d.stage,
        "strategy": d.strategy,
        "metric": d.metric,
        "lower_is_better": d.lower_is_better,
        "min_improvement": d.min_improvement,
        "min_improvement_pct": d.min_improvement_pct,
        "holder": d.holder,
        "holder_score": d.holder_score,
        "candidates": [
            {"version": c.version, "score": c.score, "eligible": c.eligible, "why": c.why} for c in d.candidates
        ],
        "chosen": d.chosen,
        "why": d.why,
    }


def decision_text(d: Decision) -> str:
    order = "lower is better" if d.lower_is_better else "higher is better"
    holder = f"{d.holder} ({d.metric} {number(d.holder_score)})" if d.holder else "no holder"
    rows = [[c.version, number(c.score), "yes" if c.eligible else "no", c.why or "-"] for c in d.candidates]
    lines = [
        f"Deploy {d.model} to {d.stage}: strategy {d.strategy}, ranked by {d.metric} ({order}); holder: {holder}",
        table(["VERSION", d.metric.upper(), "ELIGIBLE", "WHY NOT"], rows) if rows else "No other versions.",
        (f"Chosen: {d.chosen} ({d.why})" if d.chosen else f"No change: {d.why}"),
    ]
    return "\n".join(lines)


def status_json(s: Status) -> dict[str, Any]:
    def measured(e: Any) -> dict[str, Any] | None:
        return (
            None if e is None else {"at": e.at, "by": e.by, "environment": e.environment, "metrics": plain(e.metrics)}
        )

    return {
        "model": s.model,
        "versions": s.versions,
        "latest": s.latest,
        "stale_days": s.stale_days,
        "last_used": None if s.last_used is None else plain(s.last_used.to_doc()),
        "holders": [
            {
                "stage": h.stage,
                "version": h.pointer.version,
                "promoted_at": h.pointer.promoted_at,
                "promoted_by": h.pointer.promoted_by,
                "reason": h.pointer.reason,
                "degraded": h.degraded is not None,
                "latest_evaluation": measured(h.measured),
            }
            for h in s.holders
        ],
        "set_aside": [{"version": a.version, "state": a.state, "why": a.why, "at": a.at} for a in s.set_aside],
        "recommendations": [
            {"action": r.action, "stage": r.stage, "versions": list(r.versions), "why": r.why, "command": r.command}
            for r in s.recommendations
        ],
    }


def status_text(s: Status) -> str:
    lines = [f"{s.model}: {s.versions} version(s), latest {s.latest or '-'}"]
    if s.holders:
        rows = []
        for h in s.holders:
            version = h.pointer.version + (" (degraded)" if h.degraded else "")
            last = "-"
            if h.measured is not None:
                values = ", ".join(f"{k}={number(v)}" for k, v in h.measured.metrics.items())
                last = f"{values} at {h.measured.at[:16].replace('T', ' ')}"
            since = h.pointer.promoted_at[:16].replace("T", " ")
            rows.append([h.stage, version, since, h.pointer.promoted_by.partition(" <")[0], last])
        lines.append(table(["STAGE", "VERSION", "SINCE", "BY", "LAST MEASURED THERE"], rows))
    else:
        lines.append("No stage has a holder.")
    if s.last_used is not None:
        u = s.last_used
        purpose = f" ({u.purpose})" if u.purpose else ""
        where = f" on {u.host}" if u.host else ""
        lines.append(
            f"Last used: {u.version} at {u.at[:16].replace('T', ' ')} by {u.by.partition(' <')[0]}{where}{purpose}"
        )
    if s.set_aside:
        lines.append("Set aside:")
        lines += [f"  {a.version}  {a.state}" + (f": {a.why}" if a.why else "") for a in s.set_aside]
    if s.recommendations:
        lines.append("Recommendations:")
        for r in s.recommendations:
            lines.append(f"  - {r.action}: {r.why}")
            lines.append(f"      {r.command}")
    else:
        lines.append("Nothing to recommend.")
    return "\n".join(lines)


def _fields_json(fields: Sequence[Field]) -> list[dict[str, Any]]:
    return [{"model": f.model, "what": f.what, "field": f.field, "before": f.before, "after": f.after} for f in fields]


def diff_json(d: RegistryDiff) -> dict[str, Any]:
    return {
        "old": d.old,
        "new": d.new,
        "models_added": list(d.models_added),
        "models_removed": list(d.models_removed),
        "versions_added": [{"model": m, "version": v} for m, v in d.versions_added],
        "versions_removed": [{"model": m, "version": v} for m, v in d.versions_removed],
        "pointers_moved": [
            {"model": f.model, "stage": f.what.split(" ", 1)[1], "from": f.before, "to": f.after} for f in d.pointers
        ],
        "annotations_changed": _fields_json(d.annotations),
        "gates_changed": [
            {"model": f.model, "stage": f.field.split(".", 1)[0], "gate": f.field.split(".", 1)[1]}
            | {"before": f.before, "after": f.after}
            for f in d.gates
        ],
        "models_changed": _fields_json(d.models),
        "config_changed": d.config_changed,
        "unreadable": list(d.unreadable),
    }


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(plain(value), ensure_ascii=False)
    return _value(value)


def diff_text(d: RegistryDiff) -> str:
    lines = [f"Registry changes {d.old[:10]}..{d.new[:10]}"]
    if d.empty:
        return lines[0] + ": none."

    def section(title: str, items: Sequence[str]) -> None:
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  {item}" for item in items)

    section("Models added", list(d.models_added))
    section("Models removed", list(d.models_removed))
    section("Versions added", [f"{m} {v}" for m, v in d.versions_added])
    section("Versions removed", [f"{m} {v}" for m, v in d.versions_removed])
    section("Pointers moved", [f"{f.what}: {f.before or '-'} -> {f.after or '-'}" for f in d.pointers])
    section(
        "Annotations changed", [f"{f.what} {f.field}: {_shown(f.before)} -> {_shown(f.after)}" for f in d.annotations]
    )
    section("Gates changed", [f"{f.what} {f.field}: {_shown(f.before)} -> {_shown(f.after)}" for f in d.gates])
    section("Models changed", [f"{f.what} {f.field}: {_shown(f.before)} -> {_shown(f.after)}" for f in d.models])
    if d.config_changed:
        lines.append(".gitreg/config.yaml changed")
    section("Unreadable (run gitreg check)", list(d.unreadable))
    return "\n".join(lines)


def _kept(c: Collected) -> list[Any]:
    removed = set(c.removed)
    return [v for v in c.verdicts if (v.model, v.version) not in removed]


def collected_json(c: Collected) -> dict[str, Any]:
    return {
        "removed": [{"model": m, "version": v} for m, v in c.removed],
        "kept": [{"model": v.model, "version": v.version, "why": [*v.kept, *v.in_use]} for v in _kept(c)],
        "commit": c.commit,
        "tags": list(c.tags),
        "branch": c.branch,
        "pushed_to": c.pushed_to,
        "artifacts_removed": list(c.artifacts_removed),
        "artifacts_shared": list(c.artifacts_shared),
    }


def collected_text(c: Collected, dry_run: bool) -> str:
    lines = []
    verb = "Would remove" if dry_run else "Removed"
    created = {(v.model, v.version): v.created_at for v in c.verdicts}
    lines += [f"{verb} {m} {v} (registered {created.get((m, v), '?')[:10]})" for m, v in c.removed]
    kept = _kept(c)
    if dry_run:
        lines += [f"Keep {v.model} {v.version}: {'; '.join((*v.kept, *v.in_use))}" for v in kept]
    else:
        lines.append(f"Kept {len(kept)} version(s).")
        lines += [
            f"Kept {v.model} {v.version}: {'; '.join(v.in_use)} (gc --force --reason TEXT removes it)"
            for v in kept
            if v.in_use and not v.kept
        ]
    if not c.removed:
        lines.append("Nothing has expired.")
    if c.commit:
        where = f" on branch {c.branch}" + (f", pushed to {c.pushed_to}" if c.pushed_to else "") if c.branch else ""
        tags = f", tags {', '.join(c.tags)}" if c.tags else ""
        lines.append(f"Done: commit {c.commit[:10]}{where}{tags}")
    if c.artifacts_removed or c.artifacts_shared:
        lines.append(
            f"Deleted {len(c.artifacts_removed)} object(s) from the DVC remote; "
            f"kept {len(c.artifacts_shared)} that remaining versions share."
        )
    return "\n".join(lines)


def imported_json(i: Imported) -> dict[str, Any]:
    return {
        "models": list(i.models),
        "versions": [{"model": m, "version": v} for m, v in i.versions],
        "skipped": [{"model": m, "version": v} for m, v in i.skipped],
        "stages": [{"model": m, "stage": s, "version": v} for m, s, v in i.stages],
        "objects_copied": i.objects_copied,
        "commit": i.commit,
        "tags": list(i.tags),
        "runs": list(i.runs),
    }


def imported_text(i: Imported, dry_run: bool) -> str:
    verb = "Would import" if dry_run else "Imported"
    lines = [
        f"{verb} {len(i.versions)} version(s) of {len({m for m, _ in i.versions})} model(s), "
        f"{len(i.stages)} stage pointer(s); {len(i.skipped)} version(s) already here."
    ]
    lines += [f"  {m} {v}" for m, v in i.versions]
    lines += [f"  {m} {s} -> {v}" for m, s, v in i.stages]
    if i.runs:
        lines.append(f"{verb} {len(i.runs)} run(s) of the experiment registry.")
    if i.objects_copied:
        lines.append(f"Copied {i.objects_copied} object(s) into this registry's DVC remote.")
    if i.commit:
        lines.append(f"Done: commit {i.commit[:10]}, {len(i.tags)} tag(s)")
    elif not dry_run and not i.runs:
        lines.append("Nothing to import.")
    return "\n".join(lines)


def gto_json(r: GtoReport) -> dict[str, Any]:
    return {
        "source": r.source,
        "versions": [{"model": m, "version": v} for m, v in r.versions],
        "events": list(r.events),
        "stages_added": list(r.stages_added),
        "skipped": list(r.skipped),
        "objects_copied": r.copied,
        "events_already_imported": r.events_already,
    } | _imported_json(r)


def _imported_json(r: GtoReport | MlflowReport) -> dict[str, Any]:
    """What every import's report ends with: verification and the commits."""
    return {
        "already_imported": r.already,
        "verified": [{"model": m, "version": v, "ok": ok} for m, v, ok in r.verified],
        "differences": None if r.differences is None else list(r.differences),
        "commit": r.commit,
        "commits": r.commits,
    }


def _imported_text(r: GtoReport | MlflowReport, dry_run: bool, compared: str) -> list[str]:
    lines = []
    if r.differences is not None:
        lines.append(f"Compared with {compared}: {len(r.differences)} difference(s)")
        lines += [f"  DIFFERS: {d}" for d in r.differences]
    if r.commit:
        lines.append(f"Done: {r.commits} commit(s), the last {r.commit[:10]}")
    elif not dry_run:
        lines.append("Nothing to import.")
    return lines


def gto_text(r: GtoReport, dry_run: bool) -> str:
    verb = "Would replay" if dry_run else "Replayed"
    lines = [
        f"{verb} {len(r.events)} GTO event(s) from {r.source}: {len(r.versions)} version(s); "
        f"{r.already} version(s) and {r.events_already} event(s) already here."
    ]
    lines += [f"  {e}" for e in r.events]
    if r.stages_added:
        lines.append(f"Stages added to the configuration: {', '.join(r.stages_added)}")
    lines += [f"Skipped: {s}" for s in r.skipped]
    if r.verified:
        good = sum(ok for _, _, ok in r.verified)
        lines.append(f"Copied {r.copied} object(s); verified {good} of {len(r.verified)} artifact(s) in the DVC remote")
    lines += _imported_text(r, dry_run, "what GTO shows of the source")
    return "\n".join(lines)


def mlflow_json(r: MlflowReport) -> dict[str, Any]:
    return {
        "source": r.source,
        "models": [{"mlflow": a, "model": b} for a, b in r.models],
        "versions": [{"model": m, "version": v, "mlflow_version": n} for m, v, n in r.versions],
        "pointers": [{"model": m, "stage": s, "version": v, "from": f} for m, s, v, f in r.pointers],
        "released": [{"model": m, "stage": s, "version": v, "why": w} for m, s, v, w in r.released],
        "archived": [{"model": m, "version": v} for m, v in r.archived],
        "stages_added": list(r.stages_added),
        "skipped": list(r.skipped),
        "flagged": list(r.flagged),
        "never_stored": list(r.never_stored),
    } | _imported_json(r)


def mlflow_text(r: MlflowReport, dry_run: bool) -> str:
    verb = "Would import" if dry_run else "Imported"
    lines = [
        f"{verb} from {r.source}: {len(r.versions)} version(s) of {len(r.models)} model(s), "
        f"{len(r.pointers)} stage pointer(s); {r.already} version(s) already here."
    ]
    lines += [f"  model {a!r} -> {b}" for a, b in r.models if a != b]
    lines += [f"  {m} {v}  (MLflow version {n})" for m, v, n in r.versions]
    lines += [f"  {m} {s} -> {v}  ({f})" for m, s, v, f in r.pointers]
    lines += [f"  {m} {s}: {v} released  ({w})" for m, s, v, w in r.released]
    lines += [f"  {m} {v}: archived  (MLflow stage Archived)" for m, v in r.archived]
    if r.stages_added:
        lines.append(f"Stages added to the configuration: {', '.join(r.stages_added)}")
    lines += [f"Flagged: {f}" for f in r.flagged]
    lines += [f"Skipped: {s}" for s in r.skipped]
    if r.verified:
        good = sum(ok for _, _, ok in r.verified)
        lines.append(f"Verified: {good} of {len(r.verified)} artifact(s) in the DVC remote")
        lines += [f"  NOT VERIFIED: {m} {v}" for m, v, ok in r.verified if not ok]
    lines += [f"Not in MLflow: {n}" for n in r.never_stored]
    lines += _imported_text(r, dry_run, "MLflow again, field by field")
    return "\n".join(lines)


# -- the results of writing commands -------------------------------------------


def initialised_json(result: Initialised) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "root": str(result.root),
        "commit": result.commit,
        "remote": result.remote,
        "remote_url": result.remote_url,
        "files": list(result.files),
    }
    if result.adopted is not None:
        doc["adopted"] = {
            "commit": result.adopted.commit,
            "versions": [{"model": m, "version": v} for m, v in result.adopted.versions],
            "stages": [{"model": m, "stage": s, "version": v} for m, s, v in result.adopted.holders],
            "skipped": list(result.adopted.skipped),
        }
    return doc


def initialised_text(result: Initialised) -> str:
    if result.commit is None:
        where = f"DVC remote {result.remote!r} at {result.remote_url}"
        lines = [f"{result.root} is already a gitreg registry (artifacts: {where})"]
    else:
        lines = [
            f"Initialized gitreg registry in {result.root} (commit {result.commit[:10]})",
            f"Artifacts go to DVC remote {result.remote!r} at {result.remote_url}",
        ]
        lines += [f"Wrote {written}" for written in result.files if written.startswith(".github/")]
    adopted = result.adopted
    if adopted is not None:
        where = f"commit {adopted.commit[:10]}" if adopted.commit else "nothing written"
        models = len({m for m, _ in adopted.versions})
        holders = "; stage holders:" if adopted.holders else ""
        lines.append(f"Adopted {len(adopted.versions)} GTO version(s) of {models} model(s) ({where}){holders}")
        lines += [f"  {model} {stage} {version}" for model, stage, version in adopted.holders]
        lines += [f"  left to GTO: {why}" for why in adopted.skipped]
    return "\n".join(lines)


def registered_json(r: Registered) -> dict[str, Any]:
    return version_json(r.manifest) | {
        "lineage_notes": list(r.lineage_notes),
        "commit": r.commit,
        "tag": r.tag,
        "attempts": r.attempts,
        "signed": signed_json(r.signed) if r.signed is not None else None,
    }


def registered_text(r: Registered) -> str:
    a = r.artifact
    return (
        f"Registered {r.model} {r.version} (commit {r.commit[:10]}, tag {r.tag}, artifact md5 {a.md5}, {a.size} bytes)"
    )


def auto_deployed_json(d: AutoDeployed | None, promotion: dict[str, Any] | None) -> dict[str, Any]:
    """``register``'s ``auto_deploy`` part: null when the model sets none."""
    if d is None:
        return {"auto_deploy": None}
    done = {"stage": d.stage, "strategy": d.strategy, "promoted": d.moved is not None, "why": d.why}
    return {"auto_deploy": done | {"promotion": promotion}}


def auto_deployed_text(d: AutoDeployed) -> str:
    if d.moved is None:
        return f"Auto-deploy ({d.strategy}) to {d.stage}: {d.version} not promoted: {d.why}"
    return f"Auto-deploy ({d.strategy}) to {d.stage}: promoting {d.version} ({d.why})"


def move_json(moved: Moved, body: str | None) -> dict[str, Any]:
    doc = plan_json(moved.plan, moved.commit, moved.tags, dry_run=moved.commit is None)
    return doc | {"branch": moved.branch, "pushed_to": moved.pushed_to, "pr_body": body}


def move_text(moved: Moved, body: str | None, body_file: str | None) -> str:
    """A move's plan and outcome; a move to a branch ends with its pull-request
    body, unless that went to ``body_file``."""
    lines = [plan_text(moved.plan, moved.commit)]
    if moved.commit is None:
        lines.append("Dry run: nothing written.")
    elif moved.branch:
        pushed = f", pushed to {moved.pushed_to}" if moved.pushed_to else " (no remote: not pushed)"
        lines.append(f"Done: commit {moved.commit[:10]} on branch {moved.branch}{pushed}")
        lines.append(f"Pull-request body written to {body_file}" if body_file else "\n" + (body or ""))
    else:
        tags = f", tags {', '.join(moved.tags)}" if moved.tags else ""
        lines.append(f"Done: commit {moved.commit[:10]}{tags}")
    return "\n".join(lines)


def evaluated_text(updated: ModelVersion) -> str:
    last = updated.evaluations[-1]
    values = ", ".join(f"{k}={number(v)}" for k, v in last.metrics.items())
    where = f" in {last.environment}" if last.environment else ""
    return f"Recorded evaluation {len(updated.evaluations)} of {updated.model} {updated.version}{where}: {values}"


def approved_text(updated: ModelVersion, stage: str) -> str:
    approvers = updated.approvers(stage)
    return (
        f"{updated.model} {updated.version} approved for {stage} by {approvers[-1]} "
        f"({len(approvers)} approver(s) for {stage})"
    )


def annotated_text(updated: ModelVersion) -> str:
    note = updated.annotations[-1]
    said = [f"{k}={v}" for k, v in note.labels.items()] + [f"-{k}" for k in note.unset_labels]
    if note.description is not None:
        said.append("description")
    if note.degraded is not None:
        said.append("degraded" if note.degraded else "degraded mark cleared")
    why = f" ({note.reason})" if note.reason else ""
    return (
        f"Recorded annotation {len(updated.annotations)} of {updated.model} {updated.version}: {', '.join(said)}{why}"
    )


def model_edited_json(edited: ModelEdited) -> dict[str, Any]:
    return dict(plain(edited.model.to_doc())) | {"commit": edited.commit}


def model_edited_text(edited: ModelEdited) -> str:
    done = f"Done: commit {edited.commit[:10]}" if edited.commit else "Nothing changed."
    return f"{model_text(edited.model)}\n{done}"


def synced_json(done: Synced) -> dict[str, Any]:
    return {"commit": done.commit, "ahead": done.ahead, "behind": done.behind, "remote": done.remote}


def synced_text(done: Synced) -> str:
    where = f" from {done.remote}" if done.remote else " (no remote)"
    state = f"; {done.ahead} commit(s) not pushed" if done.ahead else ""
    state += f"; {done.behind} commit(s) behind: merge or rebase by hand" if done.behind else ""
    return f"Registry at {done.commit[:10] if done.commit else 'no commits'}{where}{state}"


def findings_json(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    return [{"check": f.name, "ok": f.ok, "detail": f.detail, "fix": f.fix} for f in findings]


def findings_text(findings: Sequence[Finding]) -> str:
    return "\n".join(
        f"{'ok ' if f.ok else 'FAIL'} {f.name}: {f.detail}" + (f"\n     fix: {f.fix}" if f.fix else "")
        for f in findings
    )


def verified_json(results: Sequence[Verified]) -> list[dict[str, Any]]:
    return [
        {
            "model": r.model,
            "version": r.version,
            "ok": r.ok,
            "problems": [
                {
                    "path": p.path,
                    "md5": p.oid,
                    "problem": p.problem,
                    "digest": p.digest,
                    "expected": p.expected if p.digest == "sha256" else p.oid,
                    "actual": p.actual,
                    "repaired": p.repaired,
                }
                for p in r.problems
            ],
        }
        for r in results
    ]


def verified_text(results: Sequence[Verified], remote: bool) -> str:
    lines = []
    for r in results:
        if r.ok:
            lines.append(f"ok      {r.model} {r.version}")
        for p in r.problems:
            if p.digest == "sha256":
                extra = f" (expected sha256 {p.expected}, got {p.actual}; its md5 {p.oid} matches: made to collide)"
            else:
                extra = f" (expected md5 {p.oid}, got {p.actual})" if p.actual else f" (md5 {p.oid})"
            state = " -> repaired" if p.repaired else ""
            lines.append(f"{p.problem.upper():9} {r.model} {r.version}: {p.path}{extra}{state}")
    bad = sum(not r.ok for r in results)
    rehashed = " (every byte re-hashed)" if remote else ""
    lines.append(f"{len(results)} version(s) checked, {bad} with problems{rehashed}")
    return "\n".join(lines)


def lineage_json(chain: Sequence[ModelVersion]) -> list[dict[str, Any]]:
    return [
        {
            "model": v.model,
            "version": v.version,
            "created_at": v.created_at,
            "lineage": plain(v.lineage),
            "datasets": [plain(link.to_doc()) for link in v.datasets],
        }
        for v in chain
    ]


def uses_json(ref: str, uses: Sequence[Use]) -> dict[str, Any]:
    return {"dataset": ref, "used_by": [dataclasses.asdict(u) | {"stages": list(u.stages)} for u in uses]}


def uses_text(ref: str, uses: Sequence[Use]) -> str:
    if not uses:
        return f"No model version was trained or evaluated on {ref}."
    rows = [[u.model, u.version, u.role, ", ".join(u.stages) or "-", u.status] for u in uses]
    return table(["MODEL", "VERSION", "ROLE", "STAGES", "STATUS"], rows)


def dataset_text(version: ModelVersion, held: Sequence[str], uses: Sequence[Use]) -> str:
    state = ", ".join(held) or (version.state if version.state != "active" else "development")
    lines = [
        f"{version.model} {version.version}  {state}  registered {version.created_at[:19]} by {version.created_by}"
    ]
    if version.description:
        lines.append(f"  {version.description}")
    lines.append(f"artifact: {version.artifact.path} (md5 {version.artifact.md5})")
    if version.data is not None:
        lines += ["data: " + line if i == 0 else line for i, line in enumerate(tabular.describe(version.data))]
        declared = version.data.get("schema")
        if declared:
            shown_columns = ", ".join(
                f"{c['name']}: {c['type']}" + ("" if c.get("nullable", True) else " (required)")
                for c in declared["columns"]
            )
            lines.append(f"schema: {shown_columns}")
    if version.labels:
        lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in version.labels.items()))
    lines.append(f"used by: {len(uses)} model version(s)")
    lines += [
        f"  {u.model} {u.version} ({u.role})" + (f" holds {', '.join(u.stages)}" if u.stages else "") for u in uses
    ]
    return "\n".join(lines)


def lineage_text(chain: Sequence[ModelVersion]) -> str:
    lines = []
    for depth, v in enumerate(chain):
        code = v.lineage.get("code", {})
        run = v.lineage.get("run", {})
        where = f"{code.get('repo', '(no git remote)')}@{str(code.get('commit', '?'))[:10]}" if code else "code unknown"
        dirty = " (dirty tree)" if code.get("dirty") else ""
        ran = f", run {run.get('id') or run.get('url')}" if run else ""
        lines.append(f"{'  ' * depth}{v.model} {v.version}  {v.created_at[:19]}  {where}{dirty}{ran}")
        for link in v.datasets:
            found = f" (DVC: {link.path})" if link.path else ""
            lines.append(
                f"{'  ' * depth}  {'trained on' if link.role == 'train' else 'evaluated on'} {link.ref}{found}"
            )
    return "\n".join(lines)


# -- the experiment registry ----------------------------------------------------------


def run_json(run: Run) -> dict[str, Any]:
    doc: dict[str, Any] = plain(run.to_doc())
    return doc | {"ref": run.ref}


def run_logged_text(run: Run) -> str:
    metrics = ", ".join(f"{k}={number(v)}" for k, v in run.metrics.items()) or "no metrics yet"
    return f"Run {run.id} ({run.status}): {metrics}; {run.points:,} point(s), {len(run.artifacts)} artifact(s)"


def runs_text(found: Sequence[Run]) -> str:
    if not found:
        return "No runs match."
    names: list[str] = []
    for run in found:
        names += [m for m in run.metrics if m not in names]
    names = names[:MAX_METRIC_COLUMNS]
    rows = [
        [
            r.id,
            r.experiment,
            r.status,
            r.started_at[:19].replace("T", " "),
            r.started_by.split(" <")[0],
            *(number(r.metrics.get(n)) for n in names),
        ]
        for r in found
    ]
    return table(["RUN", "EXPERIMENT", "STATUS", "STARTED (UTC)", "BY", *names], rows)


def run_text(run: Run) -> str:
    lines = [f"run {run.id} of {run.experiment}" + (f" ({run.name})" if run.name else "")]
    ended = f", ended {run.ended_at[:19]}" if run.ended_at else ""
    lines.append(f"  {run.status}: started {run.started_at[:19]} by {run.started_by}{ended}")
    if run.reason:
        lines.append(f"  reason: {run.reason}")
    code = run.lineage.get("code", {})
    if code:
        lines.append(f"  code: {code.get('repo', '(no git remote)')}@{str(code.get('commit', '?'))[:10]}")
    for title, values in (("params", run.params), ("labels", run.labels)):
        if values:
            lines.append(f"{title}:")
            lines += [f"  {k}: {_value(v)}" for k, v in values.items()]
    if run.metrics:
        lines.append("metrics (last value, points):")
        lines += [f"  {k}: {number(v)} ({run.steps.get(k, 0)})" for k, v in run.metrics.items()]
    if run.artifacts:
        lines.append("artifacts:")
        lines += [f"  {name}: md5 {a.md5}, {a.size:,} bytes" for name, a in run.artifacts.items()]
    return "\n".join(lines)


def run_comparison_json(c: RunComparison) -> dict[str, Any]:
    return {
        "runs": [r.id for r in c.runs],
        "params": {k: list(v) for k, v in c.params.items()},
        "differing_params": c.differing,
        "metrics": {k: list(v) for k, v in c.metrics.items()},
        "deltas": {k: list(v) for k, v in c.deltas.items()},
    }


def run_comparison_text(c: RunComparison) -> str:
    headers = ["", *(r.id for r in c.runs)]
    differing = set(c.differing)
    rows = [
        [("! " if k in differing else "  ") + f"params.{k}", *(_value(v) for v in vs)] for k, vs in c.params.items()
    ]
    for name, values in c.metrics.items():
        deltas = c.deltas[name]
        pairs = enumerate(zip(values, deltas, strict=True))
        cells = [number(v) if i == 0 else f"{number(v)} ({_delta(d)})" for i, (v, d) in pairs]
        rows.append([f"  metrics.{name}", *cells])
    note = "(! marks params that differ; deltas are against the first run)"
    return table(headers, rows) + "\n" + note


def runs_collected_json(done: RunsCollected) -> dict[str, Any]:
    return {"removed": [r.id for r in done.removed], "kept": done.kept, "dry_run": done.dry_run}


def runs_collected_text(done: RunsCollected) -> str:
    verb = "Would remove" if done.dry_run else "Removed"
    lines = [f"{verb} run {r.id} of {r.experiment} (started {r.started_at[:10]})" for r in done.removed]
    lines.append(f"{verb} {len(done.removed)} run(s); kept {done.kept}.")
    return "\n".join(lines)


def tags_synced_json(result: SyncResult) -> dict[str, Any]:
    return {"created": list(result.created), "skipped": list(result.skipped), "dry_run": result.dry_run}


def tags_synced_text(result: SyncResult) -> str:
    verb = "Would create" if result.dry_run else "Created"
    lines = [f"{verb} {name}" for name in result.created] + [f"Skipped {reason}" for reason in result.skipped]
    if not result.created:
        lines.append("Tags are in sync with the files.")
    return "\n".join(lines)


def upgraded_json(done: Upgraded) -> dict[str, Any]:
    return {"files": list(done.files), "commit": done.commit, "branch": done.branch}


def upgraded_text(done: Upgraded, dry_run: bool) -> str:
    verb = "Would write" if dry_run else "Wrote"
    lines = [f"{verb} {path}" for path in done.files]
    if not done.files:
        lines.append("The registry is up to date.")
    elif done.commit:
        lines.append(f"Done: commit {done.commit[:10]}" + (f" on branch {done.branch}" if done.branch else ""))
    return "\n".join(lines)


# -- what the core reports on the way: warnings and progress ----------------------


class _WarningLines(logging.Handler):
    def __init__(self, write: Callable[[str], object]) -> None:
        super().__init__(logging.WARNING)
        self.write = write

    def emit(self, record: logging.LogRecord) -> None:
        self.write(f"gitreg: warning: {record.getMessage()}")


def show_warnings(write: Callable[[str], object]) -> None:
    """Send the core's warnings (``logging``, logger ``gitreg``) to ``write``,
    one ``gitreg: warning: ...`` line each (once, however often called)."""
    logger = logging.getLogger("gitreg")
    for handler in [h for h in logger.handlers if isinstance(h, _WarningLines)]:
        logger.removeHandler(handler)
    logger.addHandler(_WarningLines(write))
    logger.propagate = False


@contextlib.contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int], object]]:
    """A progress bar on standard error for a transfer of ``total`` bytes;
    yields the function the transfer calls with each chunk's size."""
    from tqdm import tqdm  # type: ignore[import-untyped]  # installed with DVC

    with tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr, leave=False
    ) as bar:
        yield bar.update


def signed_json(signed: Signed) -> dict[str, Any]:
    return {
        "model": signed.model,
        "version": signed.version,
        "signature": signed.path,
        "signer": signed.signer,
        "commit": signed.commit,
    }


def signed_text(signed: Signed) -> str:
    commit = f" (commit {signed.commit[:10]})" if signed.commit else ""
    return f"Signed {signed.model} {signed.version} by {signed.signer}: {signed.path}{commit}"


def site_text(built: Built) -> str:
    models = f"{built.models} model{'' if built.models == 1 else 's'}"
    versions = f"{built.versions} version{'' if built.versions == 1 else 's'}"
    return (
        f"Wrote the site of {models} and {versions} (commit {built.commit[:10]}) "
        f"to {built.out}: {built.written} files written, {built.unchanged} unchanged, {built.removed} removed "
        f"in {built.seconds:.1f} s. Open {built.out / 'index.html'}"
    )


def site_json(built: Built) -> dict[str, Any]:
    return {
        "out": str(built.out),
        "commit": built.commit,
        "models": built.models,
        "versions": built.versions,
        "written": built.written,
        "unchanged": built.unchanged,
        "removed": built.removed,
        "seconds": round(built.seconds, 3),
    }
