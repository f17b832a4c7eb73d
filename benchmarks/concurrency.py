"""Throughput and latency of registrations with 1, 4 and 16 concurrent
writers against one bare remote on this machine (each writer a separate
process with its own cache, as separate machines would be).

    python benchmarks/concurrency.py [--writers 1 4 16] [--per-writer 10] [--out FILE]

Reports registrations per second, p50/p99 latency of one registration
(whole operation: fetch, hash and push the artifact, commit, atomic push),
and attempts per registration (1 = no conflict).
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
from report import emit

WORKER = """
import json, sys, time
import gitreg
url, count, artifact = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(count):
    start = time.perf_counter()
    done = gitreg.register("bench", artifact, metrics={"auc": 0.9}, registry=url)
    print(json.dumps({"version": done.version, "seconds": time.perf_counter() - start,
                      "attempts": done.attempts}), flush=True)
"""


def run(writers: int, per_writer: int, base: Path) -> dict[str, float]:
    origin = base / f"origin-{writers}.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    url = f"file://{origin}"
    env = {**os.environ, "GITREG_CACHE_DIR": str(base / f"cache-init-{writers}")}
    subprocess.run(
        ["gitreg", "init", url, "--remote", str(base / f"storage-{writers}")],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    artifact = base / "model.bin"
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(per_writer), str(artifact)],
            text=True,
            stdout=subprocess.PIPE,
            env={**os.environ, "GITREG_CACHE_DIR": str(base / f"c{writers}-{i}")},
        )
        for i in range(writers)
    ]
    rows = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"a writer failed (exit {proc.returncode})")
        rows += [json.loads(line) for line in out.splitlines()]
    elapsed = time.perf_counter() - start
    versions = {r["version"] for r in rows}
    if not len(versions) == len(rows) == writers * per_writer:
        raise SystemExit("lost or duplicated registrations")
    latencies = sorted(r["seconds"] for r in rows)
    return {
        "writers": writers,
        "registrations": len(rows),
        "per_second": len(rows) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))],
        "attempts": statistics.mean(r["attempts"] for r in rows),
        "max_attempts": max(r["attempts"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--per-writer", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitreg-concurrency-") as tmp:
        base = Path(tmp)
        (base / "model.bin").write_bytes(os.urandom(1024 * 1024))
        results = [run(n, args.per_writer, base) for n in args.writers]
    emit(
        f"Registrations against one bare remote (file://), {args.per_writer} per writer; each writer its own "
        f"process and cache; {os.cpu_count()} cores.",
        ["writers", "registrations", "per second", "p50 latency (s)", "p99 latency (s)", "attempts (mean / max)"],
        [
            [
                str(r["writers"]),
                str(r["registrations"]),
                f"{r['per_second']:.2f}",
                f"{r['p50']:.2f}",
                f"{r['p99']:.2f}",
                f"{r['attempts']:.2f} / {r['max_attempts']}",
            ]
            for r in results
        ],
        args.out,
    )


if __name__ == "__main__":
    main()
