"""`gitreg site` on a generated registry: a whole first build (every
document parsed, no parse memo), a build with nothing changed, and a
rebuild after one promotion, beside the floors measured in the same run:
listing the models folder (`git ls-tree -r`) and walking the branch's
history with its file changes (`git log --raw`), which any build must read.

    python benchmarks/site.py --models 200 --versions 25 [--registry DIR] [--out FILE]

`--registry` reuses a registry `generate.py` made (1,000 x 100 takes
150 s to generate).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate
from report import GITREG


def seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


_WRITER = """
import os, sys
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = b"x" * size
for i in range(count):
    folder = os.path.join(root, str(i // 100))
    if i % 100 == 0:
        os.makedirs(folder)
    with open(os.path.join(folder, f"{i % 100}.html"), "wb") as f:
        f.write(data)
"""


def floor(tmp: Path, count: int, size: int) -> float:
    """Creating as many files as the site has pages, of their mean size:
    what the disk asks of any build that writes them (the page cache and
    the file system vary from run to run)."""
    return seconds([sys.executable, "-c", _WRITER, str(tmp / "floor"), str(count), str(size)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--versions", type=int, default=25)
    parser.add_argument("--registry", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitreg-site-", dir=os.environ.get("GITREG_BENCH_DIR")) as tmp:
        registry = args.registry or Path(tmp) / "registry"
        if args.registry is None:
            generate(registry, args.models, args.versions)
        site = Path(tmp) / "site"
        cold = {**os.environ, "GITREG_PARSE_MEMO": "0"}
        rows = [
            (
                "floor: `git ls-tree -r` of the models folder",
                seconds(["git", "-C", str(registry), "ls-tree", "-r", "HEAD", "models"]),
            ),
            (
                "floor: `git log --raw` of the registry branch (the history walk)",
                seconds(["git", "-C", str(registry), "log", "--first-parent", "--raw", "--no-abbrev", "HEAD"]),
            ),
            (
                "`gitreg site`, first build (every document parsed)",
                seconds([GITREG, "site", "-R", str(registry), "-o", str(site)], cold),
            ),
            ("`gitreg site` again, nothing changed", seconds([GITREG, "site", "-R", str(registry), "-o", str(site)])),
        ]
        model = sorted(p.name for p in (registry / "models").iterdir())[0]
        held = subprocess.run(
            [GITREG, "resolve", f"{model}@staging", "--json", "-R", str(registry)],
            check=False,
            capture_output=True,
            text=True,
        )
        target = "1.0.2" if held.returncode == 0 and '"version": "1.0.1"' in held.stdout else "1.0.1"
        promote = [GITREG, "promote", model, target, "--to", "staging", "-R", str(registry)]
        subprocess.run(promote, check=True, capture_output=True)
        before = {p: p.stat().st_mtime_ns for p in site.rglob("*.html")}
        rows.append(
            ("`gitreg site` after one promotion", seconds([GITREG, "site", "-R", str(registry), "-o", str(site)]))
        )
        rewritten = sum(1 for p in site.rglob("*.html") if before.get(p) != p.stat().st_mtime_ns)
        pages = list(site.rglob("*.html"))
        size = sum(p.stat().st_size for p in pages) // len(pages)
        rows.insert(
            2,
            (
                f"floor: writing {len(pages):,} new files of {size:,} bytes (the pages), one process",
                floor(Path(tmp), len(pages), size),
            ),
        )
        largest = max(p.stat().st_size for p in pages)
        versions = sum(1 for _ in site.glob("models/*/versions/*.html"))
        lines = [
            f"Registry: {versions:,} versions; {len(pages):,} pages; 2 cores; Python {sys.version.split()[0]}.",
            "",
            "| operation | seconds |",
            "|---|---|",
            *(f"| {name} | {value:.2f} |" for name, value in rows),
            "",
            f"After the promotion {rewritten} of {len(pages)} pages were rewritten "
            "(the model's own, the overview, Changes).",
            f"The largest page: {largest / 1024:.0f} KiB.",
        ]
        text = "\n".join(lines) + "\n"
        print(text)
        if args.out:
            args.out.write_text(text)


if __name__ == "__main__":
    main()
