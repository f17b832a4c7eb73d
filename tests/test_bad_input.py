"""Every bad input: a one-line error, the right exit code, and nothing written
(no commit, no tag, no change to index or working tree, no artifact stored)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gitreg import api
from gitreg.errors import GitregError, UsageError
from tests.conftest import Cli, state

Setup = Callable[[Path, Path], list[str]]


def with_file(name: str, text: str, option: str) -> Setup:
    def setup(tmp: Path, artifact: Path) -> list[str]:
        (tmp / name).write_text(text)
        return ["fraud", "-a", str(artifact), option, str(tmp / name)]

    return setup


def with_artifact(make: Callable[[Path], Path]) -> Setup:
    def setup(tmp: Path, artifact: Path) -> list[str]:
        return ["fraud", "-a", str(make(tmp))]

    return setup


def escaping_link(tmp: Path) -> Path:
    folder = tmp / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"1")
    (tmp / "secret").write_text("s")
    (folder / "leak").symlink_to(tmp / "secret")
    return folder


def dotdot_link(tmp: Path) -> Path:
    folder = tmp / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "up").symlink_to("../../etc-like")
    (tmp / "etc-like").write_text("x")
    return folder


def top_level_link(tmp: Path) -> Path:
    (tmp / "real.pkl").write_bytes(b"x")
    (tmp / "link.pkl").symlink_to(tmp / "real.pkl")
    return tmp / "link.pkl"


def fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe")
    return tmp / "pipe"


def fifo_inside(tmp: Path) -> Path:
    (tmp / "model").mkdir()
    os.mkfifo(tmp / "model" / "pipe")
    return tmp / "model"


def empty_dir(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def plain(*args: str) -> Setup:
    def setup(tmp: Path, artifact: Path) -> list[str]:
        return [a.replace("ART", str(artifact)) for a in args]

    return setup


CASES: list[tuple[str, Setup, int, str]] = [
    ("name with ..", plain("a..b", "-a", "ART"), 2, "invalid model name 'a..b'"),
    ("name with two /", plain("a/b/c", "-a", "ART"), 2, "invalid model name 'a/b/c'"),
    ("reserved in a namespace", plain("a/stages", "-a", "ART"), 2, "'stages' is reserved inside a namespace"),
    ("uppercase name", plain("Fraud", "-a", "ART"), 2, "invalid model name 'Fraud'"),
    ("control character", plain("fr\x07aud", "-a", "ART"), 2, "invalid model name 'fr\\x07aud'"),
    ("leading dash", plain("-a", "ART", "--", "-fraud"), 2, "invalid model name '-fraud'"),
    ("look-alike", plain("frаud", "-a", "ART"), 2, "invalid model name 'fr\\u0430ud'"),
    ("version not semver", plain("fraud", "-a", "ART", "--version", "1.0"), 2, "invalid version '1.0'"),
    ("version with v", plain("fraud", "-a", "ART", "--version", "v1.0.0"), 2, "invalid version 'v1.0.0'"),
    ("version with build", plain("fraud", "-a", "ART", "--version", "1.0.0+abc"), 2, "invalid version '1.0.0+abc'"),
    (
        "version and bump",
        plain("fraud", "-a", "ART", "--version", "1.0.0", "--bump", "minor"),
        2,
        "either a version or a bump",
    ),
    (
        "missing artifact",
        plain("fraud", "-a", "/nonexistent/model.pkl"),
        2,
        "artifact /nonexistent/model.pkl does not exist",
    ),
    ("symlink leading outside", with_artifact(escaping_link), 2, "is a symbolic link leading outside the artifact"),
    (
        "relative symlink leading outside",
        with_artifact(dotdot_link),
        2,
        "is a symbolic link leading outside the artifact",
    ),
    ("artifact is a symlink", with_artifact(top_level_link), 2, "is a symbolic link"),
    ("artifact is a FIFO", with_artifact(fifo), 2, "is a FIFO"),
    ("FIFO inside", with_artifact(fifo_inside), 2, "pipe is a FIFO"),
    ("empty folder", with_artifact(empty_dir), 2, "is an empty folder"),
    ("metrics list", with_file("m.json", "[1, 2]", "--metrics"), 2, "expected a mapping at the top level"),
    ("metrics string", with_file("m.json", '{"auc": "high"}', "--metrics"), 2, "metric 'auc' must be a number"),
    ("metrics bool", with_file("m.yaml", "auc: true\n", "--metrics"), 2, "metric 'auc' must be a number"),
    ("metrics NaN", with_file("m.yaml", "auc: .nan\n", "--metrics"), 2, "NaN and infinity are not allowed"),
    ("metrics inf", with_file("m.yaml", "auc: .inf\n", "--metrics"), 2, "NaN and infinity are not allowed"),
    ("metrics dup keys", with_file("m.yaml", "auc: 1\nauc: 2\n", "--metrics"), 2, "duplicate key 'auc'"),
    (
        "metrics python tag",
        with_file("m.yaml", "auc: !!python/name:os.system\n", "--metrics"),
        2,
        "YAML tags are not allowed",
    ),
    (
        "metrics missing file",
        plain("fraud", "-a", "ART", "--metrics", "/nonexistent.json"),
        2,
        "metrics file /nonexistent.json does not exist",
    ),
    ("metric not k=v", plain("fraud", "-a", "ART", "--metric", "auc"), 2, "metric 'auc' is not of the form key=value"),
    ("metric NaN", plain("fraud", "-a", "ART", "--metric", "auc=nan"), 2, "NaN and infinity are not allowed"),
    ("metric inf", plain("fraud", "-a", "ART", "--metric", "auc=-inf"), 2, "NaN and infinity are not allowed"),
    ("metric word", plain("fraud", "-a", "ART", "--metric", "auc=good"), 2, "metric 'auc' must be a number"),
    ("metric bad key", plain("fraud", "-a", "ART", "--metric", "a b=1"), 2, "invalid metric name 'a b'"),
    ("params not mapping", with_file("p.yaml", "- 1\n", "--params"), 2, "expected a mapping"),
    ("params NaN", with_file("p.yaml", "lr: .nan\n", "--params"), 2, "NaN and infinity are not allowed"),
    ("params alias", with_file("p.yaml", "a: &x 1\nb: *x\n", "--params"), 2, "anchors and aliases"),
    ("label control char", plain("fraud", "-a", "ART", "--label", "team=a\x1bb"), 2, "contains control characters"),
    ("bad bump", plain("fraud", "-a", "ART", "--bump", "huge"), 2, "Invalid value for '--bump'"),
]


@pytest.mark.parametrize(("case", "setup", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_register_refuses(
    case: str, setup: Setup, code: int, message: str, registry: Path, artifact: Path, tmp_path: Path, cli: Cli
) -> None:
    api.register("fraud", artifact, registry=registry)
    scratch = tmp_path / "case"
    scratch.mkdir()
    args = setup(scratch, artifact)
    before = state(registry)
    result = cli("register", "-R", registry, *args, code=code)
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    if "Invalid value" not in message:  # click's own usage errors add a hint line
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("gitreg: error: ")
    assert state(registry) == before


def test_existing_version_exits_1(registry: Path, artifact: Path, cli: Cli) -> None:
    cli("register", "fraud", "-a", artifact, "-R", registry)
    before = state(registry)
    result = cli("register", "fraud", "-a", artifact, "-R", registry, "--version", "1.0.0", code=1)
    assert result.stderr == "gitreg: error: fraud 1.0.0 is already registered\n"
    assert state(registry) == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["show", "fraud@nostage"],
            2,
            "unknown stage 'nostage': this registry's stages are development, staging, production",
        ),
        (["show", "fraud@9.9.9"], 1, "fraud@9.9.9 is not registered"),
        (["show", "ghost@latest"], 1, "model 'ghost' is not registered"),
        (["show", "fraud@production"], 1, "no version of 'fraud' holds stage 'production'"),
        (["show", "fraud@"], 2, "names no version"),
        (["show", "Fraud@1.0.0"], 2, "invalid model name 'Fraud'"),
        (["show", "fraud@1.0"], 2, "invalid version '1.0'"),
        (["list", "ghost"], 1, "model 'ghost' is not registered"),
        (["list", "../x"], 2, "invalid model name '../x'"),
    ],
)
def test_read_commands_refuse(
    args: list[str], code: int, message: str, registry: Path, artifact: Path, cli: Cli
) -> None:
    api.register("fraud", artifact, registry=registry)
    result = cli(*args, "-R", registry, code=code)
    assert message in result.stderr
    assert result.stderr.startswith("gitreg: error: ") and result.stderr.count("\n") == 1


def test_not_a_registry(tmp_path: Path, cli: Cli) -> None:
    result = cli("list", "-R", tmp_path, code=1)
    assert result.stderr == f"gitreg: error: {tmp_path}: not a git repository\n"
    (tmp_path / "repo").mkdir()
    os.system(f"git init -q {tmp_path / 'repo'}")  # noqa: S605
    result = cli("list", "-R", tmp_path / "repo", code=1)
    assert "is not a gitreg registry" in result.stderr and "gitreg init" in result.stderr


def test_python_api_raises_the_same_errors(registry: Path, artifact: Path) -> None:
    with pytest.raises(UsageError, match="invalid model name"):
        api.register("../evil", artifact, registry=registry)
    with pytest.raises(UsageError, match="must be a number"):
        api.register("fraud", artifact, registry=registry, metrics={"auc": "x"})
    with pytest.raises(GitregError):
        api.show("fraud@1.0.0", registry=registry)


def test_a_broken_registry_file_is_named(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    path = registry / "models" / "fraud" / "versions" / "1.0.0.yaml"
    path.write_text(path.read_text() + "surprise: 1\n")
    os.system(f"git -C {registry} commit -qam 'hand edit'")  # noqa: S605
    result = cli("show", "fraud@1.0.0", "-R", registry, code=1)
    assert result.stderr.startswith("gitreg: error: models/fraud/versions/1.0.0.yaml: /: Additional properties")


def test_version_file_disagreeing_with_its_path(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    folder = registry / "models" / "fraud" / "versions"
    (folder / "1.0.0.yaml").rename(folder / "2.0.0.yaml")
    os.system(f"git -C {registry} add -A && git -C {registry} commit -qm mv")  # noqa: S605
    result = cli("show", "fraud@2.0.0", "-R", registry, code=1)
    assert "models/fraud/versions/2.0.0.yaml: /version: is '1.0.0' but the file's path says '2.0.0'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resolve", "nope@production"], "model 'nope' is not registered"),
        (["resolve", "frud@production"], "model 'frud' is not registered (did you mean 'fraud'?)"),
        (["show", "fraud@stagin"], "unknown stage 'stagin' (did you mean 'staging'?)"),
        (["promote", "fraud", "1.0.0", "--to", "prod"], "unknown stage 'prod' (did you mean 'production'?)"),
        (["promote", "fruad", "1.0.0", "--to", "staging"], "model 'fruad' is not registered (did you mean 'fraud'?)"),
        (["list", "fraudd"], "model 'fraudd' is not registered (did you mean 'fraud'?)"),
        (["resolve", "zzz@latest"], "model 'zzz' is not registered"),
    ],
)
def test_unknown_names_are_named_with_the_closest_known_one(
    registry: Path, artifact: Path, cli: Cli, args: list[str], message: str
) -> None:
    api.register("fraud", artifact, registry=registry)
    before = state(registry)
    result = cli(*args, "-R", registry, code=2 if "stage" in message else 1)
    assert result.stderr.startswith(f"gitreg: error: {message}") and result.stderr.count("\n") == 1
    assert state(registry) == before


def test_a_refused_promotion_is_no_dry_run_in_json(registry: Path, artifact: Path, cli: Cli) -> None:
    import json

    api.register("fraud", artifact, registry=registry)
    refused = cli("promote", "fraud", "1.0.0", "--to", "production", "--json", "-R", registry, code=1)
    doc = json.loads(refused.stdout)
    assert doc["allowed"] is False and doc["dry_run"] is False and doc["commit"] is None
    planned = cli("promote", "fraud", "1.0.0", "--to", "staging", "--dry-run", "--json", "-R", registry)
    assert json.loads(planned.stdout)["dry_run"] is True
