"""Text and JSON forms of what the core returns (used by the CLI only)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gitreg import yamlio
from gitreg.manifest import ModelVersion
from gitreg.snapshot import ModelSummary, VersionSummary

MAX_METRIC_COLUMNS = 4


def plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_json(value: Any) -> str:
    return json.dumps(plain(value), indent=2, ensure_ascii=False)


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
    return [{"model": s.name, "latest": s.latest, "stages": dict(s.stages), "versions": s.versions} for s in items]


def summaries_text(items: Sequence[ModelSummary], stages: Sequence[str]) -> str:
    if not items:
        return "No models registered yet."
    headers = ["MODEL", "LATEST", *(s.upper() for s in stages), "VERSIONS"]
    rows = [[s.name, s.latest or "-", *(s.stages.get(st, "-") for st in stages), str(s.versions)] for s in items]
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
    headers = ["VERSION", "STAGE", "REGISTERED", "BY", *names]
    rows = [
        [
            v.version,
            v.stage,
            v.created_at.replace("T", " ").replace("Z", " UTC"),
            v.created_by.split(" <")[0],
            *(number(v.metrics.get(n)) for n in names),
        ]
        for v in items
    ]
    return table(headers, rows)


def version_json(version: ModelVersion) -> dict[str, Any]:
    result: dict[str, Any] = plain(version.to_doc())
    return result


def version_text(version: ModelVersion) -> str:
    return yamlio.dump(plain(version.to_doc())).rstrip("\n")
