"""Structured events: every operation emits ``gitreg.<operation>.start``
when it has opened its registry (or just before its end, if it ends
before opening one), then ``gitreg.<operation>.complete`` or
``gitreg.<operation>.error``. A commit can signal more: ``evaluate`` and
``monitor`` a ``gitreg.performance_update`` (the measurement), ``monitor``
a ``gitreg.auto_rollback`` when it gave the stage back (``Change.events``).

Where they go:
- ``GITREG_LOG=PATH`` appends one JSON line per event to PATH (``-`` or
  ``stderr``: standard error); the CLI's ``--log-json`` writes to standard
  error as well;
- the registry's ``events`` subscriptions (``.gitreg/config.yaml``, read at
  the registry branch's tip) get the events of operations that wrote to the
  registry: a webhook receives a JSON POST, a command the event on standard
  input. Read-only commands never trigger them, so checking an untrusted
  pull request runs nothing from its configuration. ``GITREG_NO_HOOKS=1``
  turns subscriptions off.

Delivering is best effort: a failure is reported on standard error and in
the event log, and never changes the operation's outcome or exit status.
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from gitreg.core.snapshot import Snapshot, timestamp
from gitreg.errors import exit_code_for

if TYPE_CHECKING:
    from gitreg.documents.manifest import Hook


class Registry(Protocol):
    """What events need of a registry (``core.registry.Registry`` is one):
    how to name it, and its configuration at the branch tip (the hooks).
    A protocol, so this module imports no registry: the registry tells it
    what it committed."""

    cache: Any  # None for a checkout; hook commands run in its folder then

    @property
    def name(self) -> str: ...

    @property
    def root(self) -> Path: ...

    def snapshot(self) -> Snapshot: ...


F = TypeVar("F", bound=Callable[..., Any])
# operations that write to the registry: their events go to its subscriptions
WRITES = frozenset(
    {
        "init",
        "register",
        "promote",
        "demote",
        "unassign",
        "rollback",
        "archive",
        "deprecate",
        "evaluate",
        "annotate",
        "approve",
        "sign",
        "monitor",
        "deploy",
        "gc",
        "import",
        "model.set",
        "tags.sync",
    }
)
# arguments worth carrying in an event, by their API/CLI names
FIELDS = {"model": "model", "name": "model", "version": "version", "stage": "stage", "to": "stage", "ref": "ref"}
WEBHOOK_TIMEOUT = 10.0
COMMAND_TIMEOUT = 60.0
_TRAILERS = {
    "Gitreg-Action": "action",
    "Gitreg-Model": "model",
    "Gitreg-Version": "version",
    "Gitreg-Stage": "stage",
    "Gitreg-From": "from",
    "Gitreg-Reason": "reason",
}


@dataclass
class _Operation:
    name: str
    started: float
    fields: dict[str, Any] = field(default_factory=dict)
    registry: Registry | None = None  # the registry it works on, once opened
    announced: bool = False  # its start event was emitted


_current: contextvars.ContextVar[_Operation | None] = contextvars.ContextVar("gitreg_operation", default=None)
_to_stderr: contextvars.ContextVar[bool] = contextvars.ContextVar("gitreg_log_stderr", default=False)


def log_to_stderr(enabled: bool = True) -> None:
    """The CLI's ``--log-json``: events also go to standard error."""
    _to_stderr.set(enabled)


def note(**fields: Any) -> None:
    """Add what the running operation learnt (model, version, ...) to its event."""
    current = _current.get()
    if current is not None:
        current.fields.update({k: v for k, v in fields.items() if v is not None})


def arguments(values: dict[str, Any]) -> None:
    """Note the operation's identifying arguments (model, version, stage, ref)."""
    note(**{FIELDS[k]: v for k, v in values.items() if k in FIELDS and isinstance(v, str) and v})


def opened(registry: Registry) -> None:
    """The running operation works on ``registry``: its start event goes out."""
    current = _current.get()
    if current is not None and current.registry is None:
        current.registry = registry
        _start(current)


def committed(
    registry: Registry,
    commit: str,
    trailers: dict[str, str],
    tag_names: tuple[str, ...],
    signals: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> None:
    """Called by ``Registry.apply`` for each commit it lands; ``signals``
    are the commit's own events (kind without ``gitreg.``, fields)."""
    current = _current.get()
    if current is None:
        return
    current.registry = registry
    _start(current)
    current.fields.update({_TRAILERS[k]: v for k, v in trailers.items() if k in _TRAILERS})
    current.fields["commit"] = commit
    if tag_names:
        current.fields["tags"] = list(tag_names)
    for kind, fields in signals:
        event = {"event": f"gitreg.{kind}", "at": timestamp(time.time()), "operation": current.name}
        event |= {"registry": registry.name, "commit": commit} | dict(fields)
        _send(current, event, "")


@contextlib.contextmanager
def operation(name: str, **fields: Any) -> Iterator[None]:
    """Run an operation that emits one event when it ends. Nested operations
    (the CLI calling the Python API) add to the outer one's event."""
    if _current.get() is not None:
        note(**fields)
        yield
        return
    current = _Operation(name, time.monotonic(), {k: v for k, v in fields.items() if v is not None})
    token = _current.set(current)
    try:
        yield
    except BaseException as exc:
        _start(current)
        from click.exceptions import Exit

        code = exit_code_for(exc)
        if isinstance(exc, Exit):  # a command that finished with a meaningful status (monitor)
            _emit(current, "complete", {"exit_code": code})
        else:
            detail = {"exit_code": code, "error": str(exc) or type(exc).__name__, "error_type": type(exc).__name__}
            _emit(current, "error", detail)
        raise
    else:
        _start(current)
        _emit(current, "complete", {"exit_code": 0})
    finally:
        _current.reset(token)


def emits(name: str) -> Callable[[F], F]:
    """Decorate a Python API function: one event per call (see ``operation``)."""

    def wrap(func: F) -> F:
        import functools
        import inspect

        signature = inspect.signature(func)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with operation(name):
                arguments(dict(signature.bind_partial(*args, **kwargs).arguments))
                return func(*args, **kwargs)

        return cast(F, run)

    return wrap


def _start(current: _Operation) -> None:
    if not current.announced:
        current.announced = True
        _emit(current, "start", {})


def _emit(current: _Operation, status: str, outcome: dict[str, Any]) -> None:
    kind = f"gitreg.{current.name}.{status}"
    event: dict[str, Any] = {"event": kind, "at": timestamp(time.time())}
    event |= {"operation": current.name, "status": status} | current.fields
    event |= {k: v for k, v in outcome.items() if k not in current.fields}
    if status != "start":
        event["duration_ms"] = round((time.monotonic() - current.started) * 1000)
    if current.registry is not None:
        event.setdefault("registry", current.registry.name)
    _send(current, event, status)


def _send(current: _Operation, event: dict[str, Any], status: str) -> None:
    """Log ``event`` and deliver it to the subscriptions of a registry the
    operation writes to."""
    if current.registry is not None and current.name in WRITES:
        event["delivery"] = _deliver(current.registry, event, status)
    _log(event)


def _log(event: dict[str, Any]) -> None:
    target = os.environ.get("GITREG_LOG")
    if not (target or _to_stderr.get()):
        return
    line = json.dumps(event, ensure_ascii=False, default=str)
    if _to_stderr.get() or target in ("-", "stderr"):
        print(line, file=sys.stderr, flush=True)
    if target and target not in ("-", "stderr"):
        try:
            with open(target, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            _warn(f"cannot write the event log {target}: {exc.strerror}")


def _warn(message: str) -> None:
    """Through ``logging`` (the ``gitreg`` logger): the CLI shows it on
    standard error; a program using the API decides for itself."""
    logging.getLogger("gitreg").warning(message)


def _matches(hook: Hook, event: dict[str, Any], status: str) -> bool:
    kinds = {event["event"]}
    action = event.get("action")
    if action and status:  # e.g. monitor that rolled back also matches gitreg.rollback.complete
        kinds.add(f"gitreg.{action}.{status}")
    return any(fnmatch.fnmatchcase(kind, hook.on) for kind in kinds)


def _deliver(registry: Registry, event: dict[str, Any], status: str) -> list[dict[str, Any]]:
    """Send the event to the registry's matching subscriptions; one report
    per subscription (``ok`` and, when it failed, why)."""
    if os.environ.get("GITREG_NO_HOOKS"):
        return []
    try:
        hooks = registry.snapshot().config.hooks
    except Exception as exc:  # a registry that cannot be read now must not fail the operation
        _warn(f"event {event['event']} not delivered: cannot read the registry's configuration: {exc}")
        return []
    reports = []
    body = json.dumps({k: v for k, v in event.items() if k != "delivery"}, ensure_ascii=False, default=str)
    for hook in hooks:
        if not _matches(hook, event, status):
            continue
        target = _shown_webhook(hook.webhook) if hook.webhook else " ".join(hook.command)
        problem = _post(hook.webhook, body) if hook.webhook else _run(hook.command, body, registry)
        reports.append({"to": target, "ok": problem is None} | ({"error": problem} if problem else {}))
        if problem:
            _warn(f"event {event['event']} not delivered to {target}: {problem}")
    return reports


def _shown_webhook(url: str) -> str:
    """A webhook as reports and warnings name it: scheme and host only (its
    path and query often are the credential: Slack, Teams, tokens)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}/…" if parts.scheme else "…"


def _post(url: str, body: str) -> str | None:
    if not url.startswith(("http://", "https://")):
        return "only http and https webhooks are supported"
    import urllib.error  # only when a webhook is configured: costs tens of ms to import
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=body.encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{type(reason).__name__}: {reason}"
    return None


def _run(command: tuple[str, ...], body: str, registry: Registry) -> str | None:
    import subprocess

    cwd = registry.root if registry.cache is None else None
    try:
        # a program and its arguments from the registry's reviewed config; no shell
        done = subprocess.run(
            list(command), input=body, text=True, capture_output=True, cwd=cwd, timeout=COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        return f"command {command[0]!r} not found"
    except subprocess.TimeoutExpired:
        return f"timed out after {COMMAND_TIMEOUT:g} s"
    except OSError as exc:
        return f"cannot run {command[0]!r}: {exc.strerror}"
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or [""]
        return f"exit {done.returncode}" + (f": {last[0]}" if last[0] else "")
    return None
