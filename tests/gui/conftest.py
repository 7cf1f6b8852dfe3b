"""Fixtures for the desktop tests: projects filled through the store API and a main window
whose settings and data live under tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from labeler.store import Store
from tests.gui.gui_helpers import assert_no_worker_threads, fill_text


@pytest.fixture(autouse=True)
def _gui_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELER_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture
def text_project(make_store: Callable[..., Store]) -> Callable[..., Store]:
    """``text_project(n=60, labels=("pos", "neg"), task_type=...)`` -> a Store with n texts."""

    def make(
        n: int = 60, labels: tuple[str, ...] = ("pos", "neg", "neutral"), **kw: object
    ) -> Store:
        store = make_store(modality="text", labels=labels, **kw)
        fill_text(store, n)
        return store

    return make


@pytest.fixture
def window(qtbot) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A main window without background retraining (tests that need it build their own)."""
    from labeler.gui.main_window import MainWindow

    w = MainWindow(retrainer_factory=lambda *a: None)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    yield w
    w.close()
    # delete the window and its dialogs now, not at some later test's event processing
    from PySide6.QtCore import QCoreApplication, QEvent

    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert_no_worker_threads()
