"""A parent process for the statistics-worker orphan test: starts the review statistics
worker pool exactly as the review view does, then waits until killed.

Usage: ``python tests/stats_parent_driver.py``. Prints ``worker PID`` once the worker runs.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from labeler.review.stats_job import init_worker


def main() -> int:
    ctx = get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=ctx, initializer=init_worker, initargs=(ctx.Queue(), ctx.Event())
    )
    print(f"worker {pool.submit(os.getpid).result()}", flush=True)
    threading.Event().wait()  # until the test kills this process
    return 0


if __name__ == "__main__":
    sys.exit(main())
