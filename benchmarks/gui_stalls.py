"""Does the window freeze when the review view first opens or a model is pushed?

The real main window (offscreen) on the tabular demo project with 60 labels and a model
trained by ``labeler train``; a 5 ms timer on the GUI thread records the longest gap between
its ticks (the longest time the event loop could not run). Baseline, in the same run: the
longest gap while the window idles for as long. Each measurement runs in a fresh process (so
module imports are as cold as for a user), ``--rounds`` times; medians to
``benchmarks/results/gui_stalls.json``.

    python benchmarks/gui_stalls.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
WINDOW_MS = 4000  # how long each phase is watched


def make_project(folder: Path) -> None:
    from labeler.cli import main as cli
    from labeler.data.demo import create_demo

    store = create_demo("tabular", folder)
    names = store.info.label_names
    for i, sid in enumerate(store.labels.unlabeled_ids()[:60]):
        store.labels.add(sid, [names[i % len(names)]], "bench")
    store.close()
    assert cli(["train", str(folder)]) == 0


def one_round(folder: str) -> dict[str, float]:
    """Runs in a child process: open the window, then measure idle, review open, push."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from labeler.gui.main_window import MainWindow

    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    def watch(ms: int) -> float:
        gaps.clear()
        last[0] = time.perf_counter()
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
        return max(gaps)

    timer = QTimer(interval=5)
    timer.timeout.connect(tick)
    timer.start()
    window = MainWindow(retrainer_factory=lambda *a: None)
    window.show()
    window.open_project(folder)
    watch(3000)  # opened, first sample shown, imports warmed in the background
    out = {"idle_max_gap_s": watch(WINDOW_MS)}
    QTimer.singleShot(0, window.show_review)
    out["review_open_max_gap_s"] = watch(WINDOW_MS)
    QTimer.singleShot(0, window.review_view.push_model)
    out["push_max_gap_s"] = watch(WINDOW_MS * 2)
    out["pushed"] = "Pushed" in window.review_view.status.text()
    window.close()
    app.processEvents()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_round(args.child)))
        return 0
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            folder = Path(tmp) / f"p{r}"
            make_project(folder)
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(folder)],
                capture_output=True,
                text=True,
                check=True,
            )
            rounds.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    keys = ("idle_max_gap_s", "review_open_max_gap_s", "push_max_gap_s")
    medians = {k: statistics.median(r[k] for r in rounds) for k in keys}
    result = {
        "benchmark": "gui_stalls",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average": os.getloadavg(),
        "rounds": rounds,
        "median": medians,
        "ratio_to_idle": {
            k: medians[k] / medians["idle_max_gap_s"] for k in keys if k != "idle_max_gap_s"
        },
        "all_pushed": all(r["pushed"] for r in rounds),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gui_stalls.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["median"], indent=2), json.dumps(result["ratio_to_idle"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
