"""A project pointed at a Dask scheduler that does not answer: the retrain fails in the
background with one line naming the scheduler, the GUI says so, and labeling goes on."""

from __future__ import annotations

import pytest

from tests.gui.gui_helpers import open_and_wait, press, shown_id
from tests.gui.test_gui_retrain import key_for, live_window, review_project  # noqa: F401

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_unreachable_dask_scheduler_is_reported_and_labeling_goes_on(
    qtbot,
    live_window,  # noqa: F811
    tmp_path,
) -> None:
    store, truth = review_project(tmp_path, compute="dask://127.0.0.1:9")
    view = open_and_wait(qtbot, live_window, store)
    c = view.controller
    failures: list[str] = []
    c.failure.connect(lambda msg, _details: failures.append(msg))
    for _ in range(10):
        press(qtbot, view, key_for(truth, shown_id(view)))
    while not any("127.0.0.1:9" in f for f in failures):
        with qtbot.waitSignal(c.failure, timeout=120_000):
            press(qtbot, view, key_for(truth, shown_id(view)))
    message = next(f for f in failures if "127.0.0.1:9" in f)
    assert message.startswith("Retraining failed") and "scheduler" in message
    assert "\n" not in message
    assert live_window.failure_button.isVisible()
    n = store.labels.labeled_count()
    for _ in range(3):
        press(qtbot, view, key_for(truth, shown_id(view)))
    assert store.labels.labeled_count() == n + 3
    assert store.models.latest_ok() is None
