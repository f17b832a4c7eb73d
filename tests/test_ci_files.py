"""The CI files gitreg writes and ships: valid for GitHub (the field's own
schema checker), clean under the security linter, and doing what they say
when their commands run against a real repo with a PR-like branch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gitreg import api
from gitreg.ci import workflows as ci
from gitreg.documents import yamlio
from gitreg.documents.names import Quoted
from tests.conftest import Cli, git, run_guide

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)


@pytest.fixture
def ci_registry(tmp_path: Path, artifact: Path, cli: Cli) -> Path:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    registry = tmp_path / "registry"
    out = cli("init", registry, "--ci", "github", "--ci-owners", "@acme/ml-leads").stdout
    assert "Wrote .github/workflows/gitreg-check.yml" in out
    git(registry, "remote", "add", "origin", str(origin))
    for auc in (0.8, 0.9):
        api.register("fraud", artifact, registry=registry, metrics={"auc": auc})
    api.set_model("fraud", gates={"staging": {"min_auc": 0.85}}, registry=registry)
    git(registry, "push", "-q", "-u", "origin", "main", "--tags")
    return registry


def workflow_files(registry: Path) -> list[Path]:
    return sorted((registry / ".github" / "workflows").glob("*.yml"))


def test_init_writes_the_ci_files(ci_registry: Path) -> None:
    assert [p.name for p in workflow_files(ci_registry)] == ["gitreg-check.yml", "gitreg-site.yml", "gitreg-tags.yml"]
    owners = (ci_registry / ".github" / "CODEOWNERS").read_text()
    for line in ("* ", "/models/*/stages/ ", "/models/*/versions/ ", "/.dvc/ ", "gitreg.toml ", "/.gitreg/ "):
        assert f"\n{line}@acme/ml-leads\n" in owners, line
    check = yamlio.load((ci_registry / ci.CHECK_WORKFLOW).read_text(), ci.CHECK_WORKFLOW)
    assert check["on"] == {"pull_request": None, "merge_group": None}  # not pull_request_target; no path filters
    (job,) = check["jobs"].values()
    assert "if" not in job and all("if" not in step for step in job["steps"])
    assert check["permissions"] == {"contents": "read"}
    assert "branches: [main]" in (ci_registry / ci.TAGS_WORKFLOW).read_text()


def test_rerunning_init_keeps_edited_ci_files(ci_registry: Path) -> None:
    owners = ci_registry / ".github" / "CODEOWNERS"
    owners.write_text("* @acme/everyone\n")
    git(ci_registry, "commit", "-qam", "our owners")
    assert api.init(ci_registry, ci="github").commit is None
    assert owners.read_text() == "* @acme/everyone\n"


def test_init_adds_ci_to_an_existing_registry(registry: Path) -> None:
    result = api.init(registry, ci="github")
    assert result.commit is not None
    written = {ci.CHECK_WORKFLOW, ci.TAGS_WORKFLOW, ci.SITE_WORKFLOW, ci.CODEOWNERS, ci.default_install()[2:]}
    assert set(result.files) == written
    assert git(registry, "log", "-1", "--format=%s") == "Add gitreg files"


def test_workflows_and_action_pass_githubs_schemas(ci_registry: Path) -> None:
    workflows = [*workflow_files(ci_registry), ROOT / ".github" / "workflows" / "ci.yml"]
    result = tool(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    result = tool(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-actions", ROOT / "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_above_low(ci_registry: Path) -> None:
    targets = [*workflow_files(ci_registry), ROOT / ".github" / "workflows" / "ci.yml", ROOT / "action.yml"]
    result = tool(BIN / "zizmor", "--offline", "--min-severity", "medium", "--format", "plain", *targets)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_hook_definition() -> None:
    hooks = yamlio.load((ROOT / ".pre-commit-hooks.yaml").read_text(), ".pre-commit-hooks.yaml")
    assert hooks == [
        {
            "id": "gitreg-check",
            "name": "gitreg check",
            "description": "Check what the commit would make of the registry (every rule on the staged tree, "
            "gates on moved pointers).",
            "entry": "gitreg check --staged -R .",
            "language": "python",
            "pass_filenames": False,
            "always_run": True,  # a commit that only deletes a version file is checked too
        }
    ]


def _hook(cwd: Path) -> subprocess.CompletedProcess[str]:
    """The hook's entry, run as pre-commit runs it: in the repository, no file names."""
    hooks = yamlio.load((ROOT / ".pre-commit-hooks.yaml").read_text(), ".pre-commit-hooks.yaml")
    entry = hooks[0]["entry"].split()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(entry, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def cli_check(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN / "gitreg", "check"], cwd=cwd, capture_output=True, text=True, check=False)


def test_the_hook_checks_a_deletion_and_a_broken_tree_with_nothing_staged(ci_registry: Path) -> None:
    assert _hook(ci_registry).returncode == 0
    git(ci_registry, "rm", "-q", "models/fraud/versions/1.0.0.yaml")
    result = _hook(ci_registry)  # a commit that only deletes a version file
    assert result.returncode == 1 and "never deleted" in result.stdout
    git(ci_registry, "reset", "-q", "--hard")
    manifest = ci_registry / "models" / "fraud" / "versions" / "1.0.0.yaml"
    manifest.write_text(manifest.read_text().replace("status: active", "status: retired"))
    git(ci_registry, "commit", "-q", "--no-verify", "-am", "broken by hand")
    assert cli_check(ci_registry).returncode == 1
    result = _hook(ci_registry)  # `pre-commit run --all-files` on a tree the checker fails: nothing staged
    assert result.returncode == 1 and "models/fraud/versions/1.0.0.yaml /status" in result.stdout


def run_steps(
    workflow: Path, cwd: Path, env: dict[str, str], bin_dir: Path = BIN, job_name: str | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run a workflow job's `run:` steps in order, as the runner would (bash -e),
    except installing gitreg (``test_the_install_step_…`` runs that): this
    environment has it, and its scripts' folder goes first on PATH as it
    would after the install step."""
    doc = yamlio.load(workflow.read_text(), str(workflow))
    (job,) = doc["jobs"].values() if job_name is None else [doc["jobs"][job_name]]
    results = []
    for step in job["steps"]:
        if "run" not in step or "pip install" in step["run"]:
            continue
        step_env = {**os.environ, **env, **{k: str(v) for k, v in step.get("env", {}).items() if "${{" not in str(v)}}
        step_env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=cwd, env=step_env, capture_output=True, text=True, check=False
        )
        results.append(result)
        if result.returncode:
            break
    return results


def test_the_check_workflow_blocks_and_passes_real_prs(ci_registry: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {"BASE_REF": "main", "GITHUB_STEP_SUMMARY": str(summary)}
    workflow = ci_registry / ci.CHECK_WORKFLOW
    git(ci_registry, "checkout", "-q", "-b", "bad")
    pointer = ci_registry / "models" / "fraud" / "stages" / "staging.yaml"
    pointer.parent.mkdir(parents=True)
    pointer.write_text(
        yamlio.dump(
            {
                "apiVersion": "gitreg/v1",
                "kind": "StagePointer",
                "model": "fraud",
                "stage": "staging",
                "version": Quoted("1.0.0"),
                "promoted_at": "2026-01-01T00:00:00Z",
                "promoted_by": "E <e@x.y>",
            }
        )
    )
    git(ci_registry, "add", "-A")
    git(ci_registry, "commit", "-qm", "promote by hand")
    results = run_steps(workflow, ci_registry, env)
    assert results[-1].returncode == 1
    assert "::error file=models/fraud/stages/staging.yaml" in results[-1].stdout
    assert "❌ fail" in summary.read_text()
    git(ci_registry, "checkout", "-q", "main")
    api.promote("fraud", "1.0.1", to="staging", branch="good", registry=ci_registry)
    git(ci_registry, "checkout", "-q", "good")
    summary.write_text("")
    results = run_steps(workflow, ci_registry, env)
    assert all(r.returncode == 0 for r in results)
    assert "✅ fraud: staging - → 1.0.1 (promotion)" in summary.read_text()


def test_the_tags_workflow_pushes_the_missing_tags(ci_registry: Path, tmp_path: Path) -> None:
    api.promote("fraud", "1.0.1", to="staging", branch="good", registry=ci_registry)
    git(ci_registry, "merge", "-q", "--ff-only", "good")
    git(ci_registry, "push", "-q", "origin", "main")
    results = run_steps(ci_registry / ci.TAGS_WORKFLOW, ci_registry, {"GITHUB_TOKEN": "not-a-real-token"})
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert "fraud#staging#1" in git(ci_registry, "ls-remote", "--tags", "origin")


def test_the_site_workflow_builds_the_site_and_only_deploy_may_write_pages(ci_registry: Path) -> None:
    workflow = yamlio.load((ci_registry / ci.SITE_WORKFLOW).read_text(), ci.SITE_WORKFLOW)
    assert workflow["on"] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    assert workflow["permissions"] == {}
    assert workflow["jobs"]["build"]["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    uses = [s["uses"] for job in workflow["jobs"].values() for s in job["steps"] if "uses" in s]
    assert all(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", u) for u in uses), uses  # pinned by commit
    results = run_steps(ci_registry / ci.SITE_WORKFLOW, ci_registry, {}, job_name="build")
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert "fraud" in (ci_registry / "_site" / "index.html").read_text()
    assert (ci_registry / "_site" / "models" / "fraud" / "versions" / "1.0.1.html").is_file()


def test_the_actions_site_step_builds_the_site(ci_registry: Path, tmp_path: Path) -> None:
    action = yamlio.load((ROOT / "action.yml").read_text(), "action.yml")
    (step,) = [s for s in action["runs"]["steps"] if s.get("name") == "gitreg site"]
    env = {**os.environ, "INPUT_SITE": str(tmp_path / "preview"), "INPUT_REGISTRY": str(ci_registry)}
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "preview" / "models" / "fraud" / "index.html").is_file()


@pytest.mark.stress
def test_the_install_step_installs_the_committed_wheel_offline(ci_registry: Path, tmp_path: Path) -> None:
    """The generated workflow installs gitreg from the wheel `init` committed
    (never a name from an index); run its install step verbatim in a fresh
    virtual environment with no index, then the check job with that gitreg."""
    workflow = ci_registry / ci.CHECK_WORKFLOW
    (job,) = yamlio.load(workflow.read_text(), str(workflow))["jobs"].values()
    (install,) = [s for s in job["steps"] if "pip install" in s.get("run", "")]
    assert install["env"]["GITREG_INSTALL"] == "./.github/gitreg/gitreg-0.1.0-py3-none-any.whl"
    assert (ci_registry / ".github" / "gitreg" / "gitreg-0.1.0-py3-none-any.whl").is_file()
    runner = tmp_path / "runner"
    subprocess.run([sys.executable, "-m", "venv", str(runner)], check=True)
    env = {
        **os.environ,
        **install["env"],
        "PATH": f"{runner / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PIP_NO_INDEX": "1",  # offline: the wheel is the only source
        "PIP_NO_DEPS": "1",  # its dependencies come from this environment below
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    done = subprocess.run(
        ["bash", "-e", "-c", install["run"]], cwd=ci_registry, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    site = subprocess.run(
        [runner / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    checker = Path("gitreg") / "ci" / "check.py"
    assert (Path(site) / checker).read_bytes() == (ROOT / checker).read_bytes()
    deps = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    api.promote("fraud", "1.0.1", to="staging", branch="good", registry=ci_registry)
    git(ci_registry, "checkout", "-q", "good")
    summary = tmp_path / "summary.md"
    step_env = {"BASE_REF": "main", "GITHUB_STEP_SUMMARY": str(summary), "PYTHONPATH": deps}
    results = run_steps(workflow, ci_registry, step_env, bin_dir=runner / "bin")
    assert all(r.returncode == 0 for r in results), [r.stdout + r.stderr for r in results]
    assert "✅ fraud: staging - → 1.0.1 (promotion)" in summary.read_text()
    which = subprocess.run(
        ["bash", "-c", "command -v gitreg"],
        env={**os.environ, "PATH": f"{runner / 'bin'}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert which.stdout.strip() == str(runner / "bin" / "gitreg")


def test_an_unpinned_install_spec_is_refused(tmp_path: Path, cli: Cli) -> None:
    for spec in ("gitreg==0.1.0", "gitreg", "git+https://example.com/gitreg@main", "https://x/y.whl"):
        result = cli("init", tmp_path / "r", "--ci", "github", "--ci-install", spec, code=2)
        assert "does not pin gitreg" in result.stderr
        assert not (tmp_path / "r").exists()
    pinned = "git+https://example.com/acme/gitreg@" + "a" * 40
    cli("init", tmp_path / "r", "--ci", "github", "--ci-install", pinned)
    assert f"GITREG_INSTALL: {pinned}" in (tmp_path / "r" / ci.CHECK_WORKFLOW).read_text()
    assert not (tmp_path / "r" / ".github" / "gitreg").exists()


def test_the_ci_guide_runs_as_written(tmp_path: Path, artifact: Path) -> None:
    """docs/ci.md: its commands, in order, in a folder with a bare origin."""
    git(tmp_path, "init", "-q", "--bare", "-b", "main", "origin.git")
    (tmp_path / "model.pkl").write_bytes(artifact.read_bytes())
    done = run_guide(ROOT / "docs" / "ci.md", tmp_path)
    assert "## gitreg check: ✅ all rules hold" in done.stdout
    assert "Merging this pull request" in (tmp_path / "pr.md").read_text()
