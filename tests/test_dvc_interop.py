"""Stock DVC fetches what gitreg stored: the manifest's artifact entry as a
.dvc file in a fresh clone of the registry, then `dvc pull`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gitreg import api
from tests.conftest import Cli, git, state


def dvc(cwd: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture
def two_versions(registry: Path, tmp_path: Path) -> dict[str, Path]:
    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(bytes(range(256)) * 4096)
    folder = tmp_path / "bert"
    (folder / "tok").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x07" * 300_000)
    (folder / "tok" / "vocab.txt").write_text("a\nb\n")
    api.register("fraud", model_file, registry=registry)
    api.register("bert", folder, registry=registry)
    return {"file": model_file, "folder": folder}


def test_stock_dvc_pulls_a_file_and_a_folder(registry: Path, two_versions: dict[str, Path], tmp_path: Path) -> None:
    model_file, folder = two_versions["file"], two_versions["folder"]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry), str(clone))
    for ref in ("fraud@1.0.0", "bert@1.0.0"):
        artifact = api.show(ref, registry=clone).artifact
        (clone / f"{artifact.path}.dvc").write_text(artifact.dvc_file())
    dvc(clone, "pull")

    assert (clone / "model.pkl").read_bytes() == model_file.read_bytes()
    assert (clone / "bert" / "weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()
    assert (clone / "bert" / "tok" / "vocab.txt").read_text() == "a\nb\n"
    assert sorted(p.name for p in (clone / "bert").rglob("*") if p.is_file()) == ["vocab.txt", "weights.bin"]


def test_relative_artifact_paths_with_dotdot(registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder given as ../model (with a symlinked parent, too) is listed by
    its own relative paths, and stock DVC restores it."""
    real = tmp_path / "real"
    (real / "model" / "sub").mkdir(parents=True)
    (real / "model" / "weights").write_text("w\n")
    (real / "model" / "sub" / "cfg").write_text("c\n")
    (tmp_path / "alias").symlink_to(real)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    version = api.register("m", Path("..") / "alias" / "model", registry=registry)
    md5 = version.artifact.md5
    listing = json.loads((registry / ".gitreg" / "storage" / "files" / "md5" / md5[:2] / md5[2:]).read_text())
    assert [e["relpath"] for e in listing] == ["sub/cfg", "weights"]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry), str(clone))
    (clone / "model.dvc").write_text(version.artifact.dvc_file())
    dvc(clone, "pull")
    assert (clone / "model" / "sub" / "cfg").read_text() == "c\n"
    assert (clone / "model" / "weights").read_text() == "w\n"


def _remote_files(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every path in the registry's default remote: (bytes, or None for a folder; mode)."""
    storage = root / ".gitreg" / "storage"
    return {
        p.relative_to(storage).as_posix(): (None if p.is_dir() else p.read_bytes(), p.stat().st_mode)
        for p in storage.rglob("*")
    }


def test_the_default_remote_is_written_without_dvc_exactly_as_dvc_writes_it(tmp_path: Path) -> None:
    model = tmp_path / "model.pkl"
    model.write_bytes(bytes(range(256)) * 12_289)  # over three MiB: more than one chunk
    plain, through_dvc = tmp_path / "plain", tmp_path / "through-dvc"
    for root in (plain, through_dvc):
        api.init(root)
    (through_dvc / ".dvc" / "config.local").write_text("")  # another config level: gitreg asks DVC
    blocked = (
        "import sys\n"
        "for name in ('dvc', 'dvc_data', 'dvc_objects', 'fsspec'):\n"
        "    sys.modules[name] = None\n"
        "from gitreg.cli import main\n"
        "main(sys.argv[1:], prog_name='gitreg')\n"
    )
    subprocess.run([sys.executable, "-c", blocked, "register", "fraud", "-a", str(model), "-R", str(plain)], check=True)
    api.register("fraud", model, registry=through_dvc)
    assert _remote_files(plain) == _remote_files(through_dvc)
    assert len(_remote_files(plain)) == 4  # files/, files/md5/, files/md5/ab/, files/md5/ab/cdef...


@pytest.mark.parametrize(
    ("url", "options", "local_config", "plain"),
    [
        ("ABS", {}, False, True),
        ("ABS", {}, True, False),  # config.local may change the remote: DVC merges the levels
        ("ABS", {"shared": "group"}, False, False),  # DVC would set group permissions
        ("../storage", {}, False, False),  # relative to .dvc/, as DVC resolves it
        ("s3://bucket/models", {}, False, False),
        ("file:///tmp/storage", {}, False, False),
    ],
)
def test_only_a_plain_absolute_folder_remote_bypasses_dvc(
    tmp_path: Path, url: str, options: dict[str, str], local_config: bool, plain: bool
) -> None:
    from gitreg.storage import artifacts, dvcconfig

    root = tmp_path / "checkout"
    (root / ".dvc").mkdir(parents=True)
    url = str(tmp_path / "storage") if url == "ABS" else url
    text = dvcconfig.config_text({"storage": {"url": url, **options}})
    (root / ".dvc" / "config").write_text(text)
    if local_config:
        (root / ".dvc" / "config.local").write_text("")
    folder = artifacts.Store(root, "storage")._folder
    assert (folder is not None) == plain
    assert artifacts.Store(root, "elsewhere")._folder is None


def test_libgit2_tools_work_in_a_registry_made_by_init(registry: Path, artifact: Path, cli: Cli) -> None:
    """DVC reads the repository through pygit2 (libgit2): a split index (its
    mandatory `link` extension) made `dvc diff` hang. None is made now, and
    doctor names one a registry still has, with the fix."""
    api.register("fraud", artifact, registry=registry)
    api.register("fraud", artifact, registry=registry)
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "diff", "HEAD~1"],
        cwd=registry,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "index" in cli("doctor", "-R", registry).stdout
    git(registry, "config", "core.splitIndex", "true")
    git(registry, "update-index", "--split-index")
    out = cli("doctor", "-R", registry, code=1).stdout
    assert "core.splitIndex is on" in out and "git update-index --no-split-index" in out


def run_dvc(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


@pytest.mark.stress
@pytest.mark.parametrize("mode", [["-w"], ["-a"], ["-T"], ["-A"], ["-w", "-a", "-T", "-A"]], ids=str)
def test_dvc_gc_in_any_mode_keeps_every_registered_object(
    registry: Path, two_versions: dict[str, Path], tmp_path: Path, cli: Cli, mode: list[str]
) -> None:
    """Each version's DVC pointer (versions/<version>.dvc) makes its objects
    used: `dvc gc --cloud` in the registry and in a clone removes none."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry), str(clone))
    for where in (registry, clone):
        run_dvc(where, "gc", *mode, "--cloud", "-f")
        assert "0 with problems" in cli("verify", "--remote", "-R", registry).stdout


@pytest.mark.stress
def test_dvc_gc_in_a_project_sharing_the_remote_keeps_the_registry(tmp_path: Path, cli: Cli) -> None:
    """A training project and a registry given the same remote: `dvc gc
    --cloud` on either side, in every mode, removes nothing of the other's
    (the registry keeps its objects in a folder of its own in that remote)."""
    shared = tmp_path / "shared"
    training = tmp_path / "training"
    training.mkdir()
    git(training, "init", "-q", "-b", "main")
    run_dvc(training, "init", "-q")
    run_dvc(training, "remote", "add", "-d", "team", str(shared))
    (training / "data.csv").write_text("x,y\n1,2\n")
    run_dvc(training, "add", "data.csv")
    git(training, "add", "-A")
    git(training, "commit", "-qm", "data")
    run_dvc(training, "push")
    registry = tmp_path / "registry"
    cli("init", registry, "--remote", shared)
    model = tmp_path / "model.pkl"
    model.write_bytes(b"weights" * 1000)
    api.register("fraud", model, registry=registry)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry), str(clone))
    for mode in (["-w"], ["-a"], ["-T"], ["-A"], ["-w", "-a", "-T", "-A"]):
        run_dvc(training, "gc", *mode, "--cloud", "-f")
        run_dvc(clone, "gc", *mode, "--cloud", "-f")
        assert "0 with problems" in cli("verify", "--remote", "-R", registry).stdout
        assert "in sync" in run_dvc(training, "status", "--cloud").stdout, mode


@pytest.mark.stress
def test_dvc_get_and_import_return_the_registered_bytes(
    registry: Path, two_versions: dict[str, Path], tmp_path: Path
) -> None:
    got = tmp_path / "got"
    got.mkdir()
    run_dvc(got, "get", str(registry), "models/fraud/versions/1.0.0/model.pkl", "-o", "model.pkl")
    assert (got / "model.pkl").read_bytes() == two_versions["file"].read_bytes()
    run_dvc(got, "get", str(registry), "models/bert/versions/1.0.0/bert", "-o", "bert")
    assert (got / "bert" / "weights.bin").read_bytes() == (two_versions["folder"] / "weights.bin").read_bytes()
    assert (got / "bert" / "tok" / "vocab.txt").read_text() == "a\nb\n"
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    run_dvc(project, "init", "-q")
    run_dvc(project, "import", str(registry), "models/fraud/versions/1.0.0/model.pkl", "-o", "model.pkl")
    assert (project / "model.pkl").read_bytes() == two_versions["file"].read_bytes()
    assert "rev_lock" in (project / "model.pkl.dvc").read_text()


def test_the_dvc_pointer_is_derived_and_checked(registry: Path, two_versions: dict[str, Path], cli: Cli) -> None:
    pointer = registry / "models" / "fraud" / "versions" / "1.0.0.dvc"
    assert pointer.read_text().endswith("path: 1.0.0/model.pkl\n")
    cli("check", "-R", registry)
    pointer.write_text(pointer.read_text().replace("size: ", "size: 1"))
    git(registry, "commit", "-qam", "by hand")
    assert "differs from what models/fraud/versions/1.0.0.yaml derives" in cli("check", "-R", registry, code=1).stdout
    git(registry, "rm", "-q", str(pointer.relative_to(registry)))
    git(registry, "commit", "-qm", "an older registry: no pointers")
    assert "missing: every version has its DVC pointer" in cli("check", "-R", registry, code=1).stdout
    out = cli("upgrade", "-R", registry).stdout
    assert "Wrote models/fraud/versions/1.0.0.dvc" in out and "Done: commit" in out
    cli("check", "-R", registry)
    assert "The registry is up to date." in cli("upgrade", "-R", registry).stdout


@pytest.mark.stress
def test_dvc_artifacts_get_by_stage_and_by_version(
    registry: Path, two_versions: dict[str, Path], tmp_path: Path
) -> None:
    """DVC's model-registry command finds a version by its GTO tag and reads
    dvc.yaml at the tagged commit: each registration's entry names it."""
    newer = tmp_path / "newer.pkl"
    newer.write_bytes(b"a newer model\n" * 1000)
    api.register("fraud", newer, registry=registry)
    api.promote("fraud", "1.0.0", to="staging", registry=registry)
    api.promote("bert", "1.0.0", to="staging", registry=registry)
    got = tmp_path / "got"
    got.mkdir()
    run_dvc(got, "artifacts", "get", str(registry), "fraud", "--stage", "staging", "-o", "staging.pkl")
    run_dvc(got, "artifacts", "get", str(registry), "fraud", "--rev", "v1.0.1", "-o", "v101.pkl")
    run_dvc(got, "artifacts", "get", str(registry), "fraud", "-o", "latest.pkl")
    run_dvc(got, "artifacts", "get", str(registry), "bert", "--stage", "staging", "-o", "bert")
    assert (got / "staging.pkl").read_bytes() == two_versions["file"].read_bytes()
    assert (got / "v101.pkl").read_bytes() == (got / "latest.pkl").read_bytes() == newer.read_bytes()
    assert (got / "bert" / "weights.bin").read_bytes() == (two_versions["folder"] / "weights.bin").read_bytes()
    assert sorted(p.relative_to(got / "bert").as_posix() for p in (got / "bert").rglob("*") if p.is_file()) == [
        "tok/vocab.txt",
        "weights.bin",
    ]


def _dvc_yaml(registry: Path) -> dict[str, str]:
    text = (registry / "dvc.yaml").read_text()
    return dict(re.findall(r"\n  (\S+):\n    path: (\S+)\n", text))


def test_dvc_yaml_is_derived_and_checked(registry: Path, two_versions: dict[str, Path], cli: Cli) -> None:
    assert _dvc_yaml(registry) == {
        "bert": "models/bert/versions/1.0.0/bert",
        "fraud": "models/fraud/versions/1.0.0/model.pkl",
    }
    cli("check", "-R", registry)
    dvc_yaml = registry / "dvc.yaml"
    good = dvc_yaml.read_text()
    hand_edits = {
        "# mine\n" + good: "differs from what gitreg writes",
        good.replace("1.0.0/model.pkl", "1.0.0/other.pkl"): "entry fraud names models/fraud/versions/1.0.0/other.pkl",
        good.replace("  fraud:", "  ghost:"): "names 'ghost', which has no registered version",
        "stages:\n  train:\n    cmd: python train.py\n" + good: "gitreg writes this file",
    }
    for text, message in hand_edits.items():
        dvc_yaml.write_text(text)
        git(registry, "commit", "-qam", "by hand")
        assert message in cli("check", "-R", registry, code=1).stdout
        assert message in cli("check", "--base", "HEAD~1", "-R", registry, code=1).stdout
        git(registry, "reset", "-q", "--hard", "HEAD~1")
    # an older registry: no dvc.yaml; `gitreg upgrade` writes it in one commit
    git(registry, "rm", "-q", "dvc.yaml")
    git(registry, "commit", "-qm", "an older registry")
    assert "dvc.yaml: missing" in cli("check", "-R", registry, code=1).stdout
    doctor = cli("doctor", "-R", registry, code=1).stdout
    assert "FAIL derived: 1 derived file(s) missing or stale, e.g. dvc.yaml" in doctor and "gitreg upgrade" in doctor
    assert "Wrote dvc.yaml" in cli("upgrade", "-R", registry).stdout
    assert "ok  derived: DVC pointers and dvc.yaml match the manifests" in cli("doctor", "-R", registry).stdout
    assert dvc_yaml.read_text() == good
    cli("check", "-R", registry)
    cli("check", "--base", "HEAD~1", "-R", registry)


def test_a_change_must_name_the_version_it_registers(
    registry: Path, two_versions: dict[str, Path], tmp_path: Path, cli: Cli
) -> None:
    """The whole-tree check accepts an entry naming any version; a change
    that registers one must name it (where dvc artifacts get reads it)."""
    base = git(registry, "rev-parse", "HEAD")
    newer = tmp_path / "newer.pkl"
    newer.write_bytes(b"newer\n")
    api.register("fraud", newer, registry=registry)
    registered = git(registry, "rev-parse", "HEAD")
    cli("check", "--base", base, "-R", registry)
    dvc_yaml = registry / "dvc.yaml"
    dvc_yaml.write_text(dvc_yaml.read_text().replace("1.0.1/newer.pkl", "1.0.0/model.pkl"))
    git(registry, "commit", "-q", "--amend", "-a", "--no-edit")
    cli("check", "-R", registry)
    out = cli("check", "--base", base, "-R", registry, code=1).stdout
    assert "entry fraud names models/fraud/versions/1.0.0/model.pkl, not models/fraud/versions/1.0.1/newer.pkl" in out
    assert "the version this change registers" in out
    # nor may a change move an entry it has no reason to move
    git(registry, "reset", "-q", "--hard", registered)
    dvc_yaml.write_text(dvc_yaml.read_text().replace("1.0.1/newer.pkl", "1.0.0/model.pkl"))
    git(registry, "commit", "-qam", "point DVC back")
    cli("check", "-R", registry)
    assert "entry fraud names" in cli("check", "--base", registered, "-R", registry, code=1).stdout


def test_gc_moves_the_entry_of_a_removed_version_to_the_highest_left(registry: Path, tmp_path: Path) -> None:
    for version, data in (("1.0.0", b"a"), ("2.0.0", b"b"), ("1.0.1", b"c")):
        path = tmp_path / f"{version}.bin"
        path.write_bytes(data)
        api.register("fraud", path, version=version, registry=registry)
    assert _dvc_yaml(registry) == {"fraud": "models/fraud/versions/1.0.1/1.0.1.bin"}
    config = registry / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + "retention:\n  max_versions: 1\n")
    git(registry, "commit", "-qam", "retention policy")
    removed = api.gc(registry=registry).removed
    assert sorted(removed) == [("fraud", "1.0.0"), ("fraud", "1.0.1")]
    assert _dvc_yaml(registry) == {"fraud": "models/fraud/versions/2.0.0/2.0.0.bin"}
    assert api.check(base="HEAD~1", registry=registry).ok and api.check(registry=registry).ok


def test_registration_refuses_a_dvc_yaml_it_does_not_own(registry: Path, artifact: Path, cli: Cli) -> None:
    (registry / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n")
    git(registry, "add", "dvc.yaml")
    git(registry, "commit", "-qm", "a pipeline")
    before = state(registry)
    result = cli("register", "fraud", "-a", artifact, "-R", registry, code=1)
    assert "dvc.yaml" in result.stderr and "subfolder" in result.stderr and len(result.stderr.splitlines()) == 1
    assert state(registry) == before
