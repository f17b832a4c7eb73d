"""CI files that `gitreg init --ci github` writes into a registry repo.

Written to GitHub's guidance for required checks: the check runs on
`pull_request` (never `pull_request_target`, so no PR code runs with secrets),
with no path filters or `if:` that could skip the required job; it checks out
the PR merged into its base, so `gitreg check --base origin/<base>` reads the
gates from the base. Third-party actions are pinned by commit.
"""

from __future__ import annotations

from gitreg import __version__

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065  # v5.6.0"

CHECK_WORKFLOW = ".github/workflows/gitreg-check.yml"
TAGS_WORKFLOW = ".github/workflows/gitreg-tags.yml"
CODEOWNERS = ".github/CODEOWNERS"
DEFAULT_OWNERS = "@your-org/ml-approvers"


def default_install() -> str:
    return f"gitreg=={__version__}"


def _setup_steps(install: str, checkout_name: str) -> str:
    """Check out with full history and no stored credentials, then install gitreg."""
    return f"""      - name: {checkout_name}
        uses: {CHECKOUT}
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: {SETUP_PYTHON}
        with:
          python-version: "3.12"
      - name: Install gitreg
        env:
          GITREG_INSTALL: {install}
        run: python -m pip install "$GITREG_INSTALL"
"""


def check_workflow(install: str) -> str:
    return f"""# gitreg: the registry's rules as a required status check on every pull request.
# Make the "gitreg check" job a required check in the branch protection of the
# registry branch. Do not add path filters or `if:` conditions: a required check
# that is skipped does not protect anything.
name: gitreg check

on:
  pull_request:

permissions:
  contents: read

jobs:
  check:
    name: gitreg check
    runs-on: ubuntu-latest
    steps:
{_setup_steps(install, "Check out the pull request merged into its base, with history")}\
      - name: Check the change against the base branch (gates are read from the base)
        env:
          BASE_REF: ${{{{ github.base_ref }}}}
        run: |
          gitreg check --base "origin/$BASE_REF" --format markdown >> "$GITHUB_STEP_SUMMARY" || true
          gitreg check --base "origin/$BASE_REF" --format github
"""


def tags_workflow(branch: str, install: str) -> str:
    return f"""# gitreg: tags cannot travel with a pull request, so after each merge this
# creates the GTO-format tags that the registry files imply (idempotent; it
# never moves or deletes a tag) and pushes them.
name: gitreg tags

on:
  push:
    branches: [{branch}]

permissions: {{}}

concurrency:
  group: gitreg-tags
  cancel-in-progress: false

jobs:
  sync:
    name: gitreg tags sync
    runs-on: ubuntu-latest
    permissions:
      contents: write
    steps:
{_setup_steps(install, "Check out the registry branch, with history")}\
      - name: Create the missing tags
        env:
          GIT_AUTHOR_NAME: github-actions[bot]
          GIT_AUTHOR_EMAIL: 41898282+github-actions[bot]@users.noreply.github.com
          GIT_COMMITTER_NAME: github-actions[bot]
          GIT_COMMITTER_EMAIL: 41898282+github-actions[bot]@users.noreply.github.com
        run: gitreg tags sync
      - name: Push them
        env:
          GITHUB_TOKEN: ${{{{ github.token }}}}
        run: |
          auth="$(printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 -w0)"
          git -c "http.https://github.com/.extraheader=AUTHORIZATION: basic $auth" push origin --tags
"""


def codeowners(models_dir: str, owners: str) -> str:
    return f"""# gitreg: who must approve changes to the registry.
# Replace {DEFAULT_OWNERS} with your approvers, then in the branch protection
# of the registry branch turn on "Require review from Code Owners" and make
# "gitreg check" a required status check.
/{models_dir}/*/stages/production.yaml {owners}
/{models_dir}/*/model.yaml {owners}
/.gitreg/ {owners}
/.github/ {owners}
"""


def files(models_dir: str, branch: str, owners: str = DEFAULT_OWNERS, install: str | None = None) -> dict[str, str]:
    spec = install or default_install()
    return {
        CHECK_WORKFLOW: check_workflow(spec),
        TAGS_WORKFLOW: tags_workflow(branch, spec),
        CODEOWNERS: codeowners(models_dir, owners),
    }
