"""Tracking from the app: the background worker logs each retrain as an MLflow run (a real
SQLite tracking store), the tracking URI is a project setting in the settings dialog, and a
tracking URI that fails shows one warning in the status bar while the retrain succeeds."""

from __future__ import annotations

import mlflow
import pytest
from PySide6.QtWidgets import QMessageBox

from labeler.app_settings import ProjectSettings
from labeler.learning.settings import TrainSettings
from labeler.learning.tracking import experiment_name
from tests.gui.gui_helpers import open_and_wait
from tests.gui.test_gui_retrain import live_window, review_project  # noqa: F401 - fixture

pytestmark = pytest.mark.gui


@pytest.mark.slow
def test_the_apps_retrains_are_tracked_and_a_failing_uri_only_warns(
    qtbot,
    live_window,  # noqa: F811 - the fixture
    tmp_path,
) -> None:
    (tmp_path / "mlflow").mkdir()
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    store, _ = review_project(tmp_path, n=60, tracking=f"mlflow:{uri}")
    for i, sid in enumerate(store.samples.ids()[:20]):
        store.labels.add(sid, ["pos" if i % 2 == 0 else "neg"], "ann")
    view = open_and_wait(qtbot, live_window, store)
    c = view.controller
    qtbot.waitUntil(lambda: not c.retrainer.is_running, timeout=120_000)  # the opening retrain
    with qtbot.waitSignal(c.retrainer.followedUp, timeout=120_000) as got:
        assert c.retrain_now()
    after = got.args[0]
    assert after.warnings == [] and after.mlflow_run_id
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment_name(store.info.name))
    runs = client.search_runs([exp.experiment_id])
    assert after.mlflow_run_id in {r.info.run_id for r in runs}
    recorded = {r.id: r.mlflow_run_id for r in store.models.runs()}
    assert recorded[after.run_id] == after.mlflow_run_id
    assert len(runs) == sum(1 for v in recorded.values() if v)  # one MLflow run per retrain

    (tmp_path / "a-file").write_text("not a folder")
    broken = ProjectSettings.from_project(store.info.settings)
    broken = ProjectSettings(
        **{**broken.__dict__, "tracking": f"mlflow:sqlite:///{tmp_path / 'a-file' / 'x.db'}"}
    )
    with qtbot.waitSignal(c.message, timeout=10_000):
        c.apply_project_settings(broken)
    with (
        qtbot.waitSignal(c.retrainer.followedUp, timeout=120_000) as got,
        qtbot.waitSignal(c.retrainer.finished, timeout=120_000) as result,
    ):
        assert c.retrain_now()
    assert result.args[0].ok  # the retrain itself succeeded
    [warning] = got.args[0].warnings
    assert "MLflow tracking of run" in warning
    qtbot.waitUntil(lambda: "MLflow tracking" in live_window.status_text.text(), timeout=5_000)
    assert len(client.search_runs([exp.experiment_id])) == len(runs)


def test_the_tracking_uri_is_a_project_setting_checked_in_the_dialog(
    qtbot, window, text_project, tmp_path
) -> None:
    store = text_project(n=10)
    view = open_and_wait(qtbot, window, store)
    window.open_settings()
    dialog = window.settings_dialog
    assert dialog.tracking is not None and dialog.tracking.text() == ""
    dialog.tracking.setText("sqlite:///no-prefix.db")
    dialog._accept_if_valid()  # what OK does
    box = dialog.error_box
    assert isinstance(box, QMessageBox) and box.isVisible() and dialog.isVisible()
    assert "mlflow:<tracking uri>" in box.text()
    box.accept()
    good = f"mlflow:sqlite:///{tmp_path / 'mlflow.db'}"
    dialog.tracking.setText(good)
    with qtbot.waitSignal(view.controller.message, timeout=10_000):  # project settings saved
        dialog._accept_if_valid()
    assert not dialog.isVisible()
    reopened = type(store).open(store.location)
    assert TrainSettings.from_project(reopened).tracking == good
    assert ProjectSettings.from_project(reopened.info.settings).tracking == good
