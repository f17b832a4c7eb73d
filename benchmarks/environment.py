"""What recording the environment costs: capturing it at registration (the
installed distributions of this interpreter), and reading a manifest that
holds it, beside the floors measured in the same run: the same manifest
without an environment, and importlib.metadata reading every
distribution's METADATA file (what capture avoids).

    python benchmarks/environment.py [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from gitreg.documents import manifest
from gitreg.documents.manifest import Artifact, ModelVersion
from gitreg.operations import environment


def best(run: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    captured, _ = environment.capture()
    count = len(captured.get("requirements", ()))
    capture = best(environment.capture, 20)
    floor = best(lambda: [(d.name, d.version) for d in metadata.distributions()], 5)
    artifact = Artifact("m.pkl", "a" * 32, 1, "s")
    plain = ModelVersion("fraud", "1.0.0", "2026-01-01T00:00:00Z", "A <a@example.com>", artifact)
    rows = []
    for name, doc in (("without an environment", plain), ("with it", dataclasses.replace(plain, environment=captured))):
        data = manifest.render(doc, "models/fraud/versions/1.0.0.yaml")
        parse = best(lambda data=data: manifest.parse(data, ModelVersion, "bench"), 200)
        rows.append(f"| read a manifest {name} ({len(data):,} bytes) | {parse:.2f} ms |")
    lines = [
        f"# Environment capture ({count} installed distributions)",
        "",
        "| what | time (best of the runs) |",
        "|---|---|",
        f"| capture at registration | {capture:.1f} ms |",
        f"| floor: importlib.metadata reading every METADATA file | {floor:.1f} ms |",
        *rows,
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
