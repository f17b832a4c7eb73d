"""`gitreg import --from gto` of a GTO registry of MODELS x VERSIONS, beside
the floors measured in the same run: git fetching the repository (branches
and tags), and `gto show` reading its tags.

    python benchmarks/gto_import.py [--models 10] [--versions 100] [--out FILE]

The GTO repository is written in GTO's and DVC's formats through one
`git fast-import`: per round of versions one commit (GTO reads one version
of a model per commit) with the artifacts annotated in `dvc.yaml` and
tracked by `.dvc` files, a 1 KiB object per version in a local DVC remote
(DVC 3's `files/md5/` layout), an annotated registration tag per version
and an assignment of `prod` per model to its newest version.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import GITREG, IDENTITY, emit, import_rows, timed

GTO = str(Path(sys.executable).parent / "gto")
AUTHOR = "Bench <bench@example.invalid>"


def _blob(path: str, data: bytes) -> bytes:
    return f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"


def _tag(name: str, mark: int, when: int, message: str) -> bytes:
    body = (message + "\n").encode()
    return f"tag {name}\nfrom :{mark}\ntagger {AUTHOR} {when} +0000\ndata {len(body)}\n".encode() + body


def build(repo: Path, remote: Path, models: int, versions: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    names = [f"model-{m:03d}" for m in range(models)]
    annotations = "artifacts:\n" + "".join(f"  {n}:\n    path: models/{n}.pkl\n    type: model\n" for n in names)
    dvc_config = f"[core]\n    remote = store\n['remote \"store\"']\n    url = {remote}\n"
    start = int(time.time()) - versions * models - 10
    stream: list[bytes] = []
    tags: list[bytes] = []
    for v in range(versions):
        files = [_blob(".dvc/config", dvc_config.encode()), _blob("dvc.yaml", annotations.encode())] if v == 0 else []
        for m, name in enumerate(names):
            data = f"{name} {v}\n".encode() * 64
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            obj = remote / "files" / "md5" / md5[:2] / md5[2:]
            obj.parent.mkdir(parents=True, exist_ok=True)
            obj.write_bytes(data)
            pointer = f"outs:\n- md5: {md5}\n  size: {len(data)}\n  hash: md5\n  path: {name}.pkl\n"
            files.append(_blob(f"models/{name}.pkl.dvc", pointer.encode()))
            version = f"1.{v // 10}.{v % 10}"
            tags.append(_tag(f"{name}@v{version}", v + 1, start + v * models + m, f"Registering artifact {name}"))
        message = f"round {v}\n".encode()
        head = f"commit refs/heads/main\nmark :{v + 1}\ncommitter {AUTHOR} {start + v * models} +0000\n"
        stream += [f"{head}data {len(message)}\n".encode(), message, *files, b"\n"]
    last = start + versions * models
    for m, name in enumerate(names):
        tags.append(_tag(f"{name}#prod#1", versions, last + m, f"Assigning stage prod to artifact {name}"))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join([*stream, *tags]), check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.update(IDENTITY)
    with tempfile.TemporaryDirectory(prefix="gitreg-bench-gto-") as scratch:
        base = Path(scratch)
        begin = time.perf_counter()
        build(base / "gto-repo", base / "remote", args.models, args.versions)
        built = time.perf_counter() - begin
        subprocess.run([GITREG, "init", str(base / "registry")], check=True, stdout=subprocess.DEVNULL)
        fetch = ["git", "clone", "-q", "--mirror", str(base / "gto-repo"), str(base / "mirror.git")]
        rows = [
            ["floor: git fetches the repository, branches and tags", f"{timed(fetch, base):.1f}"],
            ["floor: `gto show` reads its tags", f"{timed([GTO, 'show'], base / 'gto-repo'):.1f}"],
            *import_rows("gto", str(base / "gto-repo"), base / "registry"),
        ]
        count = args.models * args.versions
        intro = (
            f"GTO registry: {args.models} models × {args.versions} versions = {count:,} versions, "
            f"{args.models} assignments, written in {built:.1f} s; {os.cpu_count()} cores."
        )
        emit(intro, ["operation", "seconds"], rows, args.out)


if __name__ == "__main__":
    main()
