"""``gitreg site`` without a browser: what each build writes and rewrites,
what it refuses, and the preview server (the browser tests are in
test_site_browser.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gitreg import api
from gitreg.site import build as site_build
from tests.conftest import Cli, free_port, git, wait_for_port
from tests.helpers import site_registry


@pytest.fixture
def filled(registry: Path, tmp_path: Path) -> Path:
    return site_registry(registry, tmp_path / "work")


def stamps(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_a_rebuild_after_one_promotion_rewrites_only_that_models_pages(filled: Path, tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "site"
    first = json.loads(cli("site", "-o", out, "-R", filled, "--json").stdout)
    assert (first["models"], first["versions"], first["unchanged"], first["removed"]) == (3, 6, 0, 0)
    again = json.loads(cli("site", "-o", out, "-R", filled, "--json").stdout)
    assert again["written"] == 0 and again["unchanged"] == first["written"]
    before = stamps(out)
    time.sleep(0.01)
    api.promote("churn", "1.0.1", to="production", registry=filled)
    api.build_site(out, registry=filled)
    after = stamps(out)
    rewritten = {p for p in after if after[p] != before.get(p)}
    churn = {p for p in after if p.startswith("models/churn/")}
    # churn's pages (its versions compare with the new holder); the overview, changes, the model list
    assert rewritten - {".gitreg-site.json"} == churn | {"index.html", "changes.html", "data/models.json"}
    page = (out / "models/churn/index.html").read_text()
    assert re.search(r'<span class="badge s2">production</span></th><td><a href="versions/1.0.1.html">1.0.1', page)


def test_pages_of_removed_versions_and_models_go_and_nothing_else(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    api.build_site(out, registry=filled)
    (out / "notes.txt").write_text("mine")  # something the owner put there
    git(filled, "rm", "-q", "-r", "models/team", "models/fraud/versions/1.0.2.yaml", "models/fraud/versions/1.0.2.dvc")
    git(filled, "commit", "-qm", "remove team/ranker and fraud 1.0.2")
    built = api.build_site(out, registry=filled)
    assert built.removed == 4  # ranker's page, its version page, its data, fraud 1.0.2's page
    assert not (out / "models/team").exists() and not (out / "models/fraud/versions/1.0.2.html").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert "team/ranker" not in (out / "index.html").read_text()


def test_a_site_of_a_past_date_then_of_now_in_the_same_folder(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    api.build_site(out, at="2026-01-31", registry=filled)  # before fraud existed
    assert not (out / "models/fraud").exists()
    assert json.loads((out / "data/models.json").read_text())[0]["holders"] == {"staging": "1.0.1"}
    api.build_site(out, registry=filled)
    assert (out / "models/fraud/versions/1.0.2.html").is_file()


def test_workers_write_the_same_site_as_one_process(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone, pooled = tmp_path / "alone", tmp_path / "pooled"
    api.build_site(alone, jobs=1, registry=filled)
    monkeypatch.setattr(site_build, "_POOL_AT", 0)
    api.build_site(pooled, jobs=2, registry=filled)
    files = sorted(p.relative_to(alone) for p in alone.rglob("*") if p.is_file() and p.name != site_build.STATE)
    assert files == sorted(
        p.relative_to(pooled) for p in pooled.rglob("*") if p.is_file() and p.name != site_build.STATE
    )
    assert all((alone / f).read_bytes() == (pooled / f).read_bytes() for f in files)


def test_text_from_the_registry_is_escaped_everywhere(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    api.build_site(out, registry=filled)
    for page in out.rglob("*.html"):
        text = page.read_text()
        assert "<script>window" not in text, page
        assert len(re.findall(r"<script", text)) == 1, page  # the site's own, from assets/
        assert 'href="javascript' not in text, page
    version = (out / "models/fraud/versions/1.0.1.html").read_text()
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in version
    assert '<a href="https://example.invalid/run/7" rel="nofollow noopener noreferrer">' in version


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--base-url", "javascript:alert(1)"], "invalid --base-url", 2),
        (["--commit-url", "https://github.com/acme/registry/commit/"], "invalid --commit-url", 2),
        (["--serve", "--json"], "--json and --serve cannot be combined", 2),
        (["--at", "2020-01-01"], "has no commits on or before 2020-01-01", 1),  # not found: exit 1
        (["--at", "no-such-rev"], "revision 'no-such-rev' does not exist", 1),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    filled: Path, tmp_path: Path, cli: Cli, args: list[str], message: str, code: int
) -> None:
    out = tmp_path / "site"
    result = cli("site", "-o", out, "-R", filled, *args, code=code)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not out.exists()


def test_a_folder_that_is_not_a_site_is_never_written(filled: Path, tmp_path: Path, cli: Cli) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("my own page")
    result = cli("site", "-o", mine, "-R", filled, code=2)
    assert "is not empty and holds no site gitreg built" in result.stderr
    assert [p.name for p in mine.iterdir()] == ["index.html"] and (mine / "index.html").read_text() == "my own page"
    assert "holds the registry itself" in cli("site", "-o", filled, "-R", filled, code=2).stderr
    assert "holds the registry itself" in cli("site", "-o", filled / ".git" / "x", "-R", filled, code=2).stderr
    (tmp_path / "file").write_text("x")
    assert "is a file" in cli("site", "-o", tmp_path / "file", "-R", filled, code=2).stderr


def test_a_damaged_record_means_a_full_build_not_a_failure(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = api.build_site(out, registry=filled)
    (out / site_build.STATE).write_text("{not json")
    again = api.build_site(out, registry=filled)
    assert again.written + again.unchanged == first.written
    assert again.unchanged == 6  # only what is compared before writing: assets, overview, changes, model list


def test_commit_links_follow_the_origin_remote_or_the_template(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    git(filled, "remote", "add", "origin", "git@github.com:acme/registry.git")
    api.build_site(out, registry=filled)
    model = (out / "models/fraud/index.html").read_text()
    assert re.search(r'href="https://github.com/acme/registry/commit/[0-9a-f]{40}"', model)
    version = (out / "models/fraud/versions/1.0.0.html").read_text()
    assert "gitreg pull fraud@1.0.0 -R git@github.com:acme/registry.git -o fraud-1.0.0.bin" in version
    api.build_site(out, commit_url="https://git.example.com/r/{commit}", registry=filled)
    assert 'href="https://git.example.com/r/' in (out / "models/fraud/index.html").read_text()


def test_no_page_is_large_and_every_local_link_resolves(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    api.build_site(out, registry=filled)
    for page in out.rglob("*.html"):
        text = page.read_text()
        assert len(text.encode()) < 1024 * 1024
        for link in re.findall(r'(?:href|src)="([^"#]+)', text):
            if re.match(r"[a-z]+:", link):
                continue
            assert (page.parent / link).resolve().is_file(), (page, link)


def test_serve_builds_serves_on_loopback_and_rebuilds_when_the_registry_moves(filled: Path, tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "site"
    command = [
        sys.executable,
        "-m",
        "gitreg.cli",
        "site",
        "--serve",
        "--port",
        str(port),
        "-o",
        str(out),
        "-R",
        str(filled),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        wait_for_port(port, 60)
        base = f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(base) as reply:  # a loopback URL of this test's
            assert "fraud" in reply.read().decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "models/")  # noqa: S310  # no folder listings
        refused.value.close()
        api.promote("fraud", "1.0.2", to="staging", registry=filled)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with urllib.request.urlopen(base + "data/models.json") as reply:  # noqa: S310
                rows = {r["name"]: r for r in json.loads(reply.read())}
            if rows["fraud"]["holders"].get("staging") == "1.0.2":
                break
            time.sleep(0.2)
        assert rows["fraud"]["holders"]["staging"] == "1.0.2"
    finally:
        server.terminate()
        said, _ = server.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in said


def test_a_site_inside_the_registry_checkout_stays_out_of_its_commits(filled: Path, cli: Cli) -> None:
    cli("site", "-R", filled, "-o", filled / "site")
    assert (filled / "site" / "index.html").is_file()
    assert git(filled, "status", "--porcelain") == ""


def test_no_page_passes_1_mib_however_large_the_manifests(registry: Path, tmp_path: Path, artifact: Path) -> None:
    """A manifest may be 1 MiB; what it holds is shown cut to size, never whole twice over."""
    params = {f"p{i:04d}": "v" * 300 for i in range(2200)}
    labels = {f"l{i:03d}": "w" * 300 for i in range(150)}
    metrics = {f"m{i:04d}": i / 10 for i in range(600)}
    for _ in range(2):
        api.register("big", artifact, params=params, labels=labels, metrics=metrics, registry=registry)
    api.promote("big", "1.0.0", to="staging", reason="r" * 5000, registry=registry)
    out = tmp_path / "site"
    api.build_site(out, registry=registry)
    sizes = {str(p.relative_to(out)): p.stat().st_size for p in out.rglob("*.html")}
    assert max(sizes.values()) < 1024 * 1024, sizes
    page = (out / "models/big/versions/1.0.1.html").read_text()
    assert "The first 500 of 2,200; the manifest has them all." in page
    assert "The first 500 of 600 metrics." in page


def test_a_git_revert_shows_as_its_authors_with_its_subject(filled: Path, tmp_path: Path) -> None:
    git(filled, "revert", "--no-edit", "HEAD")  # the rollback of fraud's production: 1.0.1 holds it again
    out = tmp_path / "site"
    api.build_site(out, registry=filled)
    timeline = json.loads((out / "models/fraud/data.json").read_text())["timeline"]
    newest = next(t for t in timeline if t["stage"] == "production")
    assert (newest["before"], newest["after"], newest["action"]) == ("1.0.0", "1.0.1", "manual")
    assert newest["reason"].startswith('Revert "') and newest["by"] == git(filled, "log", "-1", "--format=%an <%ae>")


def test_a_damaged_model_entry_in_the_record_means_that_model_is_built_again(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    api.build_site(out, registry=filled)
    record = json.loads((out / site_build.STATE).read_text())
    record["models"]["churn"]["row"] = {"name": "churn"}  # a row that does not read
    (out / site_build.STATE).write_text(json.dumps(record))
    again = api.build_site(out, registry=filled)
    assert (
        again.written > 0
        and json.loads((out / site_build.STATE).read_text())["models"]["churn"]["row"]["versions"] == 2
    )


def test_a_record_edited_to_name_files_outside_the_site_never_removes_them(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    api.build_site(out, registry=filled)
    outside = tmp_path / "keep.txt"
    outside.write_text("not the site's")
    (out / "link").symlink_to(outside)
    record = json.loads((out / site_build.STATE).read_text())
    record["shared"] += ["../keep.txt", str(outside), "link"]
    (out / site_build.STATE).write_text(json.dumps(record))
    api.build_site(out, registry=filled)
    assert outside.read_text() == "not the site's"
