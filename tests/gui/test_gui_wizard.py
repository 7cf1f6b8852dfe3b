"""The new-project wizard and importing into an open project, on real files."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QWizard

from labeler.gui.new_project import guess
from labeler.learning.featureset import DEFAULT_TEXT_FEATURES
from labeler.store import Store
from tests.gui.gui_helpers import open_and_wait, shown_id

pytestmark = pytest.mark.gui


def write_csv(path, n=30, labels=None):  # type: ignore[no-untyped-def]
    rows = {
        "id": [f"doc-{i}" for i in range(n)],
        "text": [
            f"This is review number {i}, and it is quite long enough to read." for i in range(n)
        ],
        "stars": [i % 5 for i in range(n)],
    }
    if labels is not None:
        rows["label"] = labels
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def start_wizard(qtbot, window, source):  # type: ignore[no-untyped-def]
    window.new_project()
    wiz = window.wizard
    assert wiz.isVisible()
    wiz.source_page.path.setText(str(source))
    wiz.next()
    return wiz


def test_wizard_imports_a_csv_and_opens_the_project(qtbot, window, tmp_path) -> None:
    source = write_csv(tmp_path / "reviews.csv", labels=["good", "bad", ""] * 10)
    wiz = start_wizard(qtbot, window, source)
    cols = wiz.columns_page
    assert wiz.currentPage() is cols
    assert cols.table.model().rowCount() == 20  # the preview shows the first rows
    assert cols.modality.currentText() == "text"
    assert cols.text_column.currentText() == "text"
    assert cols.id_column.currentText() == "id"
    assert cols.label_column.currentText() == "label"
    assert cols.text_features.isVisible()
    assert cols.text_features.currentText() == DEFAULT_TEXT_FEATURES
    cols.text_features.setCurrentText("embedding")
    wiz.next()
    page = wiz.labels_page
    assert page.names() == ["good", "bad"]  # guessed from the label column
    page.labels.setText("good, bad, unsure")
    assert page.shortcuts() == ["1", "2", "3"]
    page.keys.item(2, 1).setText("u")
    folder = tmp_path / "new-project"
    page.folder.setText(str(folder))
    with qtbot.waitSignal(window.firstItemShown, timeout=30_000):
        qtbot.mouseClick(wiz.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    store = Store.open(folder)
    info = store.info
    assert (info.modality, info.label_names) == ("text", ["good", "bad", "unsure"])
    assert [lab.shortcut for lab in info.labels] == ["1", "2", "u"]
    assert store.samples.count() == 30
    assert info.settings["learning"]["features"]["text_features"] == "embedding"
    assert store.labels.labeled_count() == 20  # rows with a label came in as labels
    assert store.samples.by_external_id("doc-4").text.startswith("This is review number 4")
    view = window.annotate_view
    assert shown_id(view) is not None
    assert str(folder.resolve()) in window.user.recent_projects


def test_wizard_rejects_unreadable_file_inline(qtbot, window, tmp_path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    wiz = start_wizard(qtbot, window, bad)
    assert wiz.currentPage() is wiz.source_page  # stayed on the first page
    assert "unsupported file type" in wiz.source_page.error.text()


def test_wizard_bad_row_gives_dialog_and_creates_nothing(qtbot, window, tmp_path) -> None:
    source = write_csv(tmp_path / "reviews.csv", labels=["good"] * 20 + ["typo"] + ["bad"] * 9)
    wiz = start_wizard(qtbot, window, source)
    wiz.next()
    wiz.labels_page.labels.setText("good, bad")  # "typo" in row 21 is not a label
    folder = tmp_path / "will-not-exist"
    wiz.labels_page.folder.setText(str(folder))
    with qtbot.waitSignal(window.reporter.reported, timeout=30_000) as blocker:
        qtbot.mouseClick(wiz.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    title, message = blocker.args
    assert title == "Import failed"
    assert "reviews.csv" in message and "row 21" in message and "typo" in message
    assert window.reporter.last_box.isVisible()
    assert not folder.exists()
    assert window.controller is None  # no project was opened


def test_wizard_cancel_creates_nothing(qtbot, window, tmp_path) -> None:
    source = write_csv(tmp_path / "reviews.csv")
    wiz = start_wizard(qtbot, window, source)
    wiz.next()
    wiz.labels_page.labels.setText("good, bad")
    folder = tmp_path / "cancelled"
    wiz.labels_page.folder.setText(str(folder))
    gate = threading.Event()
    window.jobs.submit(gate.wait)  # hold the worker so Cancel is pressed before the import runs
    wiz.accept()
    task = wiz.task
    cancel_button = task.dialog.findChild(QPushButton)
    assert cancel_button.text() == "Cancel"
    with qtbot.waitSignal(task.cancelled, timeout=30_000):
        qtbot.mouseClick(cancel_button, Qt.MouseButton.LeftButton)
        gate.set()
    assert not folder.exists()


def test_bad_import_into_open_project_changes_nothing(
    qtbot, window, text_project, tmp_path
) -> None:
    store = text_project(n=5, labels=("good", "bad"))
    open_and_wait(qtbot, window, store)
    before = store.dump()
    source = write_csv(tmp_path / "more.csv", labels=["good", "oops"] * 15)
    with qtbot.waitSignal(window.reporter.reported, timeout=30_000) as blocker:
        window.import_into_project(str(source))
    assert "row 2" in blocker.args[1] and "The project was not changed" in blocker.args[1]
    assert store.dump() == before
    # a good file imports, and the session sees the new samples
    good = write_csv(tmp_path / "good.csv", n=7, labels=["good", "bad", "good", "", "", "", ""])
    task = window.import_into_project(str(good))
    with qtbot.waitSignal(task.succeeded, timeout=30_000):
        pass
    assert store.samples.count() == 12
    qtbot.waitUntil(lambda: window.controller.session.counts.total == 12, timeout=10_000)


def test_guess_from_preview() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "class": ["cat", "dog"]})
    g = guess(frame, is_folder=False)
    assert (g.modality, g.label_column, g.feature_columns, g.labels) == (
        "tabular",
        "class",
        ["a", "b"],
        ["cat", "dog"],
    )
    g = guess(pd.DataFrame({"image": ["a.png"], "id": ["a"], "folder": ["cat"]}), is_folder=True)
    assert (g.modality, g.image_column, g.labels) == ("image", "image", ["cat"])


def test_a_file_of_messages_is_guessed_as_text_whatever_string_dtype_pandas_uses(
    tmp_path,
) -> None:
    """pandas 3 reads text columns as its string dtype, not object: the guess used to miss
    them and call a file of messages tabular (a model of the majority class followed)."""
    from labeler.data.readers import preview

    messages = [
        "Your parcel is waiting, confirm your address at this link today",
        "Are we still meeting for lunch tomorrow at the usual place?",
    ]
    path = tmp_path / "messages.csv"
    pd.DataFrame({"label": ["spam", "ham"], "sms": messages}).to_csv(path, index=False)
    frame = preview(path, 10)
    for column in (frame, frame.astype({"sms": object}), frame.astype({"sms": "string"})):
        g = guess(column, is_folder=False)
        assert (g.modality, g.text_column, g.label_column) == ("text", "sms", "label")


def test_back_and_another_file_replaces_the_suggestions_and_text_is_readable(
    qtbot, window, tmp_path
) -> None:
    first = write_csv(tmp_path / "first.csv", labels=["good", "bad"] * 15)
    wiz = start_wizard(qtbot, window, first)
    text_col = [wiz.columns_page.table.model().headerData(c, Qt.Orientation.Horizontal)
                for c in range(3)].index("text")  # fmt: skip
    assert wiz.columns_page.table.columnWidth(text_col) > 250  # the review text can be read
    wiz.next()
    assert wiz.labels_page.names() == ["good", "bad"]
    wiz.back()
    wiz.back()
    second = write_csv(tmp_path / "second.csv", labels=["spam", "ham"] * 15)
    wiz.source_page.path.setText(str(second))
    wiz.next()
    wiz.next()
    page = wiz.labels_page
    assert page.names() == ["spam", "ham"]
    assert page.folder.text() == str(tmp_path / "second-project")
    wiz.back()
    wiz.next()  # what the user typed is kept
    page.labels.setText("spam, ham, unsure")
    wiz.back()
    wiz.next()
    assert page.names() == ["spam", "ham", "unsure"]
    wiz.reject()
