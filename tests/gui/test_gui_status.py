"""Status-bar messages clear themselves, and none survives closing the project."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.gui.gui_helpers import open_and_wait, press

pytestmark = pytest.mark.gui


def test_status_messages_clear_and_do_not_survive_closing(qtbot, window, text_project) -> None:
    store = text_project(10)
    view = open_and_wait(qtbot, window, store)
    window.status_ms = 200
    press(qtbot, view, "1")
    qtbot.keyClick(view, "z", Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Undid" in window.status_text.text(), timeout=10_000)
    # the message names the label that was taken back and the sample by its own id
    assert window.status_text.text() == "Undid label (pos) of s00000"
    qtbot.waitUntil(lambda: window.status_text.text() == "", timeout=10_000)
    window.show_status("Something about this project")
    window.close_project()
    assert window.status_text.text() == ""
