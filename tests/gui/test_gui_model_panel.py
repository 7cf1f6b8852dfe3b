"""The model panel of the annotate view shows what the last real retrain chose."""

from __future__ import annotations

import pytest

from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from tests.gui.gui_helpers import open_and_wait
from tests.learning_data import add_tabular, blobs

pytestmark = pytest.mark.gui


def test_model_panel_shows_the_chosen_parameters_and_brier(qtbot, window, make_store) -> None:
    X, y = blobs(n=90, n_classes=3)
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    add_tabular(store, X, [(y[i],) if i < 45 else None for i in range(len(y))])
    run = train_once(store.location, TrainSettings(queue_size=20, cv_folds=3))
    assert run.status == "ok", run.error

    view = open_and_wait(qtbot, window, store)
    text = view.panel.model.text()
    C = run.params["chosen"]["C"]
    assert f"logreg: C={C:g}" in text
    assert f"Brier {run.metrics['brier']:.3f}" in text
