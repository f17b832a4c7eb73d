"""Helpers several test modules share: pull requests against a registry and
the checker's verdict on them (with the catalogue of bypass attempts), GTO's
view of a registry beside ours, a registry's stages and trailers, killing a
process that holds the cache lock, sample documents. Fixtures live in
conftest.py."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitreg import api
from gitreg.documents import tags, yamlio
from gitreg.documents.manifest import Artifact, Model, ModelVersion, RegistryConfig, StagePointer
from gitreg.documents.names import Quoted
from gitreg.errors import NotFoundError
from gitreg.storage.cache import Cache
from tests.conftest import Cli, git

Edit = Callable[[Path], None]


def path(reg: Path, *parts: str) -> Path:
    return reg.joinpath("models", *parts)


def edit_yaml(file: Path, **changes: object) -> None:
    doc = yamlio.load(file.read_text(), str(file))
    doc.update(changes)
    if "version" in doc:
        doc["version"] = Quoted(doc["version"])
    file.write_text(yamlio.dump(doc))


def pointer(reg: Path, stage: str, version: str, model: str = "fraud", folder: str = "fraud") -> None:
    file = path(reg, folder, "stages", f"{stage}.yaml")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(
        yamlio.dump(
            {
                "apiVersion": "gitreg/v1",
                "kind": "StagePointer",
                "model": model,
                "stage": stage,
                "version": Quoted(version),
                "promoted_at": "2026-01-01T00:00:00Z",
                "promoted_by": "Eve <e@x.y>",
                "reason": "by hand",
            }
        )
    )


def pr(reg: Path, name: str, edit: Edit) -> None:
    """A branch with the edit committed by hand, as a pull request would carry it."""
    git(reg, "checkout", "-q", "-b", name)
    edit(reg)
    git(reg, "add", "-A")
    git(reg, "commit", "-q", "-m", name)


def check(reg: Path, cli: Cli, code: int, *args: str) -> dict[str, object]:
    result = cli("check", "--base", "origin/main", "--format", "json", "-R", reg, *args, code=code)
    report: dict[str, object] = json.loads(result.stdout)
    return report


def messages(report: dict[str, object]) -> list[str]:
    return [f"{v['path']} {v['field']}: {v['message']}" for v in report["violations"]]  # type: ignore[attr-defined,index]


def edit_metrics(reg: Path) -> None:
    edit_yaml(path(reg, "fraud", "versions", "1.0.0.yaml"), metrics={"auc": 0.99})
    pointer(reg, "staging", "1.0.0")


def delete_version(reg: Path) -> None:
    path(reg, "fraud", "versions", "1.0.0.yaml").unlink()


def rename_version(reg: Path) -> None:
    old = path(reg, "fraud", "versions", "1.0.0.yaml")
    edit_yaml(old, version="1.0.9")
    old.rename(old.with_name("1.0.9.yaml"))


def archive_then_point(status: str) -> Edit:
    def edit(reg: Path) -> None:
        edit_yaml(path(reg, "fraud", "versions", "1.0.2.yaml"), status=status)
        pointer(reg, "staging", "1.0.2")

    return edit


def loosen_and_promote(reg: Path) -> None:
    edit_yaml(path(reg, "fraud", "model.yaml"), gates={"staging": {"min_auc": 0.5}})
    pointer(reg, "staging", "1.0.0")


def unknown_kind(reg: Path) -> None:
    (path(reg, "fraud", "versions", "1.0.9.yaml")).write_text("apiVersion: gitreg/v1\nkind: Backdoor\nmodel: fraud\n")


def python_tag(reg: Path) -> None:
    file = path(reg, "fraud", "versions", "1.0.3.yaml")
    file.write_text(file.read_text().replace("status: active", "status: !!python/object/apply:os.system ['id']"))


def stray_file(reg: Path) -> None:
    (path(reg, "fraud", "notes.yaml")).write_text("kind: Notes\n")


def name_disagrees(reg: Path) -> None:
    source = path(reg, "fraud", "versions", "1.0.3.yaml").read_text()
    path(reg, "fraud", "versions", "1.0.4.yaml").write_text(source)


def relabel_by_hand(reg: Path) -> None:
    edit_yaml(path(reg, "fraud", "versions", "1.0.0.yaml"), labels={"approved": "yes"})


def redescribe_by_hand(reg: Path) -> None:
    edit_yaml(path(reg, "fraud", "versions", "1.0.0.yaml"), description="production-ready")


def forge_an_annotation(reg: Path) -> None:
    """An annotation record appended by hand that says one thing while the
    labels say another."""
    note = {"at": "2026-01-01T00:00:00Z", "by": "Eve <e@x.y>", "labels": {"team": "risk"}}
    edit_yaml(path(reg, "fraud", "versions", "1.0.0.yaml"), annotations=[note], labels={"approved": "yes"})


BYPASSES: list[tuple[str, Edit, str]] = [
    (
        "label a version by hand",
        relabel_by_hand,
        "models/fraud/versions/1.0.0.yaml /labels: labels change only by an appended annotation",
    ),
    (
        "describe a version by hand",
        redescribe_by_hand,
        "models/fraud/versions/1.0.0.yaml /description: the description changes only by an appended annotation",
    ),
    (
        "append an annotation that does not match the labels",
        forge_an_annotation,
        "models/fraud/versions/1.0.0.yaml /labels: labels change only by an appended annotation",
    ),
    (
        "edit a version's metrics so it passes",
        edit_metrics,
        "models/fraud/versions/1.0.0.yaml /metrics: metrics is part of the registered core and cannot change",
    ),
    (
        "delete a version",
        delete_version,
        "models/fraud/versions/1.0.0.yaml : version files are never deleted or renamed",
    ),
    (
        "rename a version",
        rename_version,
        "models/fraud/versions/1.0.0.yaml : version files are never deleted or renamed",
    ),
    (
        "point at a missing version",
        lambda r: pointer(r, "staging", "7.0.0"),
        "models/fraud/stages/staging.yaml /version: fraud 7.0.0 is not registered",
    ),
    ("point at an archived version", archive_then_point("archived"), "fraud 1.0.2 is archived: it cannot hold a stage"),
    (
        "point at a deprecated version",
        archive_then_point("deprecated"),
        "fraud 1.0.2 is deprecated: it cannot hold a stage",
    ),
    (
        "point at another model's version",
        lambda r: pointer(r, "staging", "1.0.0", model="churn"),
        "models/fraud/stages/staging.yaml /model: is 'churn' but the file's path says 'fraud'",
    ),
    ("loosen a gate and promote", loosen_and_promote, "fraud 1.0.0 fails gate min_auc for staging: 0.8 < 0.85"),
    (
        "skip staging",
        lambda r: pointer(r, "production", "1.0.2"),
        "fraud 1.0.2 never held staging, which production requires",
    ),
    (
        "a file of an unknown kind",
        unknown_kind,
        "models/fraud/versions/1.0.9.yaml /kind: expected 'ModelVersion', found 'Backdoor'",
    ),
    ("a !!python tag", python_tag, "models/fraud/versions/1.0.3.yaml line"),
    ("a stray YAML file", stray_file, "models/fraud/notes.yaml : not a registry file"),
    (
        "file name and version disagree",
        name_disagrees,
        "models/fraud/versions/1.0.4.yaml /version: is '1.0.3' but the file's path says '1.0.4'",
    ),
    (
        "a stage that is not configured",
        lambda r: pointer(r, "canary", "1.0.3"),
        "models/fraud/stages/canary.yaml : stage 'canary' is not configured",
    ),
]


GTO = Path(sys.executable).parent / "gto"


def _latest(registry: Path, model: str) -> str | None:
    """`MODEL@latest`, the newest version not deprecated or archived (GTO's
    latest); None when every version is (GTO shows null)."""
    try:
        return f"v{api.resolve(f'{model}@latest', registry=registry).version}"
    except NotFoundError:
        return None


def gto(cwd: Path, *args: str) -> str:
    return subprocess.run([str(GTO), *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def gto_view(registry: Path) -> dict[str, Any]:
    out = subprocess.run([str(GTO), "show", "--json"], cwd=registry, capture_output=True, text=True, check=True).stdout
    # GTO keeps a stage that once had a holder in its output, with null
    return {
        name: {"latest": a["version"], "stages": {s: v for s, v in a["stage"].items() if v is not None}}
        for name, a in json.loads(out).items()
    }


def our_view(registry: Path, cli: Cli) -> dict[str, Any]:
    """Holders from `gitreg list`, the latest as GTO counts it."""
    models = json.loads(cli("list", "--json", "-R", registry).stdout)
    return {
        m["model"]: {"latest": _latest(registry, m["model"]), "stages": {s: f"v{v}" for s, v in m["stages"].items()}}
        for m in models
    }


def stages(registry: Path) -> dict[str, str]:
    return dict(api.list_models(registry=registry)[0].stages)


def trailers(registry: Path, rev: str = "HEAD") -> dict[str, str]:
    message = git(registry, "log", "-1", "--format=%B", rev)
    out = subprocess.run(
        ["git", "interpret-trailers", "--parse"], input=message, capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(": ", 1) for line in out.splitlines())


def kill_while_locked(tmp_path: Path, code: str, args: list[str]) -> None:
    """Run ``code`` in a Python process that has ``cache`` (a Cache under
    ``tmp_path/caches``), ``Repo`` and ``Path``, with ``args`` after the
    caches' folder and before the file its git child makes once started;
    SIGKILL it then, and prove the lock outlives it: taken while the
    orphaned git runs, free once it ends."""
    started = tmp_path / "started"
    lock_file = Cache("file:///nowhere/registry.git", root=tmp_path / "caches").slot / "lock"
    prelude = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gitreg.storage.cache import Cache\n"
        "from gitreg.storage.git import Repo\n"
        "cache = Cache('file:///nowhere/registry.git', root=Path(sys.argv[1]))\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", prelude + code, str(tmp_path / "caches"), *args, str(started)])
    try:
        deadline = time.monotonic() + 30
        while not started.exists():
            assert parent.poll() is None and time.monotonic() < deadline, "git never started"
            time.sleep(0.02)
    finally:
        parent.kill()
        parent.wait()
    with open(lock_file, "a+") as handle:
        with pytest.raises(BlockingIOError):  # the orphaned git still holds it
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle, fcntl.LOCK_EX)  # and lets go when it ends


VERSION = ModelVersion(
    model="fraud",
    version="1.2.3-rc.1",
    created_at="2026-01-02T03:04:05Z",
    created_by="Ada <ada@example.com>",
    artifact=Artifact("model.pkl", "0" * 32, 10, "storage"),
    metrics={"auc": 0.9, "n": 3},
    params={"lr": 0.1, "layers": [64, 32], "opt": {"name": "adam"}},
    metadata={"gpu": True, "framework": "torch"},
    labels={"team": "risk"},
    description="first",
)


DOCUMENTS = [
    (RegistryConfig(), "RegistryConfig"),
    (Model("fraud", gates={"production": {"min_auc": 0.8, "require_approved": True}}), "Model"),
    (VERSION, "ModelVersion"),
    (
        StagePointer("fraud", "production", "1.2.3", "2026-01-02T03:04:05Z", "Ada <ada@example.com>", "ok"),
        "StagePointer",
    ),
]


MLFLOW_SOURCE = Path(__file__).resolve().parent / "mlflow_source.py"


def build_mlflow_source(folder: Path, *extra: str) -> str:
    """A real MLflow registry in ``folder`` (tests/mlflow_source.py, run by
    MLflow's client in its own process); its tracking URI."""
    done = subprocess.run(
        [sys.executable, str(MLFLOW_SOURCE), str(folder), *extra],
        capture_output=True,
        text=True,
        check=False,
        cwd=folder if folder.is_dir() else folder.parent,  # whatever MLflow leaves behind stays beside the store
    )
    assert done.returncode == 0, done.stderr
    return f"file://{folder}/mlruns" if "--file" in extra else f"sqlite:///{folder}/mlflow.db"


def dvc(cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True, text=True, check=True)


def gto_registry(tmp_path: Path) -> Path:
    """A registry made by GTO's own commands: artifacts annotated in dvc.yaml
    and tracked by DVC (a file, and a folder), registered, assigned (the
    production holder replaced once), one version deprecated."""
    import time

    repo = tmp_path / "gto-repo"
    (repo / "models").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "store", str(tmp_path / "dvc-store"))
    (repo / "dvc.yaml").write_text(
        "artifacts:\n"
        "  fraud:\n    path: models/model.pkl\n    type: model\n    desc: fraud detector\n"
        "  churn:\n    path: models/churn\n    type: model\n"
    )
    (repo / ".gto").write_text("stages: [dev, prod]\n")

    def version(model: str, number: str, write: Any) -> None:
        write()
        target = "models/model.pkl" if model == "fraud" else "models/churn"
        dvc(repo, "add", target)
        dvc(repo, "push")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"{model} {number}")
        gto(repo, "register", model, "--version", number)

    clock = iter(range(int(time.time()) - 600, int(time.time())))

    def stage_event(action: str, model: str, _v: str, number: str, _s: str, stage: str) -> None:
        assert action == "assign" and _v == "--version" and _s == "--stage"
        gto_stage_tag(repo, model, number, stage, next(clock))

    version("fraud", "v1.0.0", lambda: (repo / "models" / "model.pkl").write_bytes(b"first\n" * 500))
    version("churn", "v0.1.0", lambda: write_folder(repo / "models" / "churn", b"w1"))
    stage_event("assign", "fraud", "--version", "v1.0.0", "--stage", "prod")
    version("fraud", "v1.1.0", lambda: (repo / "models" / "model.pkl").write_bytes(b"second\n" * 500))
    stage_event("assign", "fraud", "--version", "v1.1.0", "--stage", "dev")
    stage_event("assign", "fraud", "--version", "v1.1.0", "--stage", "prod")
    stage_event("assign", "churn", "--version", "v0.1.0", "--stage", "dev")
    version("fraud", "v1.2.0", lambda: (repo / "models" / "model.pkl").write_bytes(b"third\n" * 500))
    gto(repo, "deprecate", "fraud", "v1.2.0")
    return repo


def gto_stage_tag(repo: Path, model: str, number: str, stage: str, when: int, action: str = "assign") -> None:
    """A stage tag written as GTO writes it (name, counter, target, message)
    at ``when``: GTO orders stage events by tagger time in whole seconds and
    ignores GIT_COMMITTER_DATE, so tests that need an order date them."""
    counter = tags.next_counter(git(repo, "tag").split(), model)
    event = tags.TagEvent(action, model, stage=stage, counter=counter)  # type: ignore[arg-type]
    target = git(repo, "rev-list", "-n1", f"{model}@{number}")
    env = {**os.environ, "GIT_COMMITTER_DATE": f"{when} +0000"}
    subprocess.run(
        ["git", "tag", "-a", event.name(), "-m", event.message(number[1:]), target], cwd=repo, env=env, check=True
    )


def write_folder(folder: Path, data: bytes) -> None:
    (folder / "tok").mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(data * 1000)
    (folder / "tok" / "vocab.txt").write_text("a\nb\n")


# -- a registry for the web site tests (test_site.py, test_site_browser.py) ----

SITE_HOSTILE = "<script>window.__pwned = 1</script> **bold** [link](javascript:alert(1)) \"quoted\" 'single'"
SITE_AUC = {"1.0.0": 0.9, "1.0.1": 0.95, "1.0.2": 0.93}


def _dated(when: str) -> None:
    os.environ["GIT_COMMITTER_DATE"] = os.environ["GIT_AUTHOR_DATE"] = when


def site_registry(registry: Path, work: Path) -> Path:
    """Fill ``registry``: in January churn 1.0.0-1.0.1 (1.0.1 in staging) and
    team/ranker 1.0.0; then fraud 1.0.0-1.0.2 (production: 1.0.0 from
    2026-02-15, 1.0.1 from 2026-03-10, rolled back to 1.0.0 on 2026-03-12)."""
    work.mkdir(parents=True, exist_ok=True)
    saved = {k: os.environ.get(k) for k in ("GIT_COMMITTER_DATE", "GIT_AUTHOR_DATE")}
    try:
        for i, version in enumerate(("1.0.0", "1.0.1")):
            _dated(f"2026-01-2{i}T09:00:00Z")
            path = work / f"churn-{version}.bin"
            path.write_bytes(f"churn weights {version}".encode())
            api.register("churn", path, metrics={"f1": 0.7 + i / 10}, registry=registry)
        api.promote("churn", "1.0.1", to="staging", registry=registry)
        _dated("2026-01-25T09:00:00Z")
        path = work / "ranker.bin"
        path.write_bytes(b"ranker")
        api.register("team/ranker", path, metrics={"ndcg": 0.5}, registry=registry)
        for i, (version, auc) in enumerate(SITE_AUC.items()):
            _dated(f"2026-02-0{i + 1}T09:00:00Z")
            path = work / f"fraud-{version}.bin"
            path.write_bytes(f"fraud weights {version}".encode())
            api.register(
                "fraud",
                path,
                metrics={"auc": auc, "loss": 1 - auc},
                params={"note": SITE_HOSTILE, "layers": [64, 32]},
                labels={"quote": SITE_HOSTILE[-22:]},
                metadata={"notes": "javascript:alert(1)"},
                run_url="https://example.invalid/run/7",
                registry=registry,
            )
        api.set_model("fraud", description=SITE_HOSTILE, gates={"production": {"min_auc": 0.85}}, registry=registry)
        _dated("2026-02-15T09:00:00Z")
        api.promote("fraud", "1.0.0", to="staging", registry=registry)
        api.promote("fraud", "1.0.0", to="production", registry=registry)
        _dated("2026-03-10T12:00:00Z")
        api.promote("fraud", "1.0.1", to="staging", registry=registry)
        api.promote("fraud", "1.0.1", to="production", registry=registry, reason="better auc")
        _dated("2026-03-11T12:00:00Z")
        api.evaluate("fraud", "1.0.1", metrics={"auc": 0.8}, environment="production", registry=registry)
        _dated("2026-03-12T12:00:00Z")
        api.rollback("fraud", stage="production", registry=registry, reason="auc fell in production")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return registry


def onnx_model(file: Path) -> tuple[Any, Any]:
    """A linear model, y = x @ w + b, written as ONNX by the test."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.array([[0.5], [-1.0], [2.0]], dtype=np.float32)
    b = np.array([0.25], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(file))
    return w, b
