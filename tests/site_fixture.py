"""A small registry with everything a site shows, dated so ``--at`` has
something to find: three models (one namespaced), promotions, a rollback,
an evaluation, and text written to break a page (markup, quotes)."""

from __future__ import annotations

import os
from pathlib import Path

from gitreg import api

HOSTILE = "<script>window.__pwned = 1</script> **bold** [link](javascript:alert(1)) \"quoted\" 'single'"
AUC = {"1.0.0": 0.9, "1.0.1": 0.95, "1.0.2": 0.93}


def dated(when: str) -> None:
    os.environ["GIT_COMMITTER_DATE"] = os.environ["GIT_AUTHOR_DATE"] = when


def make(registry: Path, work: Path) -> Path:
    """Fill ``registry``: in January churn 1.0.0-1.0.1 (1.0.1 in staging) and
    team/ranker 1.0.0; then fraud 1.0.0-1.0.2 (production: 1.0.0 from
    2026-02-15, 1.0.1 from 2026-03-10, rolled back to 1.0.0 on 2026-03-12)."""
    work.mkdir(parents=True, exist_ok=True)
    saved = {k: os.environ.get(k) for k in ("GIT_COMMITTER_DATE", "GIT_AUTHOR_DATE")}
    try:
        for i, version in enumerate(("1.0.0", "1.0.1")):
            dated(f"2026-01-2{i}T09:00:00Z")
            path = work / f"churn-{version}.bin"
            path.write_bytes(f"churn weights {version}".encode())
            api.register("churn", path, metrics={"f1": 0.7 + i / 10}, registry=registry)
        api.promote("churn", "1.0.1", to="staging", registry=registry)
        dated("2026-01-25T09:00:00Z")
        path = work / "ranker.bin"
        path.write_bytes(b"ranker")
        api.register("team/ranker", path, metrics={"ndcg": 0.5}, registry=registry)
        for i, (version, auc) in enumerate(AUC.items()):
            dated(f"2026-02-0{i + 1}T09:00:00Z")
            path = work / f"fraud-{version}.bin"
            path.write_bytes(f"fraud weights {version}".encode())
            api.register(
                "fraud",
                path,
                metrics={"auc": auc, "loss": 1 - auc},
                params={"note": HOSTILE, "layers": [64, 32]},
                labels={"quote": HOSTILE[-22:]},
                metadata={"notes": "javascript:alert(1)"},
                run_url="https://example.invalid/run/7",
                registry=registry,
            )
        api.set_model("fraud", description=HOSTILE, gates={"production": {"min_auc": 0.85}}, registry=registry)
        dated("2026-02-15T09:00:00Z")
        api.promote("fraud", "1.0.0", to="staging", registry=registry)
        api.promote("fraud", "1.0.0", to="production", registry=registry)
        dated("2026-03-10T12:00:00Z")
        api.promote("fraud", "1.0.1", to="staging", registry=registry)
        api.promote("fraud", "1.0.1", to="production", registry=registry, reason="better auc")
        dated("2026-03-11T12:00:00Z")
        api.evaluate("fraud", "1.0.1", metrics={"auc": 0.8}, environment="production", registry=registry)
        dated("2026-03-12T12:00:00Z")
        api.rollback("fraud", stage="production", registry=registry, reason="auc fell in production")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return registry
