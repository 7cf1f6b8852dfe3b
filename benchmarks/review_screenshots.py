"""Screenshots of review mode and its plots for ``docs/screenshots/review-*.png``.

Builds the text demo project and labels part of it the way a small team would (two
annotators with some disagreement, a few deliberately wrong labels, an adjudication, flags
and skips), in six rounds of 60 labels. After each round the product's own retrain runs
(``train_once``, what the app's retrain worker runs: the project's features and model,
model selection, out-of-fold predictions, the ranked queue and the prediction for every
unlabeled sample). Then :class:`ReviewView` opens offscreen and is grabbed, tab by tab.

    QT_QPA_PLATFORM=offscreen python benchmarks/review_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROUND = 60
ROUNDS = 6


def build(folder: Path) -> object:
    import numpy as np
    import pandas as pd

    from labeler.data.demo import create_demo
    from labeler.learning.settings import TrainSettings
    from labeler.learning.training import train_once

    store = create_demo("text", folder)
    truth = pd.read_csv(folder / "truth.csv")
    by_ext = dict(zip(truth["id"].astype(str), truth["label"].astype(str), strict=True))
    labels = store.info.label_names
    rng = np.random.default_rng(4)
    samples = store.samples.get_many(store.samples.ids())
    order = rng.permutation(len(samples))
    labeled = [samples[i] for i in order[: ROUND * ROUNDS]]
    settings = TrainSettings.from_project(store)
    for r in range(ROUNDS):
        for k in range(r * ROUND, (r + 1) * ROUND):
            s = labeled[k]
            true = by_ext[s.external_id]
            given = true
            if k % 23 == 5:  # a few careless labels
                given = labels[(labels.index(true) + 1) % len(labels)]
            spent = int(rng.integers(800, 6000))
            store.labels.add(s.id, [given], "alice", time_spent_ms=spent)
            if k < 80:  # bob double-labels the first 80, agreeing most of the time
                bob = true if rng.random() > 0.15 else labels[int(rng.integers(0, len(labels)))]
                store.labels.add(s.id, [bob], "bob")
        if r == 0:
            store.labels.adjudicate(
                labeled[1].id, [by_ext[labeled[1].external_id]], "lead", "checked"
            )
            store.labels.flag(labeled[2].id, "alice", "docstring is truncated")
            for s in (samples[i] for i in order[400:406]):
                store.labels.skip(s.id, "alice")
                if s.id % 2:
                    store.labels.skip(s.id, "bob")
        run = train_once(store.location, settings, trainer="alice@screenshots")
        if run.status != "ok":
            raise RuntimeError(f"retrain failed: {run.error}")
        print(f"retrain {r + 1}: {run.label_count} labels, {run.params.get('chosen')}", flush=True)
    return store


def settle(app: object, predicate: object, extra_ms: int = 300) -> None:
    """Run the event loop until ``predicate()`` holds, then a little longer for painting.

    Polls from a timer inside one event loop rather than calling ``processEvents()`` in a
    tight loop (each such call leaks a reference to None in PySide6 6.12.0)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    timer = QTimer()
    state = {"since": None}

    def check() -> None:
        if state["since"] is None and predicate():  # type: ignore[operator]
            state["since"] = 0
        elif state["since"] is not None:
            state["since"] += timer.interval()
            if state["since"] >= extra_ms:
                loop.quit()

    timer.timeout.connect(check)
    timer.start(50)
    loop.exec()
    timer.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from labeler.gui.review import ReviewView

    app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="review-shots-"))
    store = build(work / "docstrings")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    view = ReviewView(store)
    view.reviewer = "lead"
    view.resize(1500, 900)

    def loading(done: int, total: int, stage: str) -> None:
        # the table is on screen while the statistics are still being computed
        if done == 2:
            view.grab().save(str(out / "review-loading.png"))

    view.statsProgress.connect(loading)
    view.show()
    settle(app, lambda: view.summary is not None and view.model.cached_row(0) is not None)
    settle(app, lambda: view.model.cached_row(0) is not None)
    view.filters.disagreement.click()
    settle(app, lambda: view.model.rowCount() < 360 and view.model.cached_row(0) is not None)
    shown = {"id": None}
    view.detailShown.connect(lambda sid: shown.__setitem__("id", sid))
    view.table.selectRow(0)
    settle(app, lambda: shown["id"] is not None)
    view.grab().save(str(out / "review-table.png"))

    view.filters.disagreement.click()
    view.tabs.setCurrentWidget(view.agreement)
    settle(app, lambda: True)
    view.grab().save(str(out / "review-agreement.png"))

    shown["id"] = None
    view.tabs.setCurrentWidget(view.suspects)
    view.suspects.table.setCurrentCell(0, 1)
    settle(app, lambda: shown["id"] is not None)
    view.grab().save(str(out / "review-suspects.png"))

    view.tabs.setCurrentWidget(view.plots)
    for i, name in enumerate(view.plots.images):
        view.plots.tabs.setCurrentIndex(i)
        settle(app, lambda: True)
        if name in ("learning-curve", "confusion-matrix"):
            view.grab().save(str(out / f"review-plots-{name}.png"))
    view.tabs.setCurrentWidget(view.audit)
    settle(app, lambda: True)
    view.grab().save(str(out / "review-audit.png"))
    view.save_plots(out, prefix="review-plot-")
    view.shutdown()
    store.close()
    print("\n".join(sorted(str(p) for p in out.glob("review-*.png"))))


if __name__ == "__main__":
    main()
