"""Build a registry of MODELS x VERSIONS quickly, in the real file formats.

    python benchmarks/generate.py DIR --models 50 --versions 20

Manifests are rendered (and schema-validated) by gitreg itself; all files
land in one commit and each version gets its GTO registration tag, as
`gitreg register` would leave them. Artifact entries point at hashes that
are not in the remote: this registry is for timing reads and writes of
manifests, not artifact transfer.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import time
from pathlib import Path

from gitreg import api, layout, manifest
from gitreg.manifest import Artifact, Model, ModelVersion
from gitreg.snapshot import timestamp


def generate(root: Path, models: int, versions: int) -> Path:
    api.init(root)
    config = manifest.RegistryConfig()
    now = int(time.time()) - models * versions
    tag_lines = []
    for m in range(models):
        name = f"model-{m:04d}"
        path = root / layout.model_path(config.models_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(manifest.render(Model(name, description=f"benchmark model {m}"), str(path)))
        for v in range(versions):
            version = f"1.{v // 10}.{v % 10}"
            md5 = hashlib.md5(f"{name}/{version}".encode(), usedforsecurity=False).hexdigest()
            doc = ModelVersion(
                model=name,
                version=version,
                created_at=timestamp(now),
                created_by="Bench <bench@example.com>",
                artifact=Artifact("model.pkl", md5, 1_000_000, config.remote),
                metrics={"auc": 0.8 + v / 1000, "accuracy": 0.7 + v / 1000, "loss": 1.0 - v / 100},
                params={"lr": 0.01, "epochs": 10 + v},
                metadata={"framework": "bench"},
                labels={"team": "bench"},
            )
            file = root / layout.version_path(config.models_dir, name, version)
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(manifest.render(doc, str(file)))
            tag_lines.append((f"{name}@v{version}", f"Registering artifact {name} version v{version}", now))
            now += 1
    run(root, "add", "-A")
    run(root, "commit", "-q", "-m", f"Generate {models} models x {versions} versions")
    commit = run(root, "rev-parse", "HEAD")
    ident = run(root, "var", "GIT_COMMITTER_IDENT").rsplit(" ", 2)[0]
    stream = []  # one fast-import process writes every annotated tag
    for name, message, when in tag_lines:
        data = message + "\n"
        stream.append(f"tag {name}\nfrom {commit}\ntagger {ident} {when} +0000\ndata {len(data.encode())}\n{data}")
    run(root, "fast-import", "--quiet", stdin="".join(stream))
    run(root, "pack-refs", "--all")
    run(root, "gc", "-q")
    return root


def run(cwd: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=True
    ).stdout.strip()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=20)
    args = parser.parse_args()
    start = time.perf_counter()
    generate(args.dir, args.models, args.versions)
    print(f"generated {args.models} x {args.versions} in {args.dir} ({time.perf_counter() - start:.1f} s)")
