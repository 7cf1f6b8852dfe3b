"""A parent process for the orphan test: starts a ``dask-local:2`` cluster, gives it work
that runs for a minute, prints ``workers PID PID`` and waits until it is killed.

Usage: ``python tests/dask_parent_driver.py``.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from labeler.learning.compute import parse_compute
from labeler.learning.dask_pool import DaskPool


def slow(shared: object, seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def main() -> int:
    with DaskPool.open(parse_compute("dask-local:2")) as pool:
        pids = pool.client.run(os.getpid)
        threading.Thread(
            target=pool.map, args=(slow, [60.0, 60.0]), daemon=True, name="dask-work"
        ).start()
        print("workers " + " ".join(str(p) for p in pids.values()), flush=True)
        threading.Event().wait()  # until the test kills this process
    return 0


if __name__ == "__main__":
    sys.exit(main())
