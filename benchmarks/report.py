"""How the benchmark scripts hand over their results: a Markdown table on
stdout, and in a file when asked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def emit(intro: str, headers: Sequence[str], rows: Sequence[Sequence[str]], out: Path | None) -> str:
    lines = [intro, "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if out is not None:
        out.write_text(text)
    return text
