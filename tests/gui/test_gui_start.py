"""The start screen: a demo project from a button, labeled with keys; recent projects reopen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from labeler.store import Store
from tests.gui.gui_helpers import press, shown_id, wait_painted

pytestmark = pytest.mark.gui


def test_demo_from_start_screen_label_fifty_and_reopen_from_recent(qtbot, window) -> None:
    with qtbot.waitSignal(window.firstItemShown, timeout=120_000):
        qtbot.mouseClick(window.start.demo_buttons["text"], Qt.MouseButton.LeftButton)
    view = window.annotate_view
    wait_painted(qtbot, view)  # the annotator sees the sample before pressing a key
    folder = window.user.recent_projects[0]
    names = view.info.label_names
    assert view.info.modality == "text" and len(names) == 4
    given = {}
    for i in range(50):
        sid = shown_id(view)
        press(qtbot, view, str(i % 4 + 1))
        given[sid] = names[i % 4]
    window.close_project()
    assert window.stack.currentWidget() is window.start

    with Store.open(folder) as store:
        current = store.labels.current()
        assert dict(zip(current["sample_id"], current["labels"], strict=True)) == {
            sid: (lab,) for sid, lab in given.items()
        }
    # reopen from the recent list: resumes at a sample not labeled yet
    recent = window.start.recent_list
    assert recent.item(0).data(Qt.ItemDataRole.UserRole) == folder
    with qtbot.waitSignal(window.firstItemShown, timeout=60_000):
        recent.itemActivated.emit(recent.item(0))
    assert shown_id(window.annotate_view) not in given
    assert window.annotate_view.controller.session.counts.labeled == 50
