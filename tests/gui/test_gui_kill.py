"""The app as a real process, killed with SIGKILL while labeling: every label it reported as
saved is in the store when the project is reopened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from labeler.store import Store
from tests.gui.gui_helpers import fill_text

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
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("saved "):
                _, sid, eid = line.split()
                saved.append((int(sid), int(eid)))
                if len(saved) >= SAVED_BEFORE_KILL:
                    proc.send_signal(signal.SIGKILL)  # mid-session: the app is still labeling
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert len(saved) == SAVED_BEFORE_KILL

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
