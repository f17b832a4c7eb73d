"""Build a registry of MODELS x VERSIONS quickly, in the real file formats.

    python benchmarks/generate.py DIR --models 50 --versions 20

Every file is rendered (and schema-validated) by gitreg itself: model.yaml,
each version's manifest, and per model a staging pointer (newest version)
and a production pointer (the one before). One `git fast-import` stream
writes them on top of `gitreg init`'s commit, one commit per round of
versions (GTO allows one version of a model per commit), with the GTO tags
`gitreg register` and `gitreg promote` would leave (a registration tag per
version, an assignment tag per pointer); the checkout is then brought up
to date. Artifact entries point at hashes that are not in the remote: this
registry is for timing reads and writes of manifests, not transfers.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import time
from pathlib import Path

from gitreg import api
from gitreg.core.snapshot import timestamp
from gitreg.documents import dvcyaml, layout, manifest, tags
from gitreg.documents.manifest import Artifact, Model, ModelVersion, StagePointer

AUTHOR = "Bench <bench@example.com>"


def _blob(path: str, data: bytes) -> bytes:
    return f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"


def _tag(event: tags.TagEvent, version: str, mark: int, when: int) -> bytes:
    message = (event.message(version) + "\n").encode()
    head = f"tag {event.name()}\nfrom :{mark}\ntagger {AUTHOR} {when} +0000\ndata {len(message)}\n"
    return head.encode() + message


def generate(root: Path, models: int, versions: int) -> Path:
    api.init(root)
    config = manifest.RegistryConfig()
    names = [f"model-{m:04d}" for m in range(models)]
    numbers = [f"1.{v // 10}.{v % 10}" for v in range(versions)]
    start = int(time.time()) - models * (versions + 2)
    rounds: list[list[bytes]] = [[] for _ in numbers]  # round v: version v of every model
    tag_stream: list[bytes] = []
    entries: dict[str, str] = {}  # dvc.yaml: each model's newest version
    for m, name in enumerate(names):
        model_file = layout.model_path(config.models_dir, name)
        rounds[0].append(
            _blob(model_file, manifest.render(Model(name, description=f"benchmark model {m}"), model_file))
        )
        for v, version in enumerate(numbers):
            when = start + v * models + m
            md5 = hashlib.md5(f"{name}/{version}".encode(), usedforsecurity=False).hexdigest()
            doc = ModelVersion(
                model=name,
                version=version,
                created_at=timestamp(when),
                created_by=AUTHOR,
                artifact=Artifact("model.pkl", md5, 1_000_000, config.remote),
                metrics={"auc": 0.8 + v / 1000, "accuracy": 0.7 + v / 1000, "loss": 1.0 - v / 100},
                params={"lr": 0.01, "epochs": 10 + v},
                metadata={"framework": "bench"},
                labels={"team": "bench"},
            )
            for path, data in manifest.version_files(config.models_dir, doc).items():
                rounds[v].append(_blob(path, data))
            entries[name] = dvcyaml.entry_path(config.models_dir, doc)
            tag_stream.append(_tag(tags.register(name, version), version, v + 1, when))
    # the last round also sets staging to the newest version and production to the one before
    when = start + versions * models
    rounds[-1].append(_blob(dvcyaml.PATH, dvcyaml.render(entries) or b""))
    for name in names:
        held = [("staging", versions - 1)] + ([("production", versions - 2)] if versions > 1 else [])
        for counter, (stage, v) in enumerate(held, start=1):
            path = layout.stage_path(config.models_dir, name, stage)
            pointer = StagePointer(name, stage, numbers[v], timestamp(when), AUTHOR, "generated")
            rounds[-1].append(_blob(path, manifest.render(pointer, path)))
            event = tags.TagEvent("assign", name, stage=stage, counter=counter)
            tag_stream.append(_tag(event, numbers[v], v + 1, when))
            when += 1
    branch = run(root, "symbolic-ref", "HEAD")
    stream = []
    for v, files in enumerate(rounds):
        message = f"Generate version {numbers[v]} of {models} models\n".encode()
        head = f"commit {branch}\nmark :{v + 1}\ncommitter {AUTHOR} {start + v * models} +0000\n"
        stream += [f"{head}data {len(message)}\n".encode(), message]
        stream += [f"from {branch}^0\n".encode()] if v == 0 else []
        stream += [*files, b"\n"]
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join([*stream, *tag_stream]), check=True)
    run(root, "reset", "-q", "--hard")
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
