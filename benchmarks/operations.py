"""Time the production operations (evaluate, monitor, deploy, history
--metrics, --at, diff, export, import, gc) as whole processes on a
generated registry.

    python benchmarks/operations.py [--models 200] [--versions 25] [--repeat 5] [--out FILE]

Each command runs once to warm up, then REPEAT times (median, min, max).
The import goes into a fresh registry that shares the source's artifact
store (generated artifacts exist only as hashes), so it times the commit
machinery: one commit per round of versions and every GTO tag.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate
from report import emit
from run import GITREG, timed


def gitreg(*args: str) -> str:
    return subprocess.run([GITREG, *args], check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--versions", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitreg-bench-") as tmp:
        root = generate(Path(tmp) / "registry", args.models, args.versions)
        reg = ["-R", str(root)]
        model = f"model-{min(7, args.models - 1):04d}"
        for version in ("1.0.0", "1.0.1"):
            gitreg("promote", model, version, "--to", "staging", *reg)
            gitreg("promote", model, version, "--to", "production", *reg)
        config = root / ".gitreg" / "config.yaml"
        config.write_text(config.read_text() + "retention:\n  max_versions: 10\n")
        subprocess.run(["git", "commit", "-qam", "retention policy"], cwd=root, check=True)
        midday = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        export_file = Path(tmp) / "registry.json"
        store = str(root / ".gitreg" / "storage")

        def fresh_target(i: int) -> list[str]:
            target = Path(tmp) / f"target-{i}"
            gitreg("init", str(target), "--remote", store)
            return [GITREG, "import", str(export_file), "-R", str(target)]

        rows = [
            (
                "gitreg evaluate MODEL VERSION --metric ...",
                timed(lambda i: [GITREG, "evaluate", model, "1.0.3", "--metric", f"auc=0.{80 + i}", *reg], args.repeat),
            ),
            (
                "gitreg monitor MODEL --metric ... (healthy)",
                timed(lambda i: [GITREG, "monitor", model, "--metric", "auc=0.801", *reg], args.repeat),
            ),
            (
                "gitreg history MODEL --metrics",
                timed(lambda i: [GITREG, "history", model, "--metrics", *reg], args.repeat),
            ),
            (
                "gitreg deploy MODEL --metric auc --dry-run",
                timed(lambda i: [GITREG, "deploy", model, "--metric", "auc", "--dry-run", *reg], args.repeat),
            ),
            ("gitreg list --at DATE", timed(lambda i: [GITREG, "list", "--at", midday, *reg], args.repeat)),
            (
                "gitreg resolve MODEL@production --at HEAD~5",
                timed(lambda i: [GITREG, "resolve", f"{model}@production", "--at", "HEAD~5", *reg], args.repeat),
            ),
            ("gitreg diff HEAD~10 HEAD", timed(lambda i: [GITREG, "diff", "HEAD~10", "HEAD", *reg], args.repeat)),
            (
                "gitreg export (all models)",
                timed(lambda i: [GITREG, "export", "-o", str(export_file), *reg], args.repeat),
            ),
            ("gitreg gc --dry-run", timed(lambda i: [GITREG, "gc", "--dry-run", *reg], args.repeat)),
        ]
        versions = args.models * args.versions
        rows.append(
            (f"gitreg import ({versions} versions, {args.versions} commits)", timed(fresh_target, min(args.repeat, 2)))
        )
        start = time.perf_counter()
        removed = len(json.loads(gitreg("gc", "--json", *reg))["removed"])
        rows.append((f"gitreg gc (one run: commits the removal of {removed} versions)", [time.perf_counter() - start]))
    emit(
        f"Registry: {args.models} models x {args.versions} versions; {args.repeat} runs after a warm-up "
        f"(import: {min(args.repeat, 2)}); {os.cpu_count()} cores; Python {sys.version.split()[0]}.",
        ["command", "median (s)", "min (s)", "max (s)"],
        [[f"`{name}`", f"{statistics.median(s):.3f}", f"{min(s):.3f}", f"{max(s):.3f}"] for name, s in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
