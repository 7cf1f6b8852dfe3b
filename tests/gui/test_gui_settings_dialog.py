"""The settings dialog changes user settings (saved in the config file) and project settings
(saved in the project), and the open window follows them."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from labeler.app_settings import ProjectSettings, SettingsFile
from labeler.learning.settings import TrainSettings
from tests.gui.gui_helpers import open_and_wait, press

pytestmark = pytest.mark.gui


def test_settings_dialog_applies_and_persists(qtbot, window, text_project) -> None:
    store = text_project(n=10)
    view = open_and_wait(qtbot, window, store)
    window.open_settings()
    dialog = window.settings_dialog
    assert dialog.isVisible()
    dialog.annotator.setText("maria")
    dialog.theme.setCurrentText("dark")
    dialog.font_size.setValue(22)
    dialog.retrain_every.setValue(25)
    dialog.strategy.setCurrentText("entropy")
    assert dialog.text_features is not None  # a text project offers its feature choice
    dialog.text_features.setCurrentText("tfidf")
    with qtbot.waitSignal(view.controller.message, timeout=10_000):  # project settings saved
        dialog.accept()

    saved = SettingsFile().load()
    assert (saved.annotator, saved.theme, saved.font_size) == ("maria", "dark", 22)
    assert QApplication.instance().palette().window().color().lightness() < 100
    assert "22pt" in view.display.text_view.styleSheet()
    project = ProjectSettings.from_project(type(store).open(store.location).info.settings)
    assert (project.retrain_every, project.strategy) == (25, "entropy")
    assert project.text_features == "tfidf"
    reopened = type(store).open(store.location)
    assert TrainSettings.from_project(reopened).features.text_features == "tfidf"
    assert view.controller.overview.settings.retrain_every == 25

    # labels from now on carry the new annotator name
    press(qtbot, view, "1")
    assert store.labels.events()[-1].annotator == "maria"


def _held(store, annotator: str) -> set[int]:
    """Samples ``annotator`` holds: those held by others, seen from a third name."""
    return store.claims.held_by_others("nobody") - store.claims.held_by_others(annotator)


def test_renaming_the_annotator_moves_their_claims(qtbot, window, text_project) -> None:
    store = text_project(n=30)
    view = open_and_wait(qtbot, window, store)
    old = window.user.annotator
    controller = view.controller
    qtbot.waitUntil(lambda: not controller.fetching, timeout=10_000)
    session = controller.session
    shown = {session.current.sample_id, *(i.sample_id for i in session.upcoming)}
    assert _held(store, old) == shown
    window.open_settings()
    window.settings_dialog.annotator.setText("maria")
    window.settings_dialog.accept()
    qtbot.waitUntil(lambda: _held(store, "maria") == shown, timeout=10_000)
    assert _held(store, old) == set()  # a colleague is no longer kept from them
    press(qtbot, view, "1")
    assert store.labels.events()[-1].annotator == "maria"


def test_geometry_is_restored_with_layout_version(qtbot) -> None:
    from labeler.gui.main_window import LAYOUT_VERSION, MainWindow, window_settings

    w = MainWindow(retrainer_factory=lambda *a: None)
    qtbot.addWidget(w)
    w.resize(780, 580)
    w.show()
    size = (w.width(), w.height())
    assert size != (1280, 800)
    w.close()
    assert window_settings().value("layout_version", type=int) == LAYOUT_VERSION
    w2 = MainWindow(retrainer_factory=lambda *a: None)
    qtbot.addWidget(w2)
    assert (w2.width(), w2.height()) == size
    # a different layout version ignores the stored geometry
    qs = window_settings()
    qs.setValue("layout_version", LAYOUT_VERSION + 1)
    qs.sync()
    w3 = MainWindow(retrainer_factory=lambda *a: None)
    qtbot.addWidget(w3)
    assert (w3.width(), w3.height()) == (1280, 800)
