"""The app as a real process, killed with SIGKILL while labeling: every label it reported as
saved is in the store when the project is reopened, and no process it started outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from labeler.store import Store
from tests.gui.gui_helpers import fill_text
from tests.helpers import wait_until_gone

pytestmark = [pytest.mark.gui, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SAVED_BEFORE_KILL = 40


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_loses_no_saved_label(tmp_path) -> None:
    folder = tmp_path / "proj"
    store = Store.create(folder, modality="text", labels=["a", "b", "c"])
    fill_text(store, 200)
    store.close()
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
        "LABELER_CONFIG_DIR": str(tmp_path / "config"),
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "gui" / "kill_driver.py"), str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    saved: list[tuple[int, int]] = []
    children: list[int] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("saved "):
                _, sid, eid = line.split()
                saved.append((int(sid), int(eid)))
                if len(saved) >= SAVED_BEFORE_KILL:
                    children = child_pids(proc.pid)  # the retrain worker among them
                    proc.send_signal(signal.SIGKILL)  # mid-session: the app is still labeling
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert len(saved) == SAVED_BEFORE_KILL
    orphans = wait_until_gone(children, 120)  # generous: a worker notices within a second
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)  # leave nothing behind a failed test
    assert not orphans, f"processes {orphans} outlived the killed app"

    reopened = Store.open(folder)
    events = {e.id: e for e in reopened.labels.events()}
    for sid, eid in saved:
        assert eid in events, f"label event {eid} of sample {sid} was reported saved but is lost"
        assert events[eid].sample_id == sid and events[eid].action == "label"
        assert reopened.labels.state(sid).status == "labeled"
    # the labels given alternate 1, 2, 3 -> a, b, c
    given = [events[eid].labels for _, eid in saved]
    assert given[:3] == [("a",), ("b",), ("c",)]
    reopened.close()


def child_pids(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(stat.parent.name))
    return found
