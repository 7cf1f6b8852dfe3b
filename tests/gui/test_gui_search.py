"""Search from the keyboard: "find samples" (/) in the annotate view puts the unlabeled
matches next, and the review table's search box (/ on the table) narrows it by text or id,
substring or regular expression, all run in SQL."""

from __future__ import annotations

import hashlib

import pytest
from PySide6.QtCore import Qt

from labeler.gui.session import AnnotationSession, Counts, Item
from labeler.store import Provenance, Store
from tests.gui.gui_helpers import open_and_wait, press, shown_id

pytestmark = pytest.mark.gui

RARE = ["a zebra crossed the road", "zebra and zebra again", "no stripes here at all"]


def add_rare(store: Store) -> list[int]:
    rows = [
        (f"rare-{i}", hashlib.sha256(t.encode()).hexdigest(), t, None, None, None)
        for i, t in enumerate(RARE)
    ]
    with store.samples.bulk_import("rare", hashlib.sha256(b"rare").hexdigest()) as batch:
        return batch.add_samples(rows)


def find(qtbot, view, text: str, regex: bool = False) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(view, "/")
    dialog = view.find_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.query, text)
    if regex:
        dialog.regex.setChecked(True)
    with qtbot.waitSignal(view.finder.done, timeout=10_000):
        qtbot.keyClick(dialog.query, Qt.Key.Key_Return)


def test_find_samples_puts_the_matches_next(qtbot, window, text_project) -> None:
    store = text_project(40, labels=("common", "rare"))
    zebra = add_rare(store)[:2]
    view = open_and_wait(qtbot, window, store)
    on_screen = shown_id(view)
    find(qtbot, view, "ZEBRA")
    assert shown_id(view) == on_screen  # the sample on screen stays
    # keys go to the view again (offscreen, a closed dialog leaves no window active)
    qtbot.waitUntil(lambda: window.focusWidget() is view, timeout=5_000)
    assert "2 samples matching 'ZEBRA' come next" in window.status_text.text()
    press(qtbot, view, "1")
    # most matches first: "zebra and zebra again", then the other
    assert shown_id(view) == zebra[1]
    assert "You searched for it" in view.panel.why.text()
    press(qtbot, view, "2")
    assert shown_id(view) == zebra[0]
    press(qtbot, view, "2")
    events = [e for e in store.labels.events() if e.sample_id in zebra]
    assert {(e.sample_id, e.labels, e.strategy) for e in events} == {
        (zebra[1], ("rare",), "search"),
        (zebra[0], ("rare",), "search"),
    }
    # labeled now: a second search finds nothing new
    find(qtbot, view, "zebra")
    assert "No unlabeled sample matches 'zebra'" in window.status_text.text()
    # a regular expression on the id
    find(qtbot, view, r"^rare-[2]$", regex=True)
    press(qtbot, view, "1")
    assert view.controller.current.sample.external_id == "rare-2"


def test_a_bad_regex_is_a_message_and_changes_nothing(qtbot, window, text_project) -> None:
    store = text_project(10)
    view = open_and_wait(qtbot, window, store)
    waiting = [i.sample_id for i in view.controller.session.upcoming]
    find(qtbot, view, "(unclosed", regex=True)
    assert "not a regular expression" in window.status_text.text()
    assert [i.sample_id for i in view.controller.session.upcoming] == waiting


def test_a_new_ranking_keeps_the_searched_samples_first() -> None:
    from labeler.store.records import Sample

    def item(sid: int, strategy: str | None) -> Item:
        sample = Sample(sid, f"s{sid}", "h", f"text {sid}", None, None, None, 1)
        return Item(sample, Provenance(None, strategy, 1.0))

    session = AnnotationSession(Counts(10, 0, {}))
    session.extend([item(1, "margin"), item(2, "margin")])
    session.advance()
    assert session.put_first([item(7, "search"), item(1, "search")]) == 1  # 1 is on screen
    session.replace_upcoming([item(3, "margin"), item(7, "margin")])
    assert [i.sample_id for i in session.upcoming] == [7, 3]


def test_review_search_box_narrows_the_table(qtbot, window, text_project) -> None:
    store = text_project(12, labels=("common", "rare"))
    zebra = add_rare(store)
    for sid in zebra:
        store.labels.add(sid, ["rare"], "ann")
    view = open_and_wait(qtbot, window, store)
    for key in "1111":
        press(qtbot, view, key)
    qtbot.keyClick(view, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    rv = window.review_view
    qtbot.waitUntil(lambda: rv.model.rowCount() == 7, timeout=20_000)
    assert rv.table.hasFocus()
    qtbot.keyClick(rv.table, "/")
    assert rv.search.edit.hasFocus()
    with qtbot.waitSignal(rv.idsLoaded, timeout=10_000):
        qtbot.keyClicks(rv.search.edit, "zebra")
        qtbot.keyClick(rv.search.edit, Qt.Key.Key_Return)
    assert sorted(rv.model.sample_id(r) for r in range(rv.model.rowCount())) == zebra[:2]
    assert rv.table.hasFocus()  # Enter hands the keyboard back to the table
    # by id, as a regular expression
    rv.search.regex.setChecked(True)
    with qtbot.waitSignal(rv.idsLoaded, timeout=10_000):
        rv.search.set_search(r"rare-[02]$", regex=True)
    assert sorted(rv.model.sample_id(r) for r in range(rv.model.rowCount())) == [zebra[0], zebra[2]]
    # a broken pattern is named under the box; the table keeps its rows
    qtbot.keyClick(rv.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert rv.search.edit.hasFocus()
    qtbot.keyClicks(rv.search.edit, "(")
    qtbot.keyClick(rv.search.edit, Qt.Key.Key_Return)
    assert "not a regular expression" in rv.search.note.text()
    assert rv.model.rowCount() == 2
    # cleared: every labeled sample again
    with qtbot.waitSignal(rv.idsLoaded, timeout=10_000):
        rv.search.edit.clear()
    assert rv.model.rowCount() == 7
