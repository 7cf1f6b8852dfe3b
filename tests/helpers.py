"""Test helpers: run the real command line in a child process; tell whether a process ended."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m labeler ARGS`` with this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "labeler", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def process_gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie that a container's init never reaps counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    try:
        state = (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # vanished between the two checks
    return state in ("Z", "X")


def wait_until_gone(pids: list[int], timeout: float) -> list[int]:
    """Poll until every process in ``pids`` has exited (there is no signal to wait on for
    another process's death); return those still alive after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if not process_gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if not process_gone(p)]
    return alive
