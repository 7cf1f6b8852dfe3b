"""The lazy review table model: ids only, pages fetched on request, checked by qtmodeltester."""

from __future__ import annotations

import pytest
from _review_data import add_samples
from PySide6.QtCore import QModelIndex, Qt

from labeler.gui.review.table_model import PAGE_SIZE, PLACEHOLDER, ReviewTableModel
from labeler.store import review_queries as rq

pytestmark = pytest.mark.gui


@pytest.fixture
def labeled_store(make_store):
    store = make_store(labels=("cat", "dog"))
    ids = add_samples(store, [f"text {i}" for i in range(1200)])
    with store.samples.bulk_import("labels", "1" * 64) as batch:
        batch.add_labels(ids, [("cat",) if i % 3 else ("dog",) for i in range(len(ids))], "ann")
    return store, ids


def serve_pages(model: ReviewTableModel, store) -> list[int]:
    """Answer the model's page requests from the store (queued, as the view does)."""
    asked: list[int] = []

    def fetch(page: int, ids) -> None:
        asked.append(page)
        model.set_page(page, rq.review_rows(store, [int(i) for i in ids]), model.generation)

    model.pageWanted.connect(fetch, Qt.ConnectionType.QueuedConnection)
    return asked


def test_model_passes_qtmodeltester_before_and_after_pages_arrive(
    qtmodeltester, qtbot, labeled_store
):
    store, ids = labeled_store
    model = ReviewTableModel()
    asked = serve_pages(model, store)
    qtmodeltester.check(model)  # empty
    model.set_ids(rq.review_ids(store))
    qtmodeltester.check(model)  # ids only: placeholders, page requests queued
    assert model.rowCount() == 1200 and model.columnCount() == 9
    assert model.data(model.index(0, 0)) == PLACEHOLDER
    qtbot.waitUntil(lambda: model.data(model.index(0, 0)) == "s0")
    qtmodeltester.check(model)  # with real rows
    assert model.data(model.index(0, 2)) == "dog"
    assert model.data(model.index(1, 2)) == "cat"
    assert model.rowCount(model.index(0, 0)) == 0  # a table: no children
    assert 0 in asked and len(asked) < 1200 / PAGE_SIZE + 1  # fetched by page, not by row


def test_only_the_pages_looked_at_are_fetched(qtbot, labeled_store):
    store, ids = labeled_store
    model = ReviewTableModel()
    asked = serve_pages(model, store)
    model.set_ids(rq.review_ids(store))
    model.data(model.index(5 * PAGE_SIZE + 3, 1))
    model.data(model.index(5 * PAGE_SIZE + 7, 1))  # same page: asked once
    qtbot.waitUntil(lambda: model.cached_row(5 * PAGE_SIZE + 3) is not None)
    assert asked == [5]
    assert model.data(model.index(5 * PAGE_SIZE + 3, 0)) == f"s{5 * PAGE_SIZE + 3}"
    assert model.cached_row(0) is None


def test_a_page_fetched_for_an_old_id_list_is_dropped(qtbot, labeled_store):
    store, _ = labeled_store
    model = ReviewTableModel()
    model.set_ids(rq.review_ids(store))
    old = model.generation
    stale = rq.review_rows(store, [int(i) for i in model.page_ids(0)])
    model.set_ids(rq.review_ids(store, rq.ReviewFilter(label="dog")))
    model.set_page(0, stale, old)
    assert model.cached_row(0) is None
    assert model.rowCount() == 400


def test_sort_asks_for_a_new_query(qtbot, labeled_store):
    model = ReviewTableModel()
    with qtbot.waitSignal(model.sortWanted) as blocker:
        model.sort(6, Qt.SortOrder.DescendingOrder)
    assert blocker.args == ["confidence", True]
    with qtbot.waitSignal(model.sortWanted) as blocker:
        model.sort(1)  # the snippet column is not sortable in SQL: falls back to id order
    assert blocker.args == ["id", False]
    assert model.data(QModelIndex()) is None


def test_first_page_then_the_full_list_appends_rows_without_a_reset(
    qtmodeltester, qtbot, labeled_store
):
    store, _ = labeled_store
    model = ReviewTableModel()
    serve_pages(model, store)
    ids, rows = rq.first_page(store, size=PAGE_SIZE)
    model.set_ids(ids, rows)
    assert model.rowCount() == PAGE_SIZE
    assert model.data(model.index(0, 0)) == "s0"  # rows came with the page: no placeholder
    qtmodeltester.check(model)
    resets, inserted = [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    assert model.grow_ids(rq.review_ids(store))
    assert resets == [] and inserted == [(PAGE_SIZE, 1199)]
    assert model.rowCount() == 1200
    assert model.data(model.index(3, 0)) == "s3"  # the first page stayed cached
    qtmodeltester.check(model)
    qtbot.waitUntil(lambda: model.data(model.index(1199, 0)) == "s1199")


def test_a_full_list_that_does_not_start_with_the_page_resets(qtbot, labeled_store):
    store, _ = labeled_store
    model = ReviewTableModel()
    model.set_ids(*rq.first_page(store, size=PAGE_SIZE))
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    other = rq.review_ids(store, sort="id", descending=True)
    assert not model.grow_ids(other)
    assert resets == [1] and model.rowCount() == 1200
    assert model.cached_row(0) is None  # the old page was for other ids
    # a shorter list than the page shown (rows were deleted meanwhile) resets too
    assert not model.grow_ids(other[:10])
    assert model.rowCount() == 10
