"""The history panel lists this annotator's last decisions (label or skip, with the time),
newest first; Ctrl+H, arrows and Enter (or a click) bring a decision's sample back and a
label key changes it; after an undo the screen says which label was taken back."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from tests.gui.gui_helpers import open_and_wait, press, wait_painted

pytestmark = pytest.mark.gui


def rows(view) -> list[str]:  # type: ignore[no-untyped-def]
    lst = view.history_panel.list
    return [lst.item(i).text() for i in range(lst.count())]


def wait_rows(qtbot, view, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: len(rows(view)) == n, timeout=10_000)
    return rows(view)


def test_history_lists_revisits_and_changes_decisions(qtbot, window, text_project) -> None:
    store = text_project(10)
    view = open_and_wait(qtbot, window, store)
    press(qtbot, view, "1")
    press(qtbot, view, "2")
    press(qtbot, view, Qt.Key.Key_Space)
    press(qtbot, view, "1")
    listed = wait_rows(qtbot, view, 4)
    assert [r.split("  ·  ")[0] for r in listed] == ["pos", "skipped", "neg", "pos"]
    assert [r.split("  ·  ")[2].split(":")[0] for r in listed] == [
        "s00003",
        "s00002",
        "s00001",
        "s00000",
    ]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", r.split("  ·  ")[1]) for r in listed)
    s1 = next(e.sample_id for e in store.labels.events() if e.labels == ("neg",))

    # keyboard: Ctrl+H, down twice, Enter: the "neg" sample is back on screen
    qtbot.keyClick(view, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    lst = view.history_panel.list
    assert window.focusWidget() is lst
    qtbot.keyClick(lst, Qt.Key.Key_Down)
    qtbot.keyClick(lst, Qt.Key.Key_Down)
    with qtbot.waitSignal(view.shownItem, timeout=10_000):
        qtbot.keyClick(lst, Qt.Key.Key_Return)
    assert view.controller.current.sample_id == s1
    assert "You labeled this “neg” at" in view.decision_note.text()
    assert view.decision_note.isVisible()
    assert window.focusWidget() is view
    wait_painted(qtbot, view)
    # a label key changes the decision; counts stay right (a change, not a new label)
    press(qtbot, view, "3")
    assert store.labels.state(s1).labels == ("neutral",)
    qtbot.waitUntil(lambda: rows(view)[0].startswith("neutral"), timeout=10_000)
    assert sum(1 for r in rows(view) if "s00001" in r) == 1
    qtbot.waitUntil(lambda: view.controller.session.counts.labeled == 3, timeout=10_000)
    assert view.controller.session.counts.per_class == {"pos": 2, "neg": 0, "neutral": 1}
    assert not view.decision_note.isVisible()  # the next sample is another one

    # a click revisits too
    last = lst.count() - 1
    assert "s00000" in lst.item(last).text()
    with qtbot.waitSignal(view.shownItem, timeout=10_000):
        qtbot.mouseClick(
            lst.viewport(),
            Qt.MouseButton.LeftButton,
            pos=lst.visualItemRect(lst.item(last)).center(),
        )
    assert view.controller.current.sample.external_id == "s00000"


def test_after_undo_the_screen_names_the_label_taken_back(qtbot, window, text_project) -> None:
    store = text_project(6)
    view = open_and_wait(qtbot, window, store)
    press(qtbot, view, "2")
    wait_rows(qtbot, view, 1)
    shown = press(qtbot, view, "z", Qt.KeyboardModifier.ControlModifier)
    assert shown.sample.external_id == "s00000"
    assert view.decision_note.isVisible()
    assert "Undone: you had labeled this “neg”" in view.decision_note.text()
    wait_rows(qtbot, view, 0)  # the undone label is no longer a decision
    press(qtbot, view, "1")
    assert not view.decision_note.isVisible()
    assert store.labels.state(shown.sample_id).labels == ("pos",)


def key(view, text: str, stamp_ms: int) -> None:  # type: ignore[no-untyped-def]
    """A real key press and release carrying the window system's timestamp."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    code = Qt.Key(ord(text.upper()))
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        event = QKeyEvent(kind, code, Qt.KeyboardModifier.NoModifier, text)
        event.setTimestamp(stamp_ms)
        QApplication.sendEvent(view, event)


def test_a_key_labels_only_the_sample_that_was_painted(qtbot, window, text_project) -> None:
    """Two presses in quick succession (here in the same millisecond, so the test does not
    depend on how fast the commit is): the second was pressed before the next sample was
    painted and reaches the view after the first label is saved: refused."""
    import time

    store = text_project(6)
    view = open_and_wait(qtbot, window, store)
    c = view.controller
    refused: list[str] = []
    c.refused.connect(refused.append)
    first = c.current.sample_id
    t0, start = 1_000_000, time.monotonic()
    with qtbot.waitSignal(view.shownItem, timeout=10_000):
        key(view, "1", t0)
    wait_painted(qtbot, view)
    qtbot.waitUntil(lambda: not c.busy, timeout=10_000)  # the first label is saved
    unseen = c.current.sample_id
    assert unseen != first
    key(view, "1", t0)  # pressed with the first, delivered only now
    assert not c.busy  # nothing was sent to the store
    assert refused and "not on screen yet" in refused[-1]
    assert store.labels.labeled_count() == 1
    # pressed now, after the paint: it labels the sample on screen
    later = t0 + int((time.monotonic() - start) * 1000) + 50
    with qtbot.waitSignal(view.shownItem, timeout=10_000):
        key(view, "2", later)
    qtbot.waitUntil(lambda: not c.busy, timeout=10_000)
    assert store.labels.state(first).labels == ("pos",)
    assert store.labels.state(unseen).labels == ("neg",)
    assert store.labels.labeled_count() == 2


def test_a_demo_title_does_not_repeat_itself() -> None:
    from labeler.gui.annotate_view import project_title
    from labeler.store.records import ProjectInfo

    demo = ProjectInfo(1, "text", "text", "single-label", (), {"demo": "text"})
    assert project_title(demo) == "text demo  ·  single-label"
    plain = ProjectInfo(1, "reviews", "text", "single-label", ())
    assert project_title(plain) == "reviews  ·  text  ·  single-label"
