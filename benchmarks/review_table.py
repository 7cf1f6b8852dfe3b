"""Review table: time to first paint at 1M labeled samples, lazy model vs an eager baseline.

A text project with N labeled samples (two annotators on 1%, out-of-fold predictions for all)
is built once. Then, in the same run:

* **lazy** (Labeler's :class:`ReviewView`): construct the view, show it, wait until the first
  page of rows is in the model, and grab the table (a real paint); then until the full id
  list is in (``ids_loaded``) and the statistics are shown (``stats_ready``). A 20 ms timer
  runs throughout: the longest gap between its ticks is the longest the GUI thread was
  blocked (``gui_max_stall``). Repeated, median taken.
* **eager baseline**: what a naive table does: fetch every display row (the same
  ``review_rows`` query, in chunks), then put them into a plain list-backed
  ``QAbstractTableModel`` and paint.

Also timed (median): re-querying after a filter change and after sorting by confidence, both
the first page the table shows at once (ids and rows, ``LIMIT``) and the full id list that
follows; fetching a page deep in the table (row N/2). Peak RSS is recorded after the lazy
runs (``peak_rss_lazy_mb``, the view alone) and at the end (after the eager baseline too),
and for the statistics worker process (``peak_rss_stats_worker_mb``).
Writes ``benchmarks/results/review_table.json``.

    QT_QPA_PLATFORM=offscreen python benchmarks/review_table.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"

WORDS = ("apple", "river", "engine", "violet", "cloud", "stone", "paper", "quiet", "tiger", "salt")
LABELS = ["positive", "negative", "neutral"]


def build(folder: Path, rows: int) -> None:
    import numpy as np

    from labeler.store import Store
    from labeler.store.database import utcnow
    from labeler.store.models import Prediction

    store = Store.create(folder, modality="text", labels=LABELS)
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=rows)
    chunk = 100_000
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        batch_rows = []
        for i in range(start, stop):
            text = f"review {i}: " + " ".join(WORDS[(i * k) % 10] for k in range(1, 9))
            batch_rows.append(
                (
                    f"r{i:07d}",
                    hashlib.blake2b(text.encode(), digest_size=16).hexdigest(),
                    text,
                    None,
                    None,
                    None,
                )  # fmt: skip
            )
        with store.samples.bulk_import("bench", "0" * 64) as batch:
            ids = batch.add_samples(batch_rows)
            batch.add_labels(ids, [(LABELS[t],) for t in truth[start:stop]], "alice")
    all_ids = store.samples.ids()
    for sid in all_ids[: rows // 100]:  # a second annotator on 1%
        store.labels.add(sid, [LABELS[int(rng.integers(0, 3))]], "bob")
    conf = rng.uniform(0.34, 1.0, size=rows)

    def preds():
        for sid, t, c in zip(all_ids, truth, conf, strict=True):
            rest = (1 - c) / 2
            probs = {lab: (c if k == t else rest) for k, lab in enumerate(LABELS)}
            yield Prediction(sid, 1, (LABELS[t],), float(c), probs, True)

    now = utcnow()
    store.models.record_run(
        status="ok", started_at=now, finished_at=now, label_count=rows, predictions=preds()
    )
    store.close()


def wait_for(signal: object, done: object) -> None:
    """Run the event loop until ``done()`` holds, re-checking whenever ``signal`` fires."""
    from PySide6.QtCore import QEventLoop

    while not done():  # type: ignore[operator]
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        if not done():  # type: ignore[operator]
            loop.exec()
        signal.disconnect(loop.quit)  # type: ignore[attr-defined]


def lazy_first_paint(folder: Path) -> dict[str, float]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from labeler.gui.review import ReviewView
    from labeler.store import Store

    QApplication.instance() or QApplication([])
    store = Store.open(folder)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    t0 = time.perf_counter()
    view = ReviewView(store)
    loaded: list[float] = []
    view.idsLoaded.connect(lambda _n: loaded.append(time.perf_counter() - t0))
    view.resize(1300, 800)
    view.show()
    # wait in a real event loop (no processEvents() polling): the first page arrives with
    # its rows (firstRowsShown), or later pages with dataChanged
    wait_for(view.firstRowsShown, lambda: view.model.cached_row(0) is not None)
    t_rows = time.perf_counter() - t0
    view.table.viewport().grab()
    t_paint = time.perf_counter() - t0
    wait_for(view.idsLoaded, lambda: bool(loaded))
    rows = view.model.rowCount()
    # statistics load in the background; wait so the next repeat starts clean
    wait_for(view.statsLoaded, lambda: view.summary is not None)
    t_stats = time.perf_counter() - t0
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    view.shutdown()
    view.deleteLater()
    store.close()
    return {
        "first_rows": t_rows,
        "first_paint": t_paint,
        "ids_loaded": loaded[0],
        "stats_ready": t_stats,
        "gui_max_stall": max(gaps, default=0.0),
        "rows": rows,
    }


def eager_first_paint(folder: Path) -> dict[str, float]:
    from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
    from PySide6.QtWidgets import QApplication, QTableView

    from labeler.gui.review.table_model import COLUMNS, cell_text
    from labeler.store import Store
    from labeler.store import review_queries as rq

    class ListModel(QAbstractTableModel):
        def __init__(self, rows):
            super().__init__()
            self.rows = rows

        def rowCount(self, parent=QModelIndex()):  # noqa: B008, N802
            return 0 if parent.isValid() else len(self.rows)

        def columnCount(self, parent=QModelIndex()):  # noqa: B008, N802
            return 0 if parent.isValid() else len(COLUMNS)

        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            if role == Qt.ItemDataRole.DisplayRole:
                return cell_text(self.rows[index.row()], index.column())
            return None

    QApplication.instance() or QApplication([])
    store = Store.open(folder)
    t0 = time.perf_counter()
    ids = [int(i) for i in rq.review_ids(store)]
    rows = []
    for start in range(0, len(ids), 20_000):
        page = rq.review_rows(store, ids[start : start + 20_000])
        rows.extend(page[i] for i in ids[start : start + 20_000])
    view = QTableView()
    view.setModel(ListModel(rows))
    view.resize(1300, 800)
    view.show()
    view.viewport().grab()
    t_paint = time.perf_counter() - t0
    view.close()
    store.close()
    return {"first_paint": t_paint, "rows": len(rows)}


def queries(folder: Path, repeats: int) -> dict[str, float]:
    from labeler.store import Store
    from labeler.store import review_queries as rq

    store = Store.open(folder)
    out: dict[str, list[float]] = {
        "filter_first_page": [],
        "filter_label": [],
        "sort_first_page": [],
        "sort_confidence": [],
        "deep_page": [],
    }
    n = rq.review_count(store)
    flt = rq.ReviewFilter(label="neutral", max_confidence=0.5)
    for _ in range(repeats):
        t = time.perf_counter()
        rq.first_page(store, flt)
        out["filter_first_page"].append(time.perf_counter() - t)
        t = time.perf_counter()
        rq.review_ids(store, flt)
        out["filter_label"].append(time.perf_counter() - t)
        t = time.perf_counter()
        rq.first_page(store, sort="confidence", descending=True)
        out["sort_first_page"].append(time.perf_counter() - t)
        t = time.perf_counter()
        ids = rq.review_ids(store, sort="confidence", descending=True)
        out["sort_confidence"].append(time.perf_counter() - t)
        t = time.perf_counter()
        rq.review_rows(store, [int(i) for i in ids[n // 2 : n // 2 + 200]])
        out["deep_page"].append(time.perf_counter() - t)
    store.close()
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="review-bench-"))
    folder = work / f"review-{args.rows}"
    t = time.perf_counter()
    if not (folder / ".labeler" / "project.db").exists():
        build(folder, args.rows)
    build_s = time.perf_counter() - t
    lazy = [lazy_first_paint(folder) for _ in range(args.repeats)]
    rss_lazy = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    eager = [eager_first_paint(folder) for _ in range(max(1, args.repeats - 1))]
    q = queries(folder, args.repeats)
    lazy_ms = statistics.median(x["first_paint"] for x in lazy) * 1000
    eager_ms = statistics.median(x["first_paint"] for x in eager) * 1000
    result = {
        "benchmark": "review_table",
        "rows": args.rows,
        "repeats": args.repeats,
        "build_seconds": round(build_s, 1),
        "lazy_first_paint_ms": round(lazy_ms, 1),
        "lazy_first_rows_ms": round(statistics.median(x["first_rows"] for x in lazy) * 1000, 1),
        "lazy_ids_loaded_ms": round(statistics.median(x["ids_loaded"] for x in lazy) * 1000, 1),
        "lazy_stats_ready_ms": round(statistics.median(x["stats_ready"] for x in lazy) * 1000, 1),
        "gui_max_stall_ms": round(max(x["gui_max_stall"] for x in lazy) * 1000, 1),
        "eager_first_paint_ms": round(eager_ms, 1),
        "speedup_vs_eager": round(eager_ms / lazy_ms, 1),
        "filter_first_page_ms": round(q["filter_first_page"] * 1000, 1),
        "filter_requery_ms": round(q["filter_label"] * 1000, 1),
        "sort_first_page_ms": round(q["sort_first_page"] * 1000, 1),
        "sort_by_confidence_ms": round(q["sort_confidence"] * 1000, 1),
        "deep_page_fetch_ms": round(q["deep_page"] * 1000, 1),
        "peak_rss_lazy_mb": round(rss_lazy, 1),
        "peak_rss_stats_worker_mb": round(rss_worker, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "samples": {"lazy": lazy, "eager": eager},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "review_table.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))


if __name__ == "__main__":
    main()
