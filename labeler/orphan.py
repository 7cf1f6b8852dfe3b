"""Helper processes (import parser, review statistics) end when the application is killed."""

from __future__ import annotations

import os
import threading
import time

POLL_S = 0.5


def exit_when_orphaned(parent: int | None = None) -> None:
    """Start a watchdog thread that ends this process once its parent (``parent``, by default
    the current parent) is gone: a dead parent's children are re-parented, so the parent id
    changes. Without it a helper killed mid-work with its application would live on."""
    parent = os.getppid() if parent is None else parent
    threading.Thread(target=_watch, args=(parent,), name="orphan-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    os._exit(1)
