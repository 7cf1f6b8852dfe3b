"""The retrain bar and the status bar follow the retrains of the real scheduler (a worker
process): the bar shows each phase with its percent, goes off when the result is delivered,
and a cold-start "two classes" failure neither alarms nor outlives a model that trained."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from labeler.app_settings import ProjectSettings
from labeler.learning.retrain_phases import PHASES, progress_of
from tests.gui.gui_helpers import assert_no_worker_threads, open_and_wait, press

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def live_window(qtbot):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QCoreApplication, QEvent

    from labeler.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    yield w
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert_no_worker_threads()


def test_phases_cover_the_scale_in_order() -> None:
    assert [p.name for p in PHASES] == ["features", "fitting", "scoring", "saving"]
    assert progress_of(10, 100).phase.name == "features"
    assert progress_of(40, 100).phase.name == "fitting"  # features done: the fit begins
    assert progress_of(80, 100).text == "Retraining: scoring the pool (80%)"
    assert progress_of(100, 100).phase.name == "saving"
    assert progress_of(3, None).percent == 0


def test_bar_shows_phases_and_no_stale_two_classes_failure(
    qtbot, live_window, text_project
) -> None:
    # a pool big enough that the cold-start run (features, then k-means seeds) takes a while
    store = text_project(400, labels=("pos", "neg"))
    # no retrain every N labels: only the cold-start one at opening and Ctrl+R
    store.update_settings(**ProjectSettings(retrain_every=0).to_project(store.info.settings))
    view = open_and_wait(qtbot, live_window, store)
    c = view.controller
    assert c.retrainer is not None
    bar = view.panel.retraining
    results: list[object] = []
    c.retrainer.finished.connect(results.append)
    texts: list[str] = []
    c.retrainProgress.connect(lambda _p: texts.append(bar.format()))
    # the cold-start retrain asked for at opening has read the labels (it reports progress
    # after that) and is still in the worker: label both classes before it reports "need
    # labels of at least two classes"
    qtbot.waitUntil(lambda: len(texts) > 0, timeout=120_000)
    press(qtbot, view, "1")
    press(qtbot, view, "2")
    qtbot.waitUntil(lambda: len(results) == 1, timeout=120_000)
    assert not results[0].ok and "two classes" in results[0].error
    assert not bar.isVisible()
    # expected at cold start: a hint, not "Retraining failed"
    assert not live_window.failure_button.isVisible()

    qtbot.keyClick(view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=120_000)
    assert results[1].ok, results[1].error
    # the bar named each phase with its percent, in order, then went off
    assert any("computing features" in t for t in texts)
    assert any("fitting the model" in t for t in texts)
    assert any("scoring the pool" in t for t in texts)
    order = [
        next(i for i, t in enumerate(texts) if word in t)
        for word in ("features", "fitting", "scoring")
    ]
    assert order == sorted(order)
    assert all(t.endswith("%)") for t in texts)
    assert not bar.isVisible()
    assert not live_window.failure_button.isVisible()
    qtbot.waitUntil(lambda: "Version" in view.panel.model.text(), timeout=20_000)
    assert "failed" not in view.panel.model.text()


def test_a_success_clears_a_retrain_failure_on_screen(qtbot, live_window, text_project) -> None:
    store = text_project(40, labels=("pos", "neg"))
    store.update_settings(
        **ProjectSettings(retrain_every=0, model="no-such-model").to_project(store.info.settings)
    )
    view = open_and_wait(qtbot, live_window, store)
    c = view.controller
    results: list[object] = []
    c.retrainer.finished.connect(results.append)
    qtbot.waitUntil(lambda: len(results) == 1, timeout=120_000)  # the one at opening
    press(qtbot, view, "1")
    press(qtbot, view, "2")
    qtbot.keyClick(view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=120_000)
    assert not results[1].ok
    qtbot.waitUntil(live_window.failure_button.isVisible, timeout=10_000)
    assert "Retraining failed" in live_window.failure_button.text()
    # the annotator fixes the model in the settings; the next retrain succeeds
    c.apply_project_settings(ProjectSettings(retrain_every=0))
    qtbot.waitUntil(lambda: c.overview.settings.model != "no-such-model", timeout=10_000)
    qtbot.keyClick(view, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(results) == 3, timeout=120_000)
    assert results[2].ok, results[2].error
    qtbot.waitUntil(lambda: not live_window.failure_button.isVisible(), timeout=10_000)
    assert not view.panel.retraining.isVisible()
