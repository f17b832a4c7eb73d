"""The experiment registry: runs recorded as refs beside the registry branch,
from Python and from the CLI, listed, compared, registered from, pruned —
and the branch, the checker and GTO untouched by any of it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import gitreg
from gitreg import api
from gitreg.errors import ConflictError, UsageError
from tests.conftest import Cli, git, state
from tests.helpers import gto_view


@pytest.fixture
def training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A training repository, the current folder: runs record its commit."""
    repo = tmp_path / "training"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", "https://bob:hunter2@git.example.com/acme/train.git")
    (repo / "train.py").write_text("print('train')\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "train")
    monkeypatch.chdir(repo)
    return repo


def _refs(registry: Path) -> str:
    return git(registry, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags")


def test_two_hundred_runs_leave_the_branch_the_checker_and_gto_alone(
    registry: Path, training: Path, tmp_path: Path, cli: Cli
) -> None:
    api.register("fraud", training / "train.py", registry=registry, environment=False)
    before, seen_by_gto = _refs(registry), gto_view(registry)
    model = tmp_path / "model.bin"
    for number in range(200):
        with gitreg.start_run(
            "fraud-training",
            params={"lr": 0.01 * (number + 1), "depth": number % 5},
            environment=False,
            registry=registry,
        ) as run:
            for step in range(3):
                run.log_metrics({"loss": 1.0 / (number + step + 1), "auc": 0.5 + number / 1000}, step=step)
            if number == 150:
                model.write_bytes(b"weights of run 150" * 50)
                run.log_artifact(model)
    assert _refs(registry) == before  # not a commit on the branch, not a tag
    assert gto_view(registry) == seen_by_gto
    cli("check", "-R", registry)
    assert len(git(registry, "for-each-ref", "refs/gitreg/runs/").splitlines()) == 200
    listed = api.list_runs("fraud-training", registry=registry)
    assert len(listed) == 200 and all(r.status == "finished" and r.steps == {"loss": 3, "auc": 3} for r in listed)
    best = api.list_runs(where=["metrics.auc > 0.69 and params.depth == 4"], registry=registry)
    assert sorted(r.params["depth"] for r in best) == [4] * 2 and all(r.metrics["auc"] > 0.69 for r in best)
    chosen = next(r for r in listed if r.artifacts)
    assert chosen.lineage["code"]["commit"] == git(training, "rev-parse", "HEAD")
    assert chosen.lineage["code"]["repo"] == "https://git.example.com/acme/train.git"  # no credentials
    other = listed[0]
    compared = json.loads(cli("runs", "compare", chosen.id, other.id[:8], "--json", "-R", registry).stdout)
    assert compared["runs"] == [chosen.id, other.id] and set(compared["differing_params"]) == {"depth", "lr"}
    assert compared["deltas"]["auc"][1] == pytest.approx(other.metrics["auc"] - chosen.metrics["auc"])
    # registered from the run: its artifact, metrics, params and lineage, and the version names the run
    done = json.loads(cli("register", "fraud", "--from-run", chosen.id[:6], "--json", "-R", registry).stdout)
    version = api.show(f"fraud@{done['version']}", registry=registry)
    assert dict(version.metrics) == dict(chosen.metrics) and dict(version.params) == dict(chosen.params)
    assert dict(version.lineage["run"]) == {"system": "gitreg", "id": chosen.id, "experiment": "fraud-training"}
    assert version.lineage["code"]["commit"] == chosen.lineage["code"]["commit"]
    out = tmp_path / "pulled.bin"
    cli("pull", f"fraud@{version.version}", "-o", out, "-R", registry)
    assert out.read_bytes() == model.read_bytes()
    cli("check", "-R", registry)


def test_a_run_from_python_records_steps_params_artifacts_and_how_it_ended(
    registry: Path, training: Path, tmp_path: Path
) -> None:
    with gitreg.start_run(
        "churn", name="baseline", params={"lr": 0.1}, labels={"team": "growth"}, registry=registry
    ) as run:
        run.log_metric("loss", 0.9)
        run.log_metric("loss", 0.7)
        run.log_metrics({"loss": 0.5, "auc": 0.8}, step=10)
        run.log_params({"epochs": 3})
        run.flush()
        run.log_param("batch", 64)
    ended = api.show_run(run.id, registry=registry)
    assert (ended.status, ended.name, ended.ended_at is not None) == ("finished", "baseline", True)
    assert dict(ended.params) == {"lr": 0.1, "epochs": 3, "batch": 64} and dict(ended.labels) == {"team": "growth"}
    assert dict(ended.metrics) == {"loss": 0.5, "auc": 0.8}
    assert [(p.metric, p.step, p.value) for p in api.run_points(run.id, registry=registry)] == [
        ("loss", 0, 0.9),
        ("loss", 1, 0.7),
        ("loss", 10, 0.5),
        ("auc", 10, 0.8),
    ]
    assert ended.environment is not None and ended.environment["source"] == "interpreter"
    with pytest.raises(ZeroDivisionError), gitreg.start_run("churn", registry=registry, environment=False) as broken:
        broken.log_metric("loss", 1.0)
        _ = 1 / 0
    failed = api.show_run(broken.id, registry=registry)
    assert failed.status == "failed" and failed.reason == "ZeroDivisionError: division by zero"
    assert failed.metrics == {"loss": 1.0}
    with pytest.raises(KeyboardInterrupt), gitreg.start_run("churn", registry=registry, environment=False) as stopped:
        raise KeyboardInterrupt
    assert api.show_run(stopped.id, registry=registry).status == "killed"
    with pytest.raises(ConflictError):
        api.end_run(stopped.id, registry=registry)


def test_the_cli_records_a_run_step_by_step(registry: Path, training: Path, tmp_path: Path, cli: Cli) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("lr: 0.05\nlayers: [64, 32]\n")
    run = cli(
        "run", "start", "fraud-training", "--params-file", params, "--param", "seed=7", "-R", registry
    ).stdout.strip()
    assert len(run) == 16
    cli("run", "log", run, "--metric", "loss=0.8", "--metric", "auc=0.7", "-R", registry)
    metrics = tmp_path / "eval.json"
    metrics.write_text('{"loss": 0.4, "auc": 0.9}')
    model = tmp_path / "model.bin"
    model.write_bytes(b"m" * 300)
    logged = json.loads(
        cli("run", "log", run[:7], "--metrics-file", metrics, "--artifact", model, "--json", "-R", registry).stdout
    )
    assert logged["metrics"] == {"loss": 0.4, "auc": 0.9} and logged["steps"] == {"loss": 2, "auc": 2}
    assert logged["params"] == {"lr": 0.05, "layers": [64, 32], "seed": 7}
    assert logged["artifacts"]["model.bin"]["size"] == 300
    assert "Run " + run + " finished" in cli("run", "end", run, "-R", registry).stdout
    shown = json.loads(cli("runs", "show", run, "--json", "-R", registry).stdout)
    assert [(p["metric"], p["step"], p["value"]) for p in shown["points"]] == [
        ("loss", 0, 0.8),
        ("auc", 0, 0.7),
        ("loss", 1, 0.4),
        ("auc", 1, 0.9),
    ]
    text = cli("runs", "show", run, "-R", registry).stdout
    assert "auc: 0.9 (2)" in text and "model.bin: md5" in text
    assert run in cli("runs", "list", "fraud-training", "-R", registry).stdout
    assert "No runs match." in cli("runs", "list", "--where", "metrics.auc > 0.95", "-R", registry).stdout
    # from the run, by the artifact's name
    cli("register", "fraud", "--from-run", run, "-a", "model.bin", "-R", registry)
    assert api.show("fraud@1.0.0", registry=registry).metrics == {"loss": 0.4, "auc": 0.9}


def test_bad_run_input_is_one_line_and_writes_nothing(registry: Path, training: Path, tmp_path: Path, cli: Cli) -> None:
    run = cli("run", "start", "exp", "--no-environment", "-R", registry).stdout.strip()
    before = state(registry)
    cases = [
        (("run", "start", "Bad Name"), 2),
        (("run", "log", run, "--metric", "loss=abc"), 2),
        (("run", "log", run, "--metric", "loss=nan"), 2),
        (("run", "log", run, "--metric", "bad name=1"), 2),
        (("run", "log", "zzzzzz"), 2),
        (("run", "log", "abc"), 2),
        (("run", "log", "0123456789abcdef"), 1),
        (("run", "log", run, "--artifact", tmp_path / "missing.bin"), 2),
        (("runs", "compare", run), 2),
        (("runs", "list", "--where", "metrics.auc >"), 2),
        (("register", "fraud", "--from-run", run), 1),  # it logged no artifact
        (("register", "fraud"), 2),
    ]
    for args, code in cases:
        result = cli(*args, "-R", registry, code=code)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    for args in (("run", "log", run, "--step", "-1"), ("run", "end", run, "--status", "paused")):
        assert "Error: Invalid value" in cli(*args, "-R", registry, code=2).stderr  # click's own usage errors
    assert state(registry) == before
    cli("run", "end", run, "-R", registry)
    cli("run", "end", run, "-R", registry, code=1)  # ended once


def test_a_hand_made_run_ref_is_refused_by_name(registry: Path, training: Path, cli: Cli) -> None:
    import subprocess

    def run_git(*args: str, given: str = "") -> str:
        done = subprocess.run(["git", *args], cwd=registry, input=given, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    blob = run_git("hash-object", "-w", "--stdin", given="kind: Run\nid: nope\n")
    tree = run_git("mktree", given=f"100644 blob {blob}\trun.yaml\n")
    commit = run_git("commit-tree", tree, "-m", "forged")
    run_git("update-ref", "refs/gitreg/runs/exp/0123456789abcdef", commit)
    result = cli("runs", "list", "-R", registry, code=1)
    assert "refs/gitreg/runs/exp/0123456789abcdef:run.yaml" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_runs_gc_keeps_the_newest_running_and_registered_runs(registry: Path, training: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"w" * 100)
    ids = []
    for number in range(6):
        with gitreg.start_run("exp", environment=False, registry=registry) as run:
            run.log_metric("auc", number / 10)
            if number == 0:
                run.log_artifact(model)
        ids.append(run.id)
    api.register("fraud", from_run=ids[0], registry=registry)
    running = api.start_run("exp", environment=False, registry=registry)
    planned = api.gc_runs(keep=2, dry_run=True, registry=registry)
    assert {r.id for r in planned.removed} == set(ids[1:4])
    assert len(api.list_runs(registry=registry)) == 7
    done = api.gc_runs(keep=2, registry=registry)
    assert {r.id for r in done.removed} == set(ids[1:4])
    left = {r.id for r in api.list_runs(registry=registry)}
    assert left == {ids[0], ids[4], ids[5], running.id}
    with pytest.raises(UsageError):
        api.gc_runs(keep=-1, registry=registry)


def test_runs_of_a_url_registry_are_pushed_and_fetched_on_demand(
    tmp_path: Path, training: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    url = f"file://{origin}"
    api.init(url, remote=str(tmp_path / "storage"))
    with gitreg.start_run("exp", params={"lr": 0.1}, environment=False, registry=url) as run:
        run.log_metric("auc", 0.9)
    assert git(origin, "for-each-ref", "--format=%(refname)", "refs/gitreg/runs/") == f"refs/gitreg/runs/exp/{run.id}"
    heads = git(origin, "for-each-ref", "refs/heads")
    # a second machine: its own clone of the URL sees the run when it lists runs
    monkeypatch.setenv("GITREG_CACHE_DIR", str(tmp_path / "other-cache"))
    found = api.list_runs(registry=url)
    assert [(r.id, r.metrics["auc"]) for r in found] == [(run.id, 0.9)]
    assert git(origin, "for-each-ref", "refs/heads") == heads


def _dvc_project(folder: Path) -> Path:
    """A DVC project that trains from data/train.csv with params.yaml, and
    two experiments of it run by `dvc exp run`."""
    import subprocess
    import sys

    folder.mkdir()
    (folder / "data").mkdir()
    (folder / "data" / "train.csv").write_text("a,b\n1,2\n3,4\n")
    (folder / "params.yaml").write_text("lr: 0.1\nepochs: 2\n")
    (folder / "train.py").write_text(
        "import json, pathlib, yaml\n"
        "p = yaml.safe_load(open('params.yaml'))\n"
        "pathlib.Path('model.bin').write_bytes(f'model lr={p[\"lr\"]}'.encode())\n"
        "json.dump({'auc': 0.5 + p['lr'], 'eval': {'loss': 1 - p['lr']}}, open('metrics.json', 'w'))\n"
    )
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}

    def dvc(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "dvc", *args], cwd=folder, env=env, check=True, capture_output=True)

    git(folder, "init", "-q", "-b", "main")
    dvc("init", "-q")
    dvc(
        "stage",
        "add",
        "-n",
        "train",
        "-d",
        "train.py",
        "-d",
        "data/train.csv",
        "-p",
        "lr,epochs",
        "-o",
        "model.bin",
        "-M",
        "metrics.json",
        f"{sys.executable} train.py",
    )
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "pipeline")
    dvc("exp", "run", "-q", "-n", "exp-fast", "--set-param", "lr=0.3")
    dvc("exp", "run", "-q", "-n", "exp-slow", "--set-param", "lr=0.05")
    return folder


def test_a_dvc_experiment_is_a_run_to_register_from(
    registry: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _dvc_project(tmp_path / "project")
    monkeypatch.chdir(project)
    cli("dataset", "register", "train", "-a", project / "data" / "train.csv", "-R", registry)
    cli("register", "fraud", "--from-run", "dvc:exp-fast", "--no-environment", "-R", registry)
    version = api.show("fraud@1.0.0", registry=registry)
    assert dict(version.metrics) == {"auc": 0.8, "eval.loss": 0.7} and dict(version.params) == {"lr": 0.3, "epochs": 2}
    assert version.lineage["run"]["system"] == "dvc-exp" and version.lineage["run"]["id"] == "exp-fast"
    assert git(project, "cat-file", "-t", version.lineage["code"]["commit"]) == "commit"  # the experiment's commit
    assert [(link.ref, link.path) for link in version.datasets] == [("train@1.0.0", "data/train.csv")]
    out = tmp_path / "model.bin"
    cli("pull", "fraud@1.0.0", "-o", out, "-R", registry)
    assert out.read_bytes() == b"model lr=0.3"
    cli("register", "fraud", "--from-run", "dvc:exp-nothing", "-R", registry, code=1)
    cli("register", "fraud", "--from-run", "dvc:exp-slow", "-a", "metrics.json", "-R", registry, code=1)
    cli("check", "-R", registry)


def test_an_mlflow_run_is_a_run_to_register_from(
    registry: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    store = tmp_path / "mlflow"
    store.mkdir()
    script = (
        "import mlflow, pathlib\n"
        "mlflow.set_tracking_uri(f'sqlite:///{pathlib.Path.cwd()}/mlflow.db')\n"
        "with mlflow.start_run() as run:\n"
        "    mlflow.set_tag('mlflow.source.git.commit', 'a' * 40)\n"
        "    mlflow.set_tag('mlflow.source.git.repoURL', 'https://u:p4ss@git.example.com/t.git')\n"
        "    mlflow.log_param('lr', 0.2)\n"
        "    mlflow.log_metric('auc', 0.7, step=0)\n"
        "    mlflow.log_metric('auc', 0.91, step=1)\n"
        "    mlflow.log_metric('weird metric', 1.0)\n"
        "    pathlib.Path('model.pkl').write_bytes(b'weights' * 10)\n"
        "    mlflow.log_artifact('model.pkl')\n"
        "    print(run.info.run_id)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=store, capture_output=True, text=True, check=True)
    run_id = done.stdout.strip().splitlines()[-1]
    cli("register", "fraud", "--from-run", f"runs:/{run_id}", "-R", registry, code=2)  # no tracking URI given
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}/mlflow.db")
    cli("register", "fraud", "--from-run", f"runs:/{run_id}/model.pkl", "--no-environment", "-R", registry)
    version = api.show("fraud@1.0.0", registry=registry)
    assert dict(version.metrics) == {"auc": 0.91} and dict(version.params) == {"lr": "0.2"}
    assert dict(version.lineage["run"]) == {"system": "mlflow", "id": run_id, "url": f"sqlite:///{store}/mlflow.db"}
    assert dict(version.lineage["code"]) == {"repo": "https://git.example.com/t.git", "commit": "a" * 40}
    out = tmp_path / "model.pkl"
    cli("pull", "fraud@1.0.0", "-o", out, "-R", registry)
    assert out.read_bytes() == b"weights" * 10
    for bad in ("runs:/nothex", "runs:/" + "0" * 32, f"runs:/{run_id}/../../etc/passwd"):
        result = cli("register", "fraud", "--from-run", bad, "-R", registry, code=2)
        assert len(result.stderr.strip().splitlines()) == 1


def test_export_carries_runs_when_asked_and_import_adds_those_it_lacks(
    registry: Path, training: Path, tmp_path: Path, cli: Cli
) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"run weights" * 20)
    with gitreg.start_run("exp", params={"lr": 0.1}, environment=False, registry=registry) as run:
        run.log_metrics({"loss": 0.5}, step=0)
        run.log_metrics({"loss": 0.25}, step=1)
        run.log_artifact(model)
    api.register("fraud", from_run=run.id, registry=registry)
    plain = tmp_path / "plain.json"
    cli("export", "-o", plain, "-R", registry)
    assert "runs" not in json.loads(plain.read_text())
    full = tmp_path / "full.json"
    cli("export", "--runs", "-o", full, "-R", registry)
    other = tmp_path / "other"
    api.init(other, remote=str(tmp_path / "other-storage"))  # another DVC remote: the run's artifact is copied
    done = json.loads(cli("import", full, "--json", "-R", other).stdout)
    assert done["runs"] == [run.id]
    copied = api.show_run(run.id, registry=other)
    assert dict(copied.params) == {"lr": 0.1} and copied.steps == {"loss": 2}
    assert [(p.step, p.value) for p in api.run_points(run.id, registry=other)] == [(0, 0.5), (1, 0.25)]
    assert api.show("fraud@1.0.0", registry=other).lineage["run"]["id"] == run.id
    # the artifact reached the other registry's remote: a version registered from the copied run pulls it
    api.register("fraud", from_run=run.id, registry=other)
    out = tmp_path / "again.bin"
    cli("pull", "fraud@1.0.1", "-o", out, "-R", other)
    assert out.read_bytes() == model.read_bytes()
    again = json.loads(cli("import", full, "--json", "-R", other).stdout)
    assert again["runs"] == [] and again["commit"] is None  # nothing new
    # a hostile export: a run whose points are not points
    doc = json.loads(full.read_text())
    doc["runs"][0]["points"] = "loss\tone\t0.5\t1\n"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    third = tmp_path / "third"
    api.init(third)
    before = state(third)
    assert "not a metric point" in cli("import", bad, "-R", third, code=2).stderr
    assert state(third) == before
