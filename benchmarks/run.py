"""Time gitreg commands as whole processes on a generated registry.

    python benchmarks/run.py [--models 50] [--versions 20] [--repeat 7] [--out FILE]

Each command runs once to warm up, then REPEAT times; the table gives the
median, min and max wall time. Writes Markdown to stdout (and --out).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate
from report import emit

# the gitreg installed beside this Python (the project's venv), else the one on PATH
_BESIDE = Path(sys.executable).parent / "gitreg"
GITREG = str(_BESIDE) if _BESIDE.exists() else shutil.which("gitreg") or "gitreg"


def version_for(i: int) -> str:
    """A different existing version (as generate.py names them) for each run."""
    return f"1.{i // 10}.{i % 10}"


def ensure_staging(root: Path, model: str) -> None:
    if not (root / "models" / model / "stages" / "staging.yaml").exists():
        subprocess.run(
            [GITREG, "promote", model, "1.0.0", "--to", "staging", "-R", str(root)],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def timed(
    argv: list[str],
    repeat: int,
    before: Callable[[int], None] | None = None,
    args_for: Callable[[int], list[str]] | None = None,
) -> list[float]:
    """Wall times of ``argv`` after one warm-up run; ``args_for(i)`` replaces
    the arguments after the subcommand for run ``i``."""
    samples = []
    for i in range(repeat + 1):
        if before:
            before(i)
        command = [*argv[:2], *args_for(i), *argv[-2:]] if args_for else argv
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if i:  # the first run warms caches
            samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitreg-bench-") as tmp:
        root = generate(Path(tmp) / "registry", args.models, args.versions)
        artifact = Path(tmp) / "model.bin"
        artifact.write_bytes(os.urandom(1024 * 1024))

        def fresh_artifact(i: int) -> None:
            with artifact.open("r+b") as f:
                f.write(i.to_bytes(8, "little"))

        reg = ["-R", str(root)]
        model = f"model-{min(7, args.models - 1):04d}"  # the models the timed commands touch
        other = f"model-{min(3, args.models - 1):04d}"
        rows = [
            ("gitreg --help", timed([GITREG, "--help"], args.repeat)),
            ("gitreg list", timed([GITREG, "list", *reg], args.repeat)),
            ("gitreg list MODEL", timed([GITREG, "list", model, *reg], args.repeat)),
            ("gitreg show MODEL@latest", timed([GITREG, "show", f"{model}@latest", *reg], args.repeat)),
            (
                "gitreg resolve MODEL@staging",
                timed(
                    [GITREG, "resolve", f"{other}@staging", *reg], args.repeat, lambda i: ensure_staging(root, other)
                ),
            ),
            (
                "gitreg promote (to staging, no gates)",
                timed(
                    [GITREG, "promote", model, "PLACEHOLDER", "--to", "staging", *reg],
                    args.repeat,
                    None,
                    lambda i: [model, version_for(i), "--to", "staging"],
                ),
            ),
            (
                "gitreg rollback --stage staging",
                timed([GITREG, "rollback", model, "--stage", "staging", *reg], args.repeat),
            ),
            (
                "gitreg register (1 MiB artifact)",
                timed(
                    [GITREG, "register", model, "-a", str(artifact), "--metric", "auc=0.9", *reg],
                    args.repeat,
                    fresh_artifact,
                ),
            ),
        ]
    emit(
        f"Registry: {args.models} models x {args.versions} versions; {args.repeat} runs after a warm-up; "
        f"{os.cpu_count()} cores; Python {sys.version.split()[0]}.",
        ["command", "median (s)", "min (s)", "max (s)"],
        [[f"`{name}`", f"{statistics.median(s):.3f}", f"{min(s):.3f}", f"{max(s):.3f}"] for name, s in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
