"""The retrain worker process never outlives its use: ``close()`` kills a fit in progress at
once instead of waiting for it, and a worker whose parent is SIGKILLed ends itself.

The fits here are deliberately slow (``add_slow_tabular``: a 100-tree forest cross-validated on
6,000 rows whose labels are noise, about a minute), so the fit is surely still running when the
worker is stopped, and finishing it would record a run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labeler.learning.features import load_features
from labeler.learning.jobs import RetrainScheduler, TrainSettings
from labeler.store import Store
from tests.helpers import process_gone, wait_until_gone
from tests.learning_data import add_slow_tabular

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
WAIT = 120.0  # generous upper bound for polls; nothing waits this long unless broken
SLOW = TrainSettings(model="forest", queue_size=10, cv_folds=5)
FITTING = 40  # progress at the end of the features phase: cross-validation (no cancel point)


def test_close_mid_fit_kills_the_worker_instead_of_waiting(make_store) -> None:
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    add_slow_tabular(store)
    # Cached features: the worker reports no features sub-progress, so the first report of
    # FITTING is the phase boundary (its last cancel point before cross-validation ends).
    load_features(store, SLOW.features)
    progress: list[int] = []
    results: list[object] = []
    fitting = threading.Event()

    def on_progress(done: int, total: int | None) -> None:
        progress.append(done)
        if done >= FITTING:
            fitting.set()

    sched = RetrainScheduler(
        store.location, SLOW, on_result=results.append, on_progress=on_progress
    )
    sched.request()
    assert fitting.wait(WAIT)
    pid = sched.worker_pid
    assert pid is not None and pid != os.getpid() and not process_gone(pid)

    sched.close()
    assert process_gone(pid), "close() returned while the worker process still ran"
    assert max(progress) < 60, "cross-validation ended before the worker was killed"
    assert results == []  # nothing delivered, during close or after it
    assert store.models.runs() == []  # the discarded fit recorded nothing, not even half
    assert store.models.latest_ok() is None
    assert not sched.is_running and sched.worker_pid is None
    sched.close()  # idempotent


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_worker_ends_itself_when_its_parent_is_killed_mid_fit(tmp_path) -> None:
    folder = tmp_path / "proj"
    store = Store.create(folder, modality="tabular", labels=["c0", "c1", "c2"])
    add_slow_tabular(store)
    store.update_settings(learning=SLOW.to_dict())
    store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "retrain_parent_driver.py"), str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    pid: int | None = None
    try:
        assert parent.stdout is not None
        for line in parent.stdout:
            if line.startswith("worker "):
                pid = int(line.split()[1])
                break
        assert pid is not None, "the parent never reported a fitting worker"
        assert not process_gone(pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(WAIT)
        assert not wait_until_gone([pid], WAIT), "the retrain worker outlived its SIGKILLed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(WAIT)
        if pid is not None and not process_gone(pid):
            os.kill(pid, signal.SIGKILL)  # do not leave an orphan behind a failed test
    with Store.open(folder) as reopened:
        assert reopened.models.runs() == []  # the interrupted fit recorded nothing


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_close_while_the_run_is_being_saved_records_nothing(make_store) -> None:
    """Past the last cancel point (progress 93: saving the model, recording the run) a fit
    that close() waited for would be recorded; killed there, it leaves no trace in the store."""
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    add_slow_tabular(store)  # saving this forest and its predictions takes seconds
    saving = threading.Event()
    results: list[object] = []

    def on_progress(done: int, total: int | None) -> None:
        if done >= 93:
            saving.set()

    sched = RetrainScheduler(
        store.location,
        SLOW.with_(cv_folds=2),
        on_result=results.append,
        on_progress=on_progress,
    )
    before = store.dump()
    sched.request()
    assert saving.wait(WAIT * 2)
    pid = sched.worker_pid
    assert pid is not None
    sched.close()
    assert process_gone(pid)
    assert results == []
    assert store.models.runs() == []
    assert store.dump() == before  # no run, queue or prediction: not even half of the record
