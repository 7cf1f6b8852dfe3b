"""Polish found by a first real session: the run history shows no "nan" and whole start
times, the review fits a 1000 px window, wrapped labels are never cut, and the cold-start
note says seed samples only when seed samples are on screen."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt

from labeler.gui.wrap_label import WrapLabel
from labeler.review.metrics import run_history
from labeler.store.database import utcnow
from tests.gui.gui_helpers import open_and_wait, press

pytestmark = pytest.mark.gui


def test_run_history_has_no_nan_and_whole_start_times(qtbot, make_store) -> None:
    from labeler.gui.review.stats_panels import RunsPanel

    store = make_store(modality="text", labels=("a", "b"))
    now = utcnow()
    store.models.record_run(
        status="failed", started_at=now, finished_at=now, label_count=1, error="need two classes"
    )
    store.models.record_run(
        status="ok", started_at=now, finished_at=now, label_count=9, metrics={"accuracy": 0.9}
    )
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    panel.show_summary(SimpleNamespace(history=run_history(store.models.runs())))
    table = panel.table
    cells = [
        table.item(r, c).text() for r in range(table.rowCount()) for c in range(table.columnCount())
    ]
    assert not any("nan" in c.lower() for c in cells), cells
    started = table.item(0, 3).text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", started)
    width = table.fontMetrics().horizontalAdvance(started)
    assert table.horizontalHeader().sectionSize(3) >= width  # not elided


def test_review_fits_a_1000_px_window(qtbot, window, text_project) -> None:
    store = text_project(8)
    window.resize(1000, 700)
    view = open_and_wait(qtbot, window, store)
    press(qtbot, view, "1")
    qtbot.keyClick(view, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    rv = window.review_view
    qtbot.waitUntil(lambda: rv.model.rowCount() == 1, timeout=20_000)
    assert rv.minimumSizeHint().width() <= 1000
    assert window.width() <= 1000


def test_wrapped_labels_get_the_height_they_need(qtbot, window, text_project) -> None:
    store = text_project(8)
    window.resize(1000, 620)
    view = open_and_wait(qtbot, window, store)
    labels = view.panel.findChildren(WrapLabel)
    assert {w.objectName() for w in labels} >= {"why", "modelStatus", "suggestion"}
    view.panel.why.setText("Strategy: margin\nScore: 0.123\nRank: 4\nModel: v12 " + "long " * 30)
    qtbot.waitUntil(
        lambda: all(w.height() >= w.heightForWidth(w.width()) for w in labels if w.isVisible()),
        timeout=5_000,
    )


def test_no_seed_note_while_samples_come_in_import_order(qtbot, window, text_project) -> None:
    store = text_project(8)
    view = open_and_wait(qtbot, window, store)
    assert view.controller.current.provenance.strategy is None  # no queue: import order
    text = view.panel.model.text()
    assert "diverse seed samples are shown" not in text
    assert "import order" in text
