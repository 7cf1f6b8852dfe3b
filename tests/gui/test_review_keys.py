"""Keyboard-first review on the real window: focus on the table, j/k, label keys relabel
(as the annotator from the settings, with the comment kept), Enter adjudicates, n jumps to
the next disagreement, tab switches keep the sample, and the export dialog's policy."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.gui.gui_helpers import open_and_wait, press

pytestmark = pytest.mark.gui


@pytest.fixture
def review(qtbot, window, text_project):  # type: ignore[no-untyped-def]
    store = text_project(12, labels=("pos", "neg"))
    view = open_and_wait(qtbot, window, store)
    for key in "121212":
        press(qtbot, view, key)
    ids = [e.sample_id for e in store.labels.events()]
    store.labels.add(ids[0], ["neg"], "bob")  # bob disagrees on the first sample
    window.update_user(window.user.__class__(**{**window.user.__dict__, "annotator": "rita"}))
    qtbot.keyClick(view, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    rv = window.review_view
    qtbot.waitUntil(lambda: rv.model.rowCount() == 6, timeout=20_000)
    return store, rv, ids


def select_row(qtbot, rv, row: int) -> int:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(rv.detailShown, timeout=10_000) as blocker:
        rv.table.setCurrentIndex(rv.model.index(row, 0))
    return blocker.args[0]


def test_keys_move_relabel_and_adjudicate(qtbot, window, review) -> None:
    store, rv, ids = review
    assert rv.table.hasFocus()
    first = select_row(qtbot, rv, 0)
    with qtbot.waitSignal(rv.detailShown, timeout=10_000) as moved:
        qtbot.keyClick(rv.table, "j")
    assert moved.args[0] == rv.model.sample_id(1)
    with qtbot.waitSignal(rv.detailShown, timeout=10_000):
        qtbot.keyClick(rv.table, "k")
    assert rv.selected_id() == first
    with qtbot.waitSignal(rv.labelsChanged, timeout=10_000):
        qtbot.keyClick(rv.table, "2")  # relabel as "neg"
    last = store.labels.events(sample_id=first)[-1]
    assert (last.action, last.labels, last.annotator) == ("label", ("neg",), "rita")
    qtbot.waitUntil(lambda: rv._detail is not None and rv._detail.labels == ("neg",))
    with qtbot.waitSignal(rv.labelsChanged, timeout=10_000):
        qtbot.keyClick(rv.table, Qt.Key.Key_Return)
    last = store.labels.events(sample_id=first)[-1]
    assert (last.action, last.labels) == ("adjudicate", ("neg",))
    assert "Enter adjudicates" in rv.findChild(type(rv.status), "reviewKeys").text()


def test_relabel_from_the_panel_records_the_annotator_and_comment(qtbot, review) -> None:
    store, rv, _ = review
    sid = select_row(qtbot, rv, 2)
    rv.detail.label_choice.setCurrentText("pos")
    rv.detail.comment.setText("obvious from the words")
    with qtbot.waitSignal(rv.labelsChanged, timeout=10_000):
        rv.detail.relabel_button.click()
    last = store.labels.events(sample_id=sid)[-1]
    assert (last.annotator, last.comment) == ("rita", "obvious from the words")


def test_n_jumps_to_the_next_disagreement_and_tabs_keep_the_sample(qtbot, review) -> None:
    store, rv, ids = review
    select_row(qtbot, rv, rv.model.rowCount() - 1)
    with qtbot.waitSignal(rv.detailShown, timeout=10_000) as blocker:
        qtbot.keyClick(rv.table, "p")  # back up to the disagreement (the first sample)
    assert blocker.args[0] == ids[0]
    for tab in range(rv.tabs.count()):
        rv.tabs.setCurrentIndex(tab)
        rv.tabs.currentWidget().setFocus()
    rv.tabs.setCurrentIndex(0)
    assert rv.detail.sample_id == ids[0]


def test_export_dialog_offers_the_label_policy(qtbot, review, tmp_path) -> None:
    store, rv, _ = review
    qtbot.keyClick(rv.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = rv.publish.export_dialog
    assert [dialog.policy.itemData(i) for i in range(dialog.policy.count())] == [
        "latest", "adjudicated", "majority",
    ]  # fmt: skip
    dialog.format.setCurrentText("jsonl")
    dialog.policy.setCurrentIndex(2)  # majority
    out = tmp_path / "majority.jsonl"
    dialog.path.setText(str(out))
    with qtbot.waitSignal(rv.exportFinished, timeout=30_000) as blocker:
        dialog.accept()
    manifest = blocker.args[0].manifest
    assert manifest["label_policy"] == "majority" and out.is_file()
    assert "majority labels" in rv.status.text()
