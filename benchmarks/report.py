"""What the benchmark scripts share: timing a whole process, the rows of an
import timed twice, and handing over the results (a Markdown table on
stdout, and in a file when asked)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

GITREG = str(Path(sys.executable).parent / "gitreg")  # the gitreg installed beside this Python
IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


def timed(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Wall time of one run of ``argv`` as a process, its output discarded."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def import_rows(kind: str, source: str, registry: Path) -> list[list[str]]:
    """``gitreg import --from KIND SOURCE`` into ``registry``, then again
    (nothing new): two table rows."""
    argv = [GITREG, "import", "--from", kind, source]
    first = timed(argv, registry)
    return [
        [f"`gitreg import --from {kind}` (everything)", f"{first:.1f}"],
        [f"`gitreg import --from {kind}` again (nothing new)", f"{timed(argv, registry):.1f}"],
    ]


def emit(intro: str, headers: Sequence[str], rows: Sequence[Sequence[str]], out: Path | None) -> str:
    lines = [intro, "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if out is not None:
        out.write_text(text)
    return text
