"""The settings dialog sets a project's overlap; the queue of every member follows it."""

from __future__ import annotations

import pytest

from labeler.app_settings import ProjectSettings
from labeler.store.annotator_queue import candidates
from labeler.store.overlap import OverlapSettings
from tests.gui.gui_helpers import open_and_wait, press

pytestmark = pytest.mark.gui


def test_overlap_set_in_the_dialog_reaches_the_queue(qtbot, window, text_project) -> None:
    store = text_project(n=12)
    view = open_and_wait(qtbot, window, store)
    window.open_settings()
    dialog = window.settings_dialog
    assert dialog.overlap.value() == 1 and dialog.overlap.text() == "1 (no overlap)"
    dialog.overlap.setValue(2)
    dialog.overlap_fraction.setValue(100.0)
    with qtbot.waitSignal(view.controller.message, timeout=10_000):  # project settings saved
        dialog.accept()
    reopened = type(store).open(store.location)
    try:
        assert OverlapSettings.from_settings(reopened.info.settings) == OverlapSettings(2, 1.0)
        assert ProjectSettings.from_project(reopened.info.settings).overlap == 2
        # the sample this annotator labels is due for a colleague next
        first = view.controller.current.sample_id
        press(qtbot, view, "1")
        colleague = candidates(reopened, 1, annotator="bob")
        assert [sid for sid, _, _ in colleague] == [first]
        assert first not in [
            sid for sid, _, _ in candidates(reopened, 12, annotator=window.user.annotator)
        ]
    finally:
        reopened.close()
