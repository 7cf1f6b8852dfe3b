"""A parent process for the orphan test: starts a retrain in a worker process and waits.

Usage: ``python tests/retrain_parent_driver.py PROJECT``. Prints ``worker PID`` once the worker
is fitting (features loaded, cross-validation running), then waits until it is killed.
"""

from __future__ import annotations

import sys
import threading

from labeler.learning.jobs import RetrainScheduler
from labeler.store import Store


def main(project: str) -> int:
    with Store.open(project) as store:
        location = store.location
    fitting = threading.Event()

    def on_progress(done: int, total: int | None) -> None:
        if done >= 40:  # past loading features: the fit itself is running
            fitting.set()

    scheduler = RetrainScheduler(
        location, on_result=lambda r: print(f"result {r.ok}", flush=True), on_progress=on_progress
    )
    scheduler.request()
    fitting.wait()
    print(f"worker {scheduler.worker_pid}", flush=True)
    threading.Event().wait()  # until the test kills this process
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
