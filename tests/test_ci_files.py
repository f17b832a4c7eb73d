"""The CI files gitreg writes and ships: valid for GitHub (the field's own
schema checker), clean under the security linter, and doing what they say
when their commands run against a real repo with a PR-like branch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitreg import api, ci, yamlio
from gitreg.names import Quoted
from tests.conftest import Cli, git

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
    assert [p.name for p in workflow_files(ci_registry)] == ["gitreg-check.yml", "gitreg-tags.yml"]
    owners = (ci_registry / ".github" / "CODEOWNERS").read_text()
    assert "/models/*/stages/production.yaml @acme/ml-leads" in owners
    check = yamlio.load((ci_registry / ci.CHECK_WORKFLOW).read_text(), ci.CHECK_WORKFLOW)
    assert check["on"] == {"pull_request": None}  # not pull_request_target; no path filters
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
    assert set(result.files) == {ci.CHECK_WORKFLOW, ci.TAGS_WORKFLOW, ci.CODEOWNERS}
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
            "description": "Check the staged registry change (schemas, immutable versions, gates on moved pointers).",
            "entry": "gitreg check --staged",
            "language": "python",
            "pass_filenames": False,
        }
    ]


def run_steps(workflow: Path, cwd: Path, env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    """Run a workflow job's `run:` steps in order, as the runner would (bash -e),
    except installing gitreg: this environment has it, and its scripts'
    folder goes first on PATH as it would after the install step."""
    doc = yamlio.load(workflow.read_text(), str(workflow))
    (job,) = doc["jobs"].values()
    results = []
    for step in job["steps"]:
        if "run" not in step or "pip install" in step["run"]:
            continue
        step_env = {**os.environ, **env, **{k: str(v) for k, v in step.get("env", {}).items() if "${{" not in str(v)}}
        step_env["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
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
