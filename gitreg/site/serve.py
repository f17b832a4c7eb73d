"""``gitreg site --serve``: build, then serve the folder on 127.0.0.1 for a
local preview, building again whenever the registry branch moves.

Loopback only: a preview is for the person running it. The server sends
files of the site folder and nothing else (no listings of other folders,
no paths out of it).
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitreg.core.registry import Registry
from gitreg.site import build as builder


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the stdlib's name
        pass

    def list_directory(self, path: str | Any) -> None:
        self.send_error(404, "Not found")

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()


def serve(
    registry: Registry,
    out: Path,
    *,
    port: int = 8000,
    at: str | None = None,
    base_url: str | None = None,
    commit_url: str | None = None,
    announce: Callable[[str], None] = lambda line: None,
    poll: float = 1.0,
    stop: threading.Event | None = None,
) -> None:
    """Serve until interrupted (or ``stop`` is set)."""
    build = functools.partial(builder.build, registry, out, at=at, base_url=base_url, commit_url=commit_url)
    built = build()
    handler = functools.partial(_Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    announce(f"Serving the site at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
    stop = stop or threading.Event()
    tip = built.commit
    try:
        while not stop.wait(poll):
            if at is not None:
                continue  # a past state does not move
            now = registry.snapshot().commit
            if now and now != tip:
                built = build()
                tip = built.commit
                announce(f"Rebuilt at {tip[:10]}: {built.written} files written")
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
