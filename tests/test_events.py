"""Structured events: one JSON event per operation to --log-json / GITREG_LOG,
and the registry's subscriptions (a webhook served on 127.0.0.1 by the test,
a command) for the operations that write."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitreg import api
from tests.conftest import Cli, Setup, git


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.headers["Content-Type"] == "application/json"
        self.received.append(json.loads(body))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]], type[Receiver]]]:
    received: list[dict[str, Any]] = []
    handler = type("Handler", (Receiver,), {"received": received, "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received, handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _two_production_holders(folder: Path, artifact: Path) -> None:
    registry = folder / "registry"
    api.init(registry)
    for auc in (0.90, 0.95):
        api.register("fraud", artifact, metrics={"auc": auc}, registry=registry)
    for version in ("1.0.0", "1.0.1"):
        api.promote("fraud", version, to="staging", registry=registry)
        api.promote("fraud", version, to="production", registry=registry)


@pytest.fixture
def reg(build_registry: Callable[[Setup], Path]) -> Path:
    """fraud 1.0.0 then 1.0.1 in staging and production."""
    return build_registry(_two_production_holders)


def subscribe(registry: Path, text: str) -> None:
    config = registry / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + "events:\n" + text)
    git(registry, "commit", "-qam", "subscriptions")


def events_in(stderr: str) -> list[dict[str, Any]]:
    """The events in ``stderr`` (start events checked and left out)."""
    found = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    starts = [e for e in found if e.get("status") == "start"]
    ends = [e for e in found if e.get("status") in ("complete", "error")]
    assert [s["operation"] for s in starts] == [e["operation"] for e in ends]  # one start per operation, first
    return [e for e in found if e.get("status") != "start"]


def test_log_json_emits_one_event_per_operation(reg: Path, cli: Cli) -> None:
    result = cli("--log-json", "rollback", "fraud", "--reason", "bad latency", "-R", reg)
    start = json.loads(result.stderr.splitlines()[0])
    assert start["event"] == "gitreg.rollback.start" and start["registry"] == str(reg)
    assert (start["model"], start["stage"]) == ("fraud", "production") and "duration_ms" not in start
    (event,) = events_in(result.stderr)
    assert event["event"] == "gitreg.rollback.complete" and event["exit_code"] == 0
    assert (event["model"], event["stage"], event["version"], event["from"]) == (
        "fraud",
        "production",
        "1.0.0",
        "1.0.1",
    )
    assert event["reason"] == "bad latency" and event["commit"] == git(reg, "rev-parse", "HEAD")
    assert event["tags"] and event["registry"] == str(reg) and isinstance(event["duration_ms"], int)
    failed = cli("--log-json", "promote", "fraud", "9.9.9", "--to", "staging", "-R", reg, code=1)
    (event,) = events_in(failed.stderr)
    assert event["event"] == "gitreg.promote.error" and event["exit_code"] == 1
    assert event["error"] == "fraud 9.9.9 is not registered" and event["error_type"] == "NotFoundError"
    assert (event["model"], event["version"], event["stage"]) == ("fraud", "9.9.9", "staging")
    (event,) = events_in(cli("--log-json", "list", "-R", reg).stderr)
    assert event["event"] == "gitreg.list.complete"
    assert events_in(cli("list", "-R", reg).stderr) == []


def test_gitreg_log_appends_events_from_the_cli_and_the_python_api(
    reg: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifact: Path
) -> None:
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv("GITREG_LOG", str(log))
    cli("model", "set", "fraud", "--gate", "production:min_auc=0.99", "-R", reg)
    api.register("fraud", artifact, metrics={"auc": 0.97}, registry=reg)
    with pytest.raises(Exception, match="min_auc"):
        api.promote("fraud", "1.0.2", to="production", registry=reg)
    kinds = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert kinds == [
        "gitreg.model.set.start",
        "gitreg.model.set.complete",
        "gitreg.register.start",
        "gitreg.register.complete",
        "gitreg.promote.start",
        "gitreg.promote.error",
    ]
    registered = json.loads(log.read_text().splitlines()[3])
    assert (registered["model"], registered["version"], registered["action"]) == ("fraud", "1.0.2", "register")


def test_a_webhook_receives_rollback_events(reg: Path, cli: Cli, webhook: tuple[str, list[Any], Any]) -> None:
    url, received, _ = webhook
    subscribe(reg, f"- on: gitreg.rollback.complete\n  webhook: {url}\n")
    cli("promote", "fraud", "1.0.0", "--to", "production", "-R", reg)  # not subscribed
    cli("list", "-R", reg)
    assert received == []
    result = cli("--log-json", "rollback", "fraud", "-R", reg)
    (event,) = received
    assert event["event"] == "gitreg.rollback.complete" and event["version"] == "1.0.1"
    assert events_in(result.stderr)[0]["delivery"] == [{"to": url.removesuffix("/hook") + "/…", "ok": True}]
    # monitor's automatic rollback is a rollback too
    cli("monitor", "fraud", "--metric", "auc=0.5", "-R", reg, code=4)
    assert received[-1]["event"] == "gitreg.monitor.complete" and received[-1]["action"] == "rollback"
    assert received[-1]["exit_code"] == 4


def test_a_failed_delivery_never_fails_the_operation(
    reg: Path, cli: Cli, webhook: tuple[str, list[Any], Any], tmp_path: Path
) -> None:
    url, received, handler = webhook
    handler.status = 500
    subscribe(
        reg,
        f"- on: 'gitreg.*.complete'\n  webhook: {url}\n- on: 'gitreg.*.complete'\n  webhook: http://127.0.0.1:9/closed\n",
    )
    result = cli("--log-json", "rollback", "fraud", "-R", reg)
    assert "Done: commit" in result.stdout
    host = url[: url.index("/", 8)]
    assert f"not delivered to {host}/…: HTTP 500" in result.stderr  # the path is often the credential: not shown
    assert "not delivered to http://127.0.0.1:9/…: ConnectionRefusedError" in result.stderr
    delivery = events_in(result.stderr)[0]["delivery"]
    assert [d["ok"] for d in delivery] == [False, False] and len(received) == 1
    assert api.list_models(registry=reg)[0].stages["production"] == "1.0.0"


def test_a_command_hook_gets_the_event_on_stdin_and_reads_never_trigger(reg: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "hook.json"
    script = f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read() + '\\n')"
    subscribe(
        reg,
        f"- on: 'gitreg.promote.*'\n  command: [{sys.executable}, -c, {json.dumps(script)}]\n"
        f"- on: gitreg.promote.error\n  command: [{sys.executable}, -c, 'import sys; sys.exit(3)']\n",
    )
    for args in (["list"], ["show", "fraud@production"], ["check"], ["history", "fraud"]):
        cli(*args, "-R", reg)
    assert not out.exists()
    cli("promote", "fraud", "1.0.0", "--to", "production", "-R", reg)
    result = cli("promote", "fraud", "9.9.9", "--to", "production", "-R", reg, code=1)
    assert "not delivered to" in result.stderr and "exit 3" in result.stderr
    kinds = [json.loads(line)["event"] for line in out.read_text().splitlines()]
    assert kinds == ["gitreg.promote.start", "gitreg.promote.complete", "gitreg.promote.start", "gitreg.promote.error"]


def test_no_hooks_switch_and_a_bad_subscription(
    reg: Path, cli: Cli, webhook: tuple[str, list[Any], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received, _ = webhook
    subscribe(reg, f"- on: 'gitreg.*'\n  webhook: {url}\n")
    monkeypatch.setenv("GITREG_NO_HOOKS", "1")
    cli("rollback", "fraud", "-R", reg)
    assert received == []
    config = reg / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + "- on: 'gitreg.*'\n  webhook: ftp://x\n")
    git(reg, "commit", "-qam", "bad")
    assert "/events/1" in cli("list", "-R", reg, code=1).stderr


def test_a_webhook_url_is_never_printed_or_logged(
    reg: Path, cli: Cli, webhook: tuple[str, list[Any], Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(SECURITY.md class 9) A webhook's path and query are often its credential."""
    url, _, handler = webhook
    handler.status = 500
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv("GITREG_LOG", str(log))
    subscribe(reg, f"- on: 'gitreg.*'\n  webhook: {url}/T0/B0/s3cr3t?token=s3cr3t\n")
    result = cli("--log-json", "rollback", "fraud", "-R", reg)
    assert "not delivered to http://127.0.0.1:" in result.stderr
    assert "s3cr3t" not in result.output and "s3cr3t" not in log.read_text()


def test_measurements_and_automatic_rollbacks_are_events_of_their_own(
    reg: Path, cli: Cli, webhook: tuple[str, list[Any], Any]
) -> None:
    url, received, _ = webhook
    subscribe(reg, f"- on: gitreg.performance_update\n  webhook: {url}\n- on: gitreg.auto_rollback\n  webhook: {url}\n")
    cli("evaluate", "fraud", "1.0.0", "--metric", "auc=0.91", "--environment", "shadow", "-R", reg)
    (update,) = received
    assert update["event"] == "gitreg.performance_update" and update["operation"] == "evaluate"
    assert (update["model"], update["version"], update["environment"]) == ("fraud", "1.0.0", "shadow")
    assert update["metrics"] == {"auc": 0.91} and update["commit"] == git(reg, "rev-parse", "HEAD")
    cli("monitor", "fraud", "--metric", "auc=0.94", "-R", reg)
    assert (received[-1]["outcome"], received[-1]["stage"], received[-1]["version"]) == (
        "healthy",
        "production",
        "1.0.1",
    )
    # a dry run records nothing and signals nothing
    before = len(received)
    cli("monitor", "fraud", "--metric", "auc=0.1", "--dry-run", "-R", reg, code=4)
    assert len(received) == before
    result = cli("--log-json", "monitor", "fraud", "--metric", "auc=0.5", "-R", reg, code=4)
    update, rolled = received[-2:]
    assert update["event"] == "gitreg.performance_update" and update["outcome"] == "rolled-back"
    assert update["drop"]["auc"] > 0.4
    assert rolled["event"] == "gitreg.auto_rollback" and (rolled["from"], rolled["to"]) == ("1.0.1", "1.0.0")
    assert "auc 0.5 is" in rolled["reason"] and "auc=0.5 (registered 0.95)" in rolled["evidence"]
    assert rolled["commit"] == git(reg, "rev-parse", "HEAD")
    kinds = [json.loads(line)["event"] for line in result.stderr.splitlines() if line.startswith("{")]
    assert kinds == [
        "gitreg.monitor.start",
        "gitreg.performance_update",
        "gitreg.auto_rollback",
        "gitreg.monitor.complete",
    ]
