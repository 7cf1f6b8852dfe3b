"""How long ``RetrainScheduler.close()`` takes: mid-fit (the worker is killed) and idle (the
worker is asked to exit), against how long the interrupted fit would still have run.

Mid-fit: a 100-tree forest cross-validated on 6,000 noisy rows (features cached), closed as soon
as cross-validation starts. Idle: a small project, closed after its retrain finished. Writes
medians to ``benchmarks/results/close_latency.json``.

    python benchmarks/close_latency.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def main() -> int:
    from labeler.learning.features import load_features
    from labeler.learning.jobs import RetrainScheduler, TrainSettings
    from labeler.store import Store
    from tests.learning_data import add_slow_tabular, add_tabular, blobs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    slow = TrainSettings(model="forest", queue_size=10, cv_folds=5)
    small = TrainSettings(queue_size=10, cv_folds=2)
    mid_fit, idle, cv_seconds = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        big = Store.create(Path(tmp) / "slow", modality="tabular", labels=["c0", "c1", "c2"])
        add_slow_tabular(big)
        load_features(big, slow.features)
        X, y = blobs(n=90, n_classes=3, n_features=4, seed=7)
        little = Store.create(Path(tmp) / "small", modality="tabular", labels=["c0", "c1", "c2"])
        add_tabular(little, X, [(v,) for v in y])
        for _ in range(args.rounds):
            fitting = threading.Event()

            def on_progress(done: int, total: int | None, ev: threading.Event = fitting) -> None:
                if done >= 40:
                    ev.set()

            sched = RetrainScheduler(
                big.location, slow, on_result=lambda r: None, on_progress=on_progress
            )
            sched.request()
            fitting.wait()
            t0 = time.perf_counter()
            sched.close()
            mid_fit.append(time.perf_counter() - t0)

            sched = RetrainScheduler(little.location, small, on_result=lambda r: None)
            sched.request()
            sched.wait_idle()
            t0 = time.perf_counter()
            sched.close()
            idle.append(time.perf_counter() - t0)
        # what close() used to wait for: the cross-validation it now interrupts
        done: list[object] = []
        sched = RetrainScheduler(big.location, slow, on_result=done.append)
        sched.request()
        sched.wait_idle()
        sched.close()
        cv_seconds.append(done[0].run.durations["cross_validation"])  # type: ignore[attr-defined]
        big.close()
        little.close()
    figures = {
        "close_mid_fit_seconds_median": round(statistics.median(mid_fit), 4),
        "close_mid_fit_seconds_max": round(max(mid_fit), 4),
        "close_idle_seconds_median": round(statistics.median(idle), 4),
        "close_idle_seconds_max": round(max(idle), 4),
        "interrupted_cross_validation_seconds": round(cv_seconds[0], 2),
        "rounds": args.rounds,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "close_latency.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
