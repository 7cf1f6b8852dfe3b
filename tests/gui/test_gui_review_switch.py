"""The main window offers the review engineer's ReviewView as a second view."""

from __future__ import annotations

import pytest

from tests.gui.gui_helpers import open_and_wait

pytestmark = pytest.mark.gui


def test_switch_to_review_and_back(qtbot, window, text_project) -> None:
    from labeler.gui import review

    store = text_project(n=5)
    view = open_and_wait(qtbot, window, store)
    window.show_review()
    assert isinstance(window.stack.currentWidget(), review.ReviewView)
    window.show_annotate()
    assert window.stack.currentWidget() is view
    qtbot.keyClick(view, "1")  # labeling still works after visiting the review view
    qtbot.waitUntil(lambda: store.labels.labeled_count() == 1, timeout=10_000)
