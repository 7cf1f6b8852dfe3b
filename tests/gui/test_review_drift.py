"""Review mode's Drift tab (drift recorded per import batch) and the MLflow run id column of
its run history."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from labeler.gui.review import ReviewView
from labeler.gui.review.drift_panel import severity
from labeler.learning.batch_drift import batch_drift
from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from labeler.store.drift_records import set_mlflow_run_id
from tests.learning_data import add_tabular

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def drifted(make_store):
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :6]
    order = np.random.default_rng(5).permutation(len(X))
    names = ("malignant", "benign")
    store = make_store(modality="tabular", labels=names)
    add_tabular(store, X[order[:250]], [(names[int(k)],) for k in y[order[:250]]])
    add_tabular(store, X[order[250:400]])
    add_tabular(store, X[order[400:]] * np.array([1.6, 1, 1, 1, 1, 1]))  # mean radius
    add_tabular(store, X[order[250:290]] * 1.001)  # imported in the app: not checked yet
    run = train_once(store.location, TrainSettings(queue_size=10, cv_folds=2))
    set_mlflow_run_id(store, run.id, "0123456789abcdef0123456789abcdef")
    batches = [b["id"] for b in store.summary()["import_batches"]]
    for batch in batches[1:3]:
        batch_drift(store, batch)
    return store


def test_the_drift_tab_shows_each_batch_and_the_runs_their_mlflow_ids(qtbot, drifted):
    view = ReviewView(drifted)
    qtbot.addWidget(view)
    view.resize(1300, 800)
    with qtbot.waitSignal(view.statsLoaded, timeout=60_000):
        view.show()
    qtbot.waitUntil(lambda: len(view.drift.records) == 4, timeout=10_000)
    panel = view.drift
    cells = [
        [panel.table.item(r, c).text() for c in range(panel.table.columnCount())]
        for r in range(panel.table.rowCount())
    ]
    assert [row[4].split(" ")[0] for row in cells] == ["not", "none", "strong", "not"]
    assert "feature 'f0'" in cells[2][4] and cells[2][6] == "250 labeled"
    assert "1 of 4 import batches look unlike" in panel.headline.text()
    assert [r.level for r in panel.chart.records] == ["unchecked", "none", "strong", "unchecked"]
    # the bars cross the alarm lines exactly where the checks alarmed
    assert severity(panel.records[1]) < 1.0 <= 2.0 <= severity(panel.records[2])
    view.tabs.setCurrentWidget(panel)
    assert not panel.chart.grab().isNull()

    runs = view.runs.table
    header = [runs.horizontalHeaderItem(c).text() for c in range(runs.columnCount())]
    column = header.index("MLflow run")
    assert runs.item(0, column).text() == "0123456789abcdef0123456789abcdef"
    view.shutdown()
