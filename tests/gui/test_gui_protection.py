"""The critical issue: file dialogs dropped SQLite's locks in the GUI process and the retrain
worker then corrupted the project. Driven like a user on the real window: every file dialog
of the app listing the project (even its database folder), the reported key sequence with a
real retrain worker, lost locks caught and mended, a damaged project refused with its
backup offered, review buttons that Space cannot press, and a key during a commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QFileSystemModel, QMessageBox

from labeler.store import Store, integrity
from labeler.store.lock_guard import locks_held
from tests.gui.gui_helpers import open_and_wait, press, shown_id, wait_painted

pytestmark = pytest.mark.gui
CTRL = Qt.KeyboardModifier.ControlModifier
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the files at risk


def shm_of(store: Store) -> Path:
    db = store.location.db_path
    assert db is not None
    return db.with_name(db.name + "-shm")


def open_file_dialogs(window) -> list[QFileDialog]:  # type: ignore[no-untyped-def]
    return [d for d in window.findChildren(QFileDialog) if d.isVisible()]


def list_folder(qtbot, dialog: QFileDialog, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Point ``dialog`` at ``folder`` and let it list and paint it (types, icons)."""
    model = dialog.findChild(QFileSystemModel)
    assert model is not None
    with qtbot.waitSignal(model.directoryLoaded, timeout=10_000):
        dialog.setDirectory(str(folder))
    dialog.grab()  # paint: the view asks for every visible file's type and icon


@sqlite_only
def test_no_file_dialog_of_the_app_drops_sqlite_locks(qtbot, window, text_project, tmp_path):
    store = text_project(30)
    open_and_wait(qtbot, window, store)
    shm = shm_of(store)
    assert locks_held(shm)

    # the harness can see the bug: a plain Qt dialog on a second project drops its locks
    control = Store.create(tmp_path / "control", modality="text", labels=["a", "b"])
    control.labels.unlabeled_ids()  # holds a connection, so holds locks
    control_shm = shm_of(control)
    assert locks_held(control_shm)
    plain = QFileDialog(window, "plain")
    plain.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    plain.open()

    window.show_review()
    review = window.review_view
    folder = store.location.folder
    openers = {
        "import": window.choose_import,
        "open project": window.browse_project,
        "export dataset": lambda: review.publish.ask_export()._browse(),
        "save plots": review._ask_save_plots,
    }
    for name, opener in openers.items():
        opener()
        dialogs = [d for d in open_file_dialogs(window) if d is not plain]
        assert len(dialogs) == 1, name
        dialog = dialogs[0]
        assert ".labeler" not in dialog.directory().absolutePath(), name
        for sub in ("", ".labeler"):  # the project folder, and its database folder by hand
            list_folder(qtbot, plain, control.location.folder / sub)
            list_folder(qtbot, dialog, folder / sub)
        qtbot.waitUntil(lambda: locks_held(control_shm) == 0, timeout=10_000)
        assert locks_held(shm), f"the {name} dialog dropped SQLite's locks"
        dialog.reject()
        if review.publish.export_dialog is not None:
            review.publish.export_dialog.reject()
        # the plain dialog dropped them; reopen the control so the next round can show it
        control.close()
        control = Store.open(tmp_path / "control")
        control.labels.unlabeled_ids()
    plain.reject()
    control.close()
    assert window.controller.locks_ok()


@sqlite_only
def test_lost_locks_are_caught_and_the_project_reopened(qtbot, window, text_project):
    store = text_project(30)
    view = open_and_wait(qtbot, window, store)
    store.close()  # the window's connections are the only ones in this process, as in the app
    press(qtbot, view, "1")
    with (
        qtbot.waitSignal(window.rescue.reopened, timeout=20_000),
        open(shm_of(store), "rb") as f,  # what a careless dialog or preview would do
    ):
        f.read(8)
    qtbot.waitUntil(lambda: window.annotate_view is not None, timeout=20_000)
    qtbot.waitUntil(lambda: bool(locks_held(shm_of(store))), timeout=20_000)
    view = window.annotate_view
    qtbot.waitUntil(lambda: shown_id(view) is not None, timeout=20_000)
    wait_painted(qtbot, view)  # a key only labels a sample that is on screen
    press(qtbot, view, "2")  # labeling goes on
    assert "Reopened" in window.status_text.text()
    assert window.rescue.hazards == 1
    with Store.open(store.location.folder) as again:
        assert again.summary()["labeled"] == 2


def corrupt(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[16384 : 16384 + 512] = b"\xff" * 512  # page 2
    db.write_bytes(bytes(data))


@sqlite_only
def test_a_damaged_project_is_refused_and_its_backup_restored(qtbot, window, text_project):
    store = text_project(30)
    sid = store.labels.unlabeled_ids()[0]
    store.labels.add(sid, ["pos"], "ann")
    db = store.location.db_path
    folder = store.location.folder
    integrity.make_backup(db)
    store.close()
    conn = sqlite3.connect(db)  # fold the WAL so the file holds everything
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    corrupt(db)
    with qtbot.waitSignal(window.rescue.offered, timeout=20_000) as blocker:
        window.open_project(str(folder))
    box: QMessageBox = blocker.args[0]
    assert "damaged" in box.text() and "newest backup" in box.text()
    assert window.controller is None  # nothing holds the damaged file open
    restore = next(b for b in box.buttons() if "Restore" in b.text())
    with qtbot.waitSignal(window.firstItemShown, timeout=30_000):
        restore.click()
    assert integrity.quick_check(db) == []
    again = Store.open(folder)
    assert again.labels.state(sid).labels == ("pos",)
    again.close()
    assert list(db.parent.glob("damaged-*.db"))  # the damaged file is kept


def test_review_buttons_ignore_space_and_push_asks_first(qtbot, window, text_project):
    store = text_project(30)
    view = open_and_wait(qtbot, window, store)
    for key in ("1", "2", "3", "1"):
        press(qtbot, view, key)
    qtbot.keyClick(view, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    review = window.review_view
    assert review is not None and review.table.hasFocus()
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Return):
        qtbot.keyClick(QApplication.focusWidget(), key)
    assert not open_file_dialogs(window)
    assert review.export_button.focusPolicy() == Qt.FocusPolicy.NoFocus
    assert review.push_button.focusPolicy() == Qt.FocusPolicy.NoFocus
    qtbot.keyClick(review.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    export = review.publish.export_dialog
    assert export is not None and export.isVisible()
    export.reject()
    assert review.publish.export_dialog is None
    qtbot.keyClick(
        review.table,
        Qt.Key.Key_E,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    box = review.push_confirmation
    assert box.isVisible() and box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert not (store.location.folder / "registry").exists()  # nothing was pushed


def test_a_key_during_a_commit_is_refused_visibly(qtbot, window, text_project):
    store = text_project(30)
    view = open_and_wait(qtbot, window, store)
    first = shown_id(view)
    with qtbot.waitSignal(view.controller.refused, timeout=10_000):
        qtbot.keyClick(view, "1")  # the next sample shows; the commit is in flight
        qtbot.keyClick(view, "2")  # arrives before it is painted or the label saved
    qtbot.waitUntil(lambda: shown_id(view) != first, timeout=10_000)
    status = window.status_text.text()
    assert "Still saving" in status or "not on screen yet" in status, status
    qtbot.waitUntil(lambda: not view.controller.busy, timeout=10_000)
    assert store.labels.state(first).labels == ("pos",)
    assert store.summary()["labeled"] == 1


@sqlite_only
@pytest.mark.slow
@pytest.mark.parametrize("dialog_key", ["export", "import", "open"])
def test_the_reported_sequence_with_a_real_retrain_worker_keeps_the_project_sound(
    qtbot, text_project, dialog_key
) -> None:
    """The issue's steps: a file dialog listing the project (here: its folder and then its
    database folder), Escape, back to annotating, then labeling with background retraining
    every 10 labels in a real worker process. Every acknowledged label must be in the file,
    retrains must see them, and ``integrity_check`` must pass."""
    from PySide6.QtCore import QCoreApplication, QEvent

    from labeler.app_settings import ProjectSettings
    from labeler.gui.main_window import MainWindow
    from tests.gui.gui_helpers import assert_no_worker_threads

    store = text_project(200)
    settings = ProjectSettings(retrain_every=10, batch_size=40)
    store.update_settings(**settings.to_project(store.info.settings))
    folder = store.location.folder
    store.close()
    window = MainWindow()  # the engine's real background retraining
    window.resize(1100, 700)
    window.show()
    try:
        view = open_and_wait(qtbot, window, Store.open(folder))
        c = window.controller
        opener = {
            "export": lambda: (
                qtbot.keyClick(window.review_view.table, Qt.Key.Key_E, CTRL),
                window.review_view.publish.export_dialog._browse(),
            ),
            "import": lambda: qtbot.keyClick(window, Qt.Key.Key_I, CTRL),
            "open": lambda: qtbot.keyClick(window, Qt.Key.Key_O, CTRL),
        }[dialog_key]
        if dialog_key == "export":
            qtbot.keyClick(view, Qt.Key.Key_2, CTRL)
        opener()
        dialog = open_file_dialogs(window)[0]
        for sub in ("", ".labeler"):
            list_folder(qtbot, dialog, folder / sub)
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        if dialog_key == "export":
            window.review_view.publish.export_dialog.reject()
        window.activateWindow()
        qtbot.keyClick(window, Qt.Key.Key_1, CTRL)
        view = window.annotate_view
        saved: list[tuple[int, int]] = []
        c.labelSaved.connect(lambda sid, eid: saved.append((sid, eid)))
        retrained: list[object] = []
        c.retrainer.finished.connect(retrained.append)
        for i in range(40):
            press(qtbot, view, "1" if i % 3 else "2")
        qtbot.waitUntil(lambda: len(retrained) >= 2, timeout=180_000)
        assert c.locks_ok() and window.rescue.hazards == 0
        assert all(getattr(r, "ok", False) for r in retrained), [
            getattr(r, "error", None) for r in retrained
        ]
    finally:
        window.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert_no_worker_threads()
    db = folder / ".labeler" / "project.db"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    with Store.open(folder) as again:
        events = {e.id: e for e in again.labels.events()}
        assert len(saved) == 40
        assert all(eid in events and events[eid].sample_id == sid for sid, eid in saved)
        assert again.summary()["labeled"] == 40
        assert any(r.status == "ok" and r.label_count >= 10 for r in again.models.runs())
