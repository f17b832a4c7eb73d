"""Shared registries: a bare remote reached by URL, concurrent writers from
separate processes (each with its own cache, as separate machines would be),
and processes killed at any instant. Everything stays on this machine."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitreg import api
from gitreg.ci import check
from gitreg.storage.cache import Cache
from gitreg.storage.git import Repo
from tests.conftest import Cli, free_port, git, wait_for_port
from tests.helpers import kill_while_locked

WORKER = """
import sys
from gitreg import api
op, url, count, artifact = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
for i in range(count):
    if op == "register":
        v = api.register("fraud", artifact, metrics={"auc": 0.9}, registry=url)
        print(v.version, flush=True)
    elif op == "promote":
        m = api.promote("fraud", sys.argv[5 + i % (len(sys.argv) - 5)], to="staging", registry=url)
        print(m.commit, flush=True)
    elif op == "rollback":
        m = api.rollback("fraud", stage="staging", registry=url)
        print(m.commit, flush=True)
"""


def worker(op: str, url: str, count: int, artifact: Path, *extra: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, op, url, str(count), str(artifact), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def remote(tmp_path: Path) -> str:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    api.init(f"file://{origin}", remote=str(tmp_path / "storage"))
    return f"file://{origin}"


def bare(url: str) -> Path:
    return Path(url.removeprefix("file://"))


def own_cache(tmp_path: Path, name: str) -> dict[str, str]:
    return {**os.environ, "GITREG_CACHE_DIR": str(tmp_path / "caches" / name)}


def assert_consistent(url: str) -> None:
    """fsck clean; every registration tag has its file on main and every file
    its tag; the tip passes the whole-tree check and every commit on main
    passes the change check against its parent."""
    origin = Repo(bare(url))
    fsck = subprocess.run(
        ["git", "--git-dir", str(origin.root), "fsck", "--strict"], capture_output=True, text=True, check=False
    )
    assert fsck.returncode == 0, fsck.stderr
    files = {
        e.path.rsplit("/", 1)[-1].removesuffix(".yaml")
        for e in origin.ls_tree("main", "models/fraud/versions")
        if e.path.endswith(".yaml")
    }
    tagged = {name.split("@v")[1] for name in origin.tag_refs(["fraud@*"])}
    assert files == tagged
    tip = origin.resolve("main")
    assert tip is not None
    assert check.check_tree(origin, tip).ok
    commits = origin.log("main", ["."], ["%H", "%P"])
    for commit, parent in commits:
        if parent:
            assert check.check_change(origin, parent, commit).ok, commit


def test_register_and_read_by_url(remote: str, artifact: Path, cli: Cli, tmp_path: Path) -> None:
    out = cli("register", "fraud", "-a", artifact, "--metric", "auc=0.9", "-R", remote).stdout
    assert out.startswith("Registered fraud 1.0.0")
    assert git(bare(remote), "tag") == "fraud@v1.0.0"
    assert "fraud" in cli("list", "-R", remote).stdout
    # a training repo that names the registry in gitreg.toml, never cloning it by hand
    project = tmp_path / "training"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    (project / "gitreg.toml").write_text(f'registry = "{remote}"\n')
    (project / "src").mkdir()
    os.chdir(project / "src")
    cli("register", "fraud", "-a", artifact)
    assert [v.version for v in api.list_versions("fraud")] == ["1.0.1", "1.0.0"]
    assert not (project / "models").exists()


def test_offline_reads_the_cache_as_it_is(remote: str, artifact: Path, cli: Cli, tmp_path: Path) -> None:
    api.register("fraud", artifact, registry=remote)
    assert "1.0.0" in cli("list", "-R", remote, "--offline").stdout
    other = subprocess.run(
        [sys.executable, "-c", WORKER, "register", remote, "1", str(artifact)],
        env=own_cache(tmp_path, "elsewhere"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == "1.0.1"
    assert "1.0.1" not in cli("list", "fraud", "-R", remote, "--offline").stdout
    assert "1.0.1" in cli("list", "fraud", "-R", remote).stdout


def test_an_unreachable_remote_is_a_clear_error(tmp_path: Path, cli: Cli) -> None:
    url = f"file://{tmp_path}/nowhere.git"
    result = cli("list", "-R", url, code=3)
    assert result.stderr.startswith(f"gitreg: error: cannot reach the registry {url}: ")
    result = cli("list", "-R", "https://user:s3cret@127.0.0.1:9/x.git", code=3)
    assert "s3cret" not in result.stderr and "***@127.0.0.1" in result.stderr


def test_a_shared_registry_needs_a_shared_store(tmp_path: Path, cli: Cli) -> None:
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(tmp_path / "o.git"))
    assert "give --remote URL" in cli("init", f"file://{tmp_path}/o.git", code=2).stderr


@pytest.mark.stress
def test_16_writers_register_160_distinct_versions(remote: str, artifact: Path, tmp_path: Path) -> None:
    procs = [worker("register", remote, 10, artifact, env=own_cache(tmp_path, f"w{i}")) for i in range(16)]
    versions: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        versions += out.split()
    assert len(versions) == 160 and len(set(versions)) == 160
    origin = Repo(bare(remote))
    assert len([e for e in origin.ls_tree("main", "models/fraud/versions") if e.path.endswith(".yaml")]) == 160
    assert len(origin.tag_refs(["fraud@*"])) == 160
    assert git(bare(remote), "rev-list", "--count", "--merges", "main") == "0"  # linear
    assert_consistent(remote)


@pytest.mark.stress
def test_concurrent_promotions_and_rollbacks(remote: str, artifact: Path, tmp_path: Path) -> None:
    for auc in (0.9, 0.91, 0.92, 0.93):
        api.register("fraud", artifact, metrics={"auc": auc}, registry=remote)
    api.promote("fraud", "1.0.0", to="staging", registry=remote)
    procs = [
        worker("promote", remote, 4, artifact, "1.0.1", "1.0.2", env=own_cache(tmp_path, "p1")),
        worker("promote", remote, 4, artifact, "1.0.3", "1.0.0", env=own_cache(tmp_path, "p2")),
        worker("rollback", remote, 4, artifact, env=own_cache(tmp_path, "r1")),
        worker("rollback", remote, 4, artifact, env=own_cache(tmp_path, "r2")),
    ]
    reported: list[str] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        reported += out.split()  # a promotion of the current holder is refused: that is fine
    log = set(git(bare(remote), "rev-list", "main").split())
    assert reported and set(reported) <= log  # every reported success is on main
    assert git(bare(remote), "rev-list", "--count", "--merges", "main") == "0"
    assert_consistent(remote)


def run_killed(op: str, url: str, artifact: Path, env: dict[str, str], extra: list[str], point: str | None) -> int:
    """Run one operation in a process that is SIGKILLed at a failpoint, or
    at a random instant; its exit status (-9 when the kill landed)."""
    env = {**env, "GITREG_FAILPOINT": point} if point else env
    proc = worker(op, url, 1, artifact, *extra, env=env)
    if point is None:
        time.sleep(random.uniform(0.05, 0.9))
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=120)
    return proc.returncode


@pytest.mark.stress
@pytest.mark.parametrize("seed", [20261122])
def test_sigkill_at_any_instant_leaves_before_or_after(
    remote: str, artifact: Path, tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    random.seed(seed)
    api.register("fraud", artifact, metrics={"auc": 0.9}, registry=remote)
    api.register("fraud", artifact, metrics={"auc": 0.95}, registry=remote)
    api.promote("fraud", "1.0.0", to="staging", registry=remote)
    env = own_cache(tmp_path, "killed")  # the same cache every time: it must recover by itself
    monkeypatch.setenv("GITREG_CACHE_DIR", env["GITREG_CACHE_DIR"])
    points = ["after-objects", "after-commit", "during-push", "after-push", None, None]
    killed = 0
    for run in range(100):
        op = ["register", "promote", "rollback"][run % 3]
        extra = ["1.0.1"] if op == "promote" else []
        killed += run_killed(op, remote, artifact, env, extra, rng.choice(points)) == -signal.SIGKILL
        if run % 10 == 9:
            # a killed run's orphaned push may still be receiving: it holds
            # the cache's lock until it ends, so look once the lock is free
            with Cache(remote).locked():
                assert_consistent(remote)
        # the next operation, through the same cache, works without repair
        api.register("fraud", artifact, metrics={"auc": 0.9}, registry=remote)
    assert killed >= 50, killed
    assert_consistent(remote)


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[str]:
    """`git daemon` on 127.0.0.1 serving a bare registry (stopped by its pid)."""
    base = tmp_path / "served"
    base.mkdir()
    git(base, "init", "-q", "--bare", "-b", "main", "registry.git")
    port = free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            f"--base-path={base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"git://127.0.0.1:{port}/registry.git"
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)


def test_over_git_daemon_on_loopback(git_daemon: str, artifact: Path, tmp_path: Path, cli: Cli) -> None:
    api.init(git_daemon, remote=str(tmp_path / "storage"))
    procs = [worker("register", git_daemon, 3, artifact, env=own_cache(tmp_path, f"d{i}")) for i in range(3)]
    versions: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        versions += out.split()
    assert sorted(versions) == sorted(f"1.0.{i}" for i in range(9))
    data = json.loads(cli("list", "--json", "-R", git_daemon).stdout)
    assert data == [{"model": "fraud", "type": "model", "latest": "1.0.8", "stages": {}, "versions": 9}]
    assert_consistent(f"file://{tmp_path}/served/registry.git")


@pytest.mark.parametrize("point", ["after-objects", "after-commit", "after-ref"])
def test_a_checkout_recovers_from_a_kill(registry: Path, artifact: Path, point: str) -> None:
    """In a local checkout the branch moves first, then the index and working
    tree follow; killed in between, the next command completes the sync."""
    api.register("fraud", artifact, registry=registry)
    env = {**os.environ, "GITREG_FAILPOINT": point}
    proc = worker("register", str(registry), 1, artifact, env=env)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    moved = git(registry, "rev-list", "--count", "main") == "3"
    assert moved == (point == "after-ref")
    if moved:
        assert git(registry, "status", "--porcelain") != ""  # the checkout lags the branch
    versions = [v.version for v in api.list_versions("fraud", registry=registry)]
    assert versions == (["1.0.1", "1.0.0"] if moved else ["1.0.0"])
    assert git(registry, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (registry / ".git" / "gitreg-sync.json").exists()
    assert api.register("fraud", artifact, registry=registry).version == ("1.0.2" if moved else "1.0.1")


def test_recovery_leaves_the_users_own_edits_alone(registry: Path, artifact: Path) -> None:
    api.register("fraud", artifact, registry=registry)
    proc = worker("register", str(registry), 1, artifact, env={**os.environ, "GITREG_FAILPOINT": "after-ref"})
    proc.communicate(timeout=120)
    mine = registry / "models" / "fraud" / "versions" / "1.0.1.yaml"
    mine.write_text("my own edit\n")
    api.list_models(registry=registry)
    assert mine.read_text() == "my own edit\n"


def test_doctor_names_each_problem_with_a_fix(registry: Path, artifact: Path, cli: Cli, tmp_path: Path) -> None:
    api.register("fraud", artifact, registry=registry)
    assert cli("doctor", "-R", registry).stdout.count("ok ") == 7
    git(registry, "tag", "-d", "fraud@v1.0.0")
    git(registry, "remote", "add", "origin", str(tmp_path / "gone.git"))
    (registry / ".gitreg" / "storage").rename(tmp_path / "moved-storage")
    result = cli("doctor", "--json", "-R", registry, code=1)
    failed = {f["check"]: f for f in json.loads(result.stdout) if not f["ok"]}
    assert set(failed) == {"remote", "artifacts", "tags"}
    assert failed["tags"]["fix"].startswith("gitreg tags sync")
    assert "does not exist" in failed["artifacts"]["detail"] and "mkdir -p" in failed["artifacts"]["fix"]
    assert "cannot reach the remote" in failed["remote"]["detail"]


def test_sync_fast_forwards_a_checkout_and_fetches_a_url(remote: str, artifact: Path, tmp_path: Path, cli: Cli) -> None:
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(bare(remote)), str(checkout))
    api.register("fraud", artifact, registry=remote)
    out = cli("sync", "-R", checkout).stdout
    assert "from origin" in out
    assert [v.version for v in api.list_versions("fraud", registry=checkout)] == ["1.0.0"]
    assert (checkout / "models" / "fraud" / "versions" / "1.0.0.yaml").is_file()
    assert json.loads(cli("sync", "--json", "-R", remote).stdout)["remote"] == remote


@pytest.mark.stress
def test_a_killed_gitreg_holds_the_cache_lock_until_its_git_children_end(tmp_path: Path) -> None:
    """A git process outlives a gitreg killed while waiting for it (an orphaned
    fetch or push): the cache's lock stays held until that git is gone, so the
    next gitreg neither races it nor removes its *.lock files."""
    code = (
        "with cache.locked():\n"
        "    repo = Repo.init_bare(Path(sys.argv[2]))\n"
        "    repo.run(['-c', 'alias.hold=!f() { touch \"$1\"; sleep 4; }; f', 'hold', sys.argv[3]])\n"
    )
    kill_while_locked(tmp_path, code, [str(tmp_path / "r.git")])
