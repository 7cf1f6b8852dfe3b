"""Test helpers: run the real command line in a child process (or, for the many cases of
one command's bad input, in this process); tell whether a process ended."""

from __future__ import annotations

import contextlib
import io
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


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    """``labeler ARGS`` through :func:`labeler.cli.main` in this process, its output captured:
    the same code and exit status as :func:`run_cli` without starting an interpreter (each
    child costs 1.5-5 s of imports). Tests keep at least one :func:`run_cli` per command for
    the real process and its exit status."""
    from labeler.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return subprocess.CompletedProcess(["labeler", *args], code, out.getvalue(), err.getvalue())


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
