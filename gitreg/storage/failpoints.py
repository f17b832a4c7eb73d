"""Named crash points for the crash-safety tests.

``GITREG_FAILPOINT=<name>`` makes the process SIGKILL itself when it reaches
that point, the way an out-of-memory killer or a pulled plug would stop it.
Unset (always, outside the tests), each point is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "GITREG_FAILPOINT"
POINTS = (
    "after-objects",  # the new blobs and trees are written, no commit yet
    "after-commit",  # the commit and tag objects exist, no ref points at them
    "during-push",  # the push to the remote has started
    "after-push",  # the remote accepted; the local clone's refs not yet moved
    "after-ref",  # a checkout's branch moved; its index and working tree not yet
    "during-pull",  # a pull's bytes are in its scratch folder, not yet at the destination
)


def reach(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows has no SIGKILL
