"""CI files that `gitreg init --ci github` writes into a registry repo.

Written to GitHub's guidance for required checks: the check runs on
`pull_request` and `merge_group` (never `pull_request_target`, so no PR code
runs with secrets), with no path filters or `if:` that could skip the
required job; it checks out the PR merged into its base, so
`gitreg check --base origin/<base> -R .` reads the gates from the base and
judges this repository, whatever a `gitreg.toml` in the PR says. Third-party
actions are pinned by commit.

gitreg itself is installed only from a source the registry's owners pin: by
default a wheel of the gitreg that ran `init`, committed beside the workflows
(`.github/gitreg/`), so a change of version is a reviewed commit; or a spec
given with `--ci-install` that pins a commit or a hash. Never a bare name
from a package index: `gitreg` there belongs to an unrelated project.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gitreg.ci import wheel
from gitreg.errors import UsageError

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065  # v5.6.0"
UPLOAD_PAGES = "actions/upload-pages-artifact@56afc609e74202658d3ffba0e8f6dda462b719fa  # v3.0.1"
DEPLOY_PAGES = "actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e  # v4.0.5"

CHECK_WORKFLOW = ".github/workflows/gitreg-check.yml"
TAGS_WORKFLOW = ".github/workflows/gitreg-tags.yml"
SITE_WORKFLOW = ".github/workflows/gitreg-site.yml"
CODEOWNERS = ".github/CODEOWNERS"
WHEEL_DIR = ".github/gitreg"
DEFAULT_OWNERS = "@your-org/ml-approvers"
TAG_TOKEN_SECRET = "GITREG_TAG_TOKEN"  # noqa: S105  # the name of a secret the owners set, not a secret

# what a pinned source looks like: a commit of a git repository, a file with its hash, a path in this repo
_PINNED = (
    re.compile(r"^(?:gitreg\s*@\s*)?git\+https://[^\s@]+@[0-9a-f]{40}(?:#.*)?$"),
    re.compile(r"^(?:gitreg\s*@\s*)?https://\S+\.whl#sha256=[0-9a-f]{64}$"),
    re.compile(r"^\./[A-Za-z0-9._/-]+\.whl$"),
)


def default_install() -> str:
    """The committed wheel, by its path in the registry repo."""
    return f"./{WHEEL_DIR}/{wheel.filename()}"


def check_install(spec: str) -> str:
    """Refuse a spec that does not pin what it installs."""
    if not any(p.match(spec) for p in _PINNED):
        raise UsageError(
            f"--ci-install {spec!r} does not pin gitreg: give git+https://HOST/REPO@<40-hex commit>, "
            "https://…/gitreg-….whl#sha256=<64-hex>, or ./path/in/the/repo.whl (a name on a package index is "
            "never pinned, and 'gitreg' there belongs to an unrelated project)"
        )
    return spec


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
  merge_group:

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
          BASE_REF: ${{{{ github.base_ref || github.event.merge_group.base_ref }}}}
        run: |
          base="origin/${{BASE_REF#refs/heads/}}"
          gitreg check --base "$base" -R . --format markdown >> "$GITHUB_STEP_SUMMARY" || true
          gitreg check --base "$base" -R . --format github
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
        # Tags pushed with the workflow's own GITHUB_TOKEN start no other workflow: set the secret
        # {TAG_TOKEN_SECRET} (a GitHub App installation token or a fine-grained token with
        # contents: write) so that deploy workflows triggered by these tags run.
        env:
          GITHUB_TOKEN: ${{{{ secrets.{TAG_TOKEN_SECRET} || github.token }}}}
        run: |
          auth="$(printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 -w0)"
          git -c "http.https://github.com/.extraheader=AUTHORIZATION: basic $auth" push origin --tags
"""


def site_workflow(branch: str, install: str) -> str:
    return f"""# gitreg: the registry as a static web site (`gitreg site`), built after
# each push to the registry branch and published on GitHub Pages. In the
# repository's Settings > Pages, set the source to "GitHub Actions". The
# build job reads the repository only; the deploy job alone may write Pages.
name: gitreg site

on:
  push:
    branches: [{branch}]
  workflow_dispatch:

permissions: {{}}

concurrency:
  group: gitreg-site
  cancel-in-progress: true

jobs:
  build:
    name: gitreg site
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
{_setup_steps(install, "Check out the registry branch, with history")}\
      - name: Build the site
        run: gitreg site -R . -o _site
      - name: Hand the site to Pages
        uses: {UPLOAD_PAGES}
        with:
          path: _site
  deploy:
    name: publish on GitHub Pages
    needs: build
    runs-on: ubuntu-latest
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - name: Deploy
        id: deployment
        uses: {DEPLOY_PAGES}
"""


_OWNER = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?|[^@\s]+@[^@\s]+\.[^@\s]+")


def check_owners(owners: str, what: str = "--ci-owners") -> str:
    """CODEOWNERS owners: @user, @org/team or an email, separated by spaces."""
    words = owners.split(" ")
    if not owners.strip() or not all(_OWNER.fullmatch(w) for w in words if w):
        raise UsageError(f"invalid {what} {owners!r}: give @user, @org/team or email addresses separated by spaces")
    return " ".join(w for w in words if w)


def codeowners(models_dir: str, owners: str, namespace_owners: Mapping[str, str] | None = None) -> str:
    """CODEOWNERS: ``owners`` for every file, then the owners of each
    namespace for its models (the last matching line wins, so a namespace's
    team approves its promotions)."""
    namespaced = "".join(f"/{models_dir}/{space}/ {team}\n" for space, team in sorted((namespace_owners or {}).items()))
    if namespaced:
        namespaced = "# Each namespace's models (models/NAMESPACE/NAME/) are its own team's to approve.\n" + namespaced
    return _codeowners(models_dir, owners) + namespaced


def _codeowners(models_dir: str, owners: str) -> str:
    return f"""# gitreg: who must approve changes to the registry.
# Replace {DEFAULT_OWNERS} with your approvers, then in the branch protection
# of the registry branch turn on "Require review from Code Owners" and make
# "gitreg check" a required status check. The first line covers every file,
# the scripts that event subscriptions run included; the others name what
# steers the registry, for reviewers (`gitreg check` lists such changes as
# "needs owners' review").
* {owners}
/{models_dir}/*/versions/ {owners}
/{models_dir}/*/stages/ {owners}
/{models_dir}/*/model.yaml {owners}
/{models_dir}/*/*/versions/ {owners}
/{models_dir}/*/*/stages/ {owners}
/{models_dir}/*/*/model.yaml {owners}
/.gitreg/ {owners}
/.github/ {owners}
/.dvc/ {owners}
/.dvcignore {owners}
gitreg.toml {owners}
.gitattributes {owners}
/.gitmodules {owners}
/.pre-commit-config.yaml {owners}
"""


def files(
    models_dir: str,
    branch: str,
    owners: str = DEFAULT_OWNERS,
    install: str | None = None,
    namespace_owners: Mapping[str, str] | None = None,
) -> dict[str, bytes]:
    """{path: content}: the workflows, CODEOWNERS and (by default) the wheel they install."""
    spec = check_install(install) if install else default_install()
    written = {
        CHECK_WORKFLOW: check_workflow(spec).encode(),
        TAGS_WORKFLOW: tags_workflow(branch, spec).encode(),
        SITE_WORKFLOW: site_workflow(branch, spec).encode(),
        CODEOWNERS: codeowners(models_dir, owners, namespace_owners).encode(),
    }
    if install is None:
        written[f"{WHEEL_DIR}/{wheel.filename()}"] = wheel.build()
    return written
