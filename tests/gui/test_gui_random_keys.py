"""Random key presses on the real window (annotate and review views, dialogs included), on
both back ends: the store's derived state must equal a replay of its events, every
acknowledged label must be there, and the SQLite file must pass ``integrity_check``. The
quick run goes in every CI run; the long one, with the real background retraining and the
file dialogs of the review view in the mix, is marked slow."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from labeler.app_settings import ProjectSettings
from labeler.gui.main_window import MainWindow
from tests.gui.gui_helpers import assert_no_worker_threads, open_and_wait
from tests.gui.random_keys import check_store, drive

pytestmark = pytest.mark.gui


def run_random_session(qtbot, store, steps: int, seed: int, retrain: bool) -> None:  # type: ignore[no-untyped-def]
    if retrain:
        settings = ProjectSettings(retrain_every=10, batch_size=40)
        store.update_settings(**settings.to_project(store.info.settings))
        window = MainWindow()
    else:
        window = MainWindow(retrainer_factory=lambda *a: None)
    window.resize(1100, 700)
    window.show()
    try:
        open_and_wait(qtbot, window, store)
        result = drive(qtbot, window, steps, seed)
        n = check_store(store, result["saved"])
        assert n > steps // 10  # the session really labeled
        if retrain:
            runs = store.models.runs()
            failed = [r for r in runs if r.status != "ok"]
            assert not [r for r in failed if "have: none" in (r.error or "")]
    finally:
        window.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert_no_worker_threads()
    db = store.location.db_path
    if db is not None:
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            conn.close()


def test_random_keys_quick(qtbot, text_project) -> None:
    store = text_project(150)
    run_random_session(qtbot, store, steps=300, seed=14, retrain=False)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the retrain worker's own file
def test_random_keys_long_with_background_retraining(qtbot, text_project) -> None:
    store = text_project(400)
    run_random_session(qtbot, store, steps=800, seed=1400, retrain=True)
