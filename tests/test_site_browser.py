"""The site in a real browser: Debian's Chromium, driven by Playwright,
opening the generated site from an HTTP server on 127.0.0.1. Every page is
loaded; nothing may 404, log an error, or reach past 127.0.0.1."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from gitreg import api
from tests.helpers import SITE_AUC, SITE_HOSTILE, site_registry

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = [  # no sandbox as root; no calls home (the machine's network is closed)
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def artifacts() -> Path:
    """Where screenshots go: $GITREG_TEST_ARTIFACTS, else test-artifacts/."""
    folder = Path(os.environ.get("GITREG_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the stdlib's name
        pass


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1, stopped on leaving."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """One per test, started after the test's own HOME is in place (the
    hermetic fixture). Its temporary folder is a short one of its own:
    Chromium's socket path there must fit a Unix socket's 107 bytes."""
    scratch = tempfile.mkdtemp(prefix="gitreg-chromium-", dir="/tmp")
    try:
        with sync_playwright() as playwright:
            env = {**os.environ, "TMPDIR": scratch}
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, env=env)
            yield launched
            launched.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class Watched:
    """A page whose requests, failed responses and console errors are kept."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page: Page = self.context.new_page()
        self.requests: list[str] = []
        self.failures: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("response", lambda r: r.status >= 400 and self.failures.append(f"{r.status} {r.url}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, url


@pytest.fixture
def site(registry: Path, tmp_path: Path) -> Path:
    site_registry(registry, tmp_path / "work")
    out = tmp_path / "site"
    api.build_site(out, registry=registry)
    return out


def test_the_site_in_a_browser(site: Path, registry: Path, browser: Browser) -> None:
    watched = Watched(browser)
    page = watched.page
    with served(site) as base:
        # the overview lists every model, with its holders
        watched.open(base)
        names = page.eval_on_selector_all("#models tbody tr td:first-child a", "links => links.map(a => a.textContent)")
        assert names == [m.name for m in api.list_models(registry=registry)] == ["churn", "fraud", "team/ranker"]
        page.screenshot(path=str(artifacts() / "site-overview.png"), full_page=True)
        page.fill("#filter", "churn")
        visible = page.eval_on_selector_all("#models tbody tr", "rows => rows.filter(r => !r.hidden).length")
        assert visible == 1

        # a model page: one point per version, with the registered values, oldest first
        watched.open(base + "models/fraud/index.html")
        points = page.eval_on_selector_all(
            'svg.chart[data-over="version"][data-metric="auc"] circle.point',
            "cs => cs.map(c => [c.dataset.version, Number(c.dataset.value)])",
        )
        assert points == [[v, auc] for v, auc in SITE_AUC.items()]
        ringed = page.eval_on_selector_all(
            'svg.chart[data-over="version"][data-metric="auc"] text.mark', "ts => ts.map(t => t.textContent)"
        )
        assert ringed == ["production", "staging"]  # 1.0.0 after the rollback, 1.0.1
        # the timeline shows the rollback: 1.0.1 -> 1.0.0, with its reason
        rollback = page.inner_text("#timeline-production + table tr.action-rollback")
        assert "1.0.1 → 1.0.0" in rollback and "auc fell in production" in rollback
        # evaluations over time: the one recorded, on 2026-03-11
        evaluated = page.eval_on_selector_all(
            'svg.chart[data-over="evaluated"][data-metric="auc"] circle.point',
            "cs => cs.map(c => [c.dataset.version, Number(c.dataset.value)])",
        )
        assert evaluated == [["1.0.1", 0.8]]
        # markup in the description shows as text and never runs
        assert SITE_HOSTILE in page.inner_text("main")
        assert page.evaluate("window.__pwned") is None
        page.screenshot(path=str(artifacts() / "site-model.png"), full_page=True)

        # every page, reached by following links from the overview
        seen: set[str] = set()
        queue = [base]
        while queue:
            url = queue.pop()
            if url in seen:
                continue
            seen.add(url)
            watched.open(url)
            for link in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
                target = urldefrag(urljoin(url, link))[0]
                if target.startswith(base) and target not in seen:
                    queue.append(target)
            assert page.evaluate("window.__pwned") is None, url
    pages = {base + str(p.relative_to(site)) for p in site.rglob("*.html")}
    assert {u if not u.endswith("/") else u + "index.html" for u in seen} == pages
    assert not watched.failures, watched.failures
    assert not watched.errors, watched.errors
    assert not watched.dialogs
    assert watched.requests and all(u.startswith(base) for u in watched.requests), {
        u for u in watched.requests if not u.startswith(base)
    }


def test_a_site_at_an_earlier_date_shows_that_dates_holders(registry: Path, tmp_path: Path, browser: Browser) -> None:
    site_registry(registry, tmp_path / "work")
    out = tmp_path / "march"
    api.build_site(out, at="2026-03-11", registry=registry)  # 1.0.1 in production then, before the rollback
    watched = Watched(browser)
    with served(out) as base:
        watched.open(base)
        row = watched.page.inner_text("#models tbody tr:nth-child(2)")
        assert row.split("\t")[0].startswith("fraud")
        holders = watched.page.eval_on_selector_all(
            "#models tbody tr:nth-child(2) a.badge", "links => links.map(a => a.textContent)"
        )
        assert holders == ["1.0.1", "1.0.1"]  # staging, production
        watched.open(base + "models/fraud/index.html")
        assert "rollback" not in watched.page.inner_text("#timeline-production + table")
    assert not watched.errors and not watched.failures
