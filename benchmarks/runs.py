"""What the experiment registry costs, and what it leaves alone: logging
runs (start, points, end) and listing them, and the registry's own reads —
`gitreg check` and `gitreg list` — with no runs and with RUNS runs beside
the branch. The floors, measured in the same run: one `git update-ref`
(the least a run's write can cost) and the same reads without runs.

    python benchmarks/runs.py [--runs 2000] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gitreg
from gitreg import api


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def best(run: Callable[[], object], repeat: int = 3) -> float:
    return min(timed(run) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("GIT_AUTHOR_NAME", "Bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    os.environ.setdefault("GIT_COMMITTER_NAME", "Bench")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")
    with tempfile.TemporaryDirectory(prefix="gitreg-bench-runs-") as folder:
        registry = Path(folder) / "registry"
        api.init(registry)
        model = Path(folder) / "model.bin"
        model.write_bytes(b"weights" * 100)
        for number in range(20):
            api.register(
                f"model-{number % 4}", model, metrics={"auc": number / 20}, environment=False, registry=registry
            )
        opened = api.open_registry(registry)
        check_before = best(lambda: api.check(registry=opened))
        list_before = best(lambda: api.list_models(registry=opened))
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=registry, capture_output=True, text=True, check=True
        ).stdout.strip()
        floor = best(
            lambda: subprocess.run(["git", "update-ref", "refs/bench/floor", head], cwd=registry, check=True), 20
        )

        def log_runs() -> None:
            for number in range(args.runs):
                with gitreg.start_run("bench", params={"n": number}, environment=False, registry=opened) as run:
                    run.log_metrics({"loss": 1 / (number + 1), "auc": number / args.runs}, step=0)

        logging = timed(log_runs)
        listing = best(lambda: api.list_runs("bench", registry=opened), 2)
        where = best(lambda: api.list_runs(where=["metrics.auc > 0.99"], registry=opened), 2)
        check_after = best(lambda: api.check(registry=opened))
        list_after = best(lambda: api.list_models(registry=opened))
    lines = [
        f"# The experiment registry ({args.runs:,} runs, each: start, 2 points, end)",
        "",
        "| what | time | floor, same run |",
        "|---|---|---|",
        f"| log one run (start, points, end: 2 commits) | {logging / args.runs * 1000:.1f} ms | "
        f"one `git update-ref`: {floor * 1000:.1f} ms |",
        f"| list {args.runs:,} runs | {listing * 1000:.0f} ms | |",
        f"| list with `--where 'metrics.auc > 0.99'` | {where * 1000:.0f} ms | |",
        f"| `gitreg check` (whole tree) with {args.runs:,} runs beside the branch | {check_after * 1000:.0f} ms | "
        f"with none: {check_before * 1000:.0f} ms |",
        f"| `gitreg list` with {args.runs:,} runs | {list_after * 1000:.1f} ms | "
        f"with none: {list_before * 1000:.1f} ms |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
