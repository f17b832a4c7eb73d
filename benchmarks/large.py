"""Register and pull of a large file against a local DVC remote, side by side
with the physical floor measured in the same run (`md5sum` of the file, then
`cp` of it) and with stock `dvc add && dvc push`.

    python benchmarks/large.py [--size-mib 1024] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import GITREG, emit, timed


def drop_caches_if_possible() -> None:
    """Best effort: with root, drop the page cache so every run reads from disk."""
    subprocess.run(["sync"], check=False)
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    gitreg = GITREG
    dvc = [sys.executable, "-m", "dvc"]
    with tempfile.TemporaryDirectory(prefix="gitreg-large-", dir=os.environ.get("GITREG_BENCH_DIR")) as tmp:
        base = Path(tmp)
        data = base / "model.bin"
        with data.open("wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1024 * 1024))
        rows = []
        drop_caches_if_possible()
        md5 = timed(["md5sum", str(data)], base)
        drop_caches_if_possible()
        cp = timed(["cp", str(data), str(base / "copy.bin")], base)
        (base / "copy.bin").unlink()
        rows.append(("floor: md5sum + cp", md5 + cp))
        subprocess.run([gitreg, "init", str(base / "reg")], check=True, stdout=subprocess.DEVNULL)
        drop_caches_if_possible()
        rows.append(("gitreg register", timed([gitreg, "register", "big", "-a", str(data)], base / "reg")))
        shutil.rmtree(base / "reg" / ".dvc" / "cache", ignore_errors=True)
        drop_caches_if_possible()
        rows.append(
            (
                "gitreg pull (empty cache)",
                timed([gitreg, "pull", "big@latest", "-o", str(base / "pulled.bin")], base / "reg"),
            )
        )
        (base / "pulled.bin").unlink()
        rows.append(
            (
                "gitreg pull (cached)",
                timed([gitreg, "pull", "big@latest", "-o", str(base / "pulled.bin")], base / "reg"),
            )
        )
        (base / "pulled.bin").unlink()
        proj = base / "dvcproj"
        proj.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=proj, check=True)
        subprocess.run([*dvc, "init", "-q"], cwd=proj, check=True)
        subprocess.run(
            [*dvc, "remote", "add", "-d", "s", str(base / "dvcstore")], cwd=proj, check=True, stdout=subprocess.DEVNULL
        )
        shutil.move(str(data), proj / "model.bin")
        drop_caches_if_possible()
        add = timed([*dvc, "add", "model.bin"], proj)
        push = timed([*dvc, "push"], proj)
        rows.append(("stock dvc add + dvc push", add + push))
    floor = rows[0][1]
    emit(
        f"{args.size_mib} MiB file, local DVC remote, {os.cpu_count()} cores.",
        ["operation", "seconds", "× floor"],
        [[name, f"{sec:.2f}", f"{sec / floor:.2f}"] for name, sec in rows],
        args.out,
    )


if __name__ == "__main__":
    main()
