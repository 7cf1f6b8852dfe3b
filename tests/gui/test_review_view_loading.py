"""Review view loading at scale: the first page paints before the full id list is read, and
the statistics run in a worker process with progress in the top bar."""

from __future__ import annotations

import pytest
from _review_data import add_samples
from PySide6.QtCore import Qt

from labeler.gui.review import ReviewView
from labeler.gui.review.table_model import PAGE_SIZE
from labeler.review.stats_job import TOTAL_STAGES

pytestmark = pytest.mark.gui
N = 450


@pytest.fixture
def big_store(make_store):
    store = make_store(labels=("cat", "dog"))
    ids = add_samples(store, [f"text {i}" for i in range(N)])
    with store.samples.bulk_import("labels", "1" * 64) as batch:
        batch.add_labels(ids, [("cat",) if i % 3 else ("dog",) for i in range(N)], "ann")
    return store


def test_first_page_shows_before_the_full_list_and_stats_report_progress(qtbot, big_store):
    view = ReviewView(big_store)
    qtbot.addWidget(view)
    events: list[tuple[str, object]] = []
    view.firstRowsShown.connect(
        lambda n: events.append(("first", n, view.model.rowCount(), view.count_label.text()))
    )
    view.idsLoaded.connect(lambda n: events.append(("all", n, view.model.rowCount())))
    progress: list[tuple[int, int, str]] = []
    view.statsProgress.connect(lambda *a: progress.append(a))
    view.model.modelReset.connect(lambda: events.append(("reset",)))
    view.resize(1300, 800)
    with qtbot.waitSignals([view.idsLoaded, view.statsLoaded], timeout=60_000):
        view.show()
    assert events[:3] == [
        ("reset",),
        ("first", PAGE_SIZE, PAGE_SIZE, f"first {PAGE_SIZE} labeled samples shown, counting…"),
        ("all", N, N),
    ]  # one reset for the first page; the rest of the ids are appended
    assert view.count_label.text() == f"{N} labeled samples shown"
    assert view.model.data(view.model.index(N - 1, 0)) in ("…", f"s{N - 1}")
    assert progress[-1] == (TOTAL_STAGES, TOTAL_STAGES, "done")
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    assert not view.stats_progress.isVisible()
    assert "No sample has labels from two or more annotators" in view.agreement.headline.text()
    view.shutdown()


def test_sorting_shows_the_new_first_page_then_the_rest(qtbot, big_store):
    view = ReviewView(big_store)
    qtbot.addWidget(view)
    view.resize(1300, 800)
    with qtbot.waitSignals([view.idsLoaded, view.statsLoaded], timeout=60_000):
        view.show()
    with qtbot.waitSignals([view.firstRowsShown, view.idsLoaded], timeout=30_000):
        view.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert view.model.rowCount() == N
    assert view.model.data(view.model.index(0, 0)) == "s99"  # text order: s99 > s449
    ids = [view.model.sample_id(r) for r in range(N)]
    assert len(set(ids)) == N
    view.shutdown()


def test_closing_while_statistics_run_stops_the_worker(qtbot, big_store):
    view = ReviewView(big_store)
    qtbot.addWidget(view)
    view.resize(1300, 800)
    with qtbot.waitSignal(view.statsProgress, timeout=60_000):
        view.show()
    view.shutdown()  # returns once the worker stopped (at its next stage) or finished
    assert view.stats._pools == [] and view.reporter.last_box is None  # no error shown


def test_stopping_ends_a_worker_that_does_not_finish_in_time() -> None:
    """A worker still busy (here: sleeping; in the app: still importing its libraries) when
    the view closes is terminated after the grace time instead of being waited for."""
    import signal
    import time
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from labeler.gui.review.stats_runner import stop_pools

    pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    pool.submit(time.sleep, 600)
    deadline = time.monotonic() + 30
    while not pool._processes and time.monotonic() < deadline:  # the worker has started
        time.sleep(0.05)
    assert pool._processes, "the pool's worker process did not start"
    (process,) = pool._processes.values()
    stop_pools([pool], grace_s=0.2)
    assert not process.is_alive() and process.exitcode == -signal.SIGTERM
