"""Model selection in every retrain: the grid, its choice, calibration and the run record."""

from __future__ import annotations

import numpy as np

from labeler.learning.catalog import make_estimator
from labeler.learning.features import load_features
from labeler.learning.fitting import Targets
from labeler.learning.selection import (
    TIE,
    calibration_scores,
    is_imbalanced,
    proba_columns,
    scale,
    select_model,
)
from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from labeler.registry.trust import load_trusted
from tests.learning_data import add_tabular


def noisy_imbalanced(n: int = 300, minority: float = 0.15, seed: int = 0):
    """Two overlapping classes, the minority about ``minority`` of the rows."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < minority, "rare", "common")
    X = rng.normal(size=(n, 6))
    X[:, 0] += np.where(y == "rare", 1.2, 0.0)
    return X, y.astype(object)


def test_imbalanced_labels_get_balanced_weights_in_the_grid() -> None:
    X, y = noisy_imbalanced()
    targets = Targets(y, ["common", "rare"], False)
    assert is_imbalanced(targets)
    sel = select_model(make_estimator("logreg", "tabular"), "logreg", X, targets, 5, 0)

    unweighted = [c for c in sel.candidates if c["class_weight"] is None]
    assert [c["C"] for c in unweighted] == [0.1, 1.0, 10.0]
    top = max(c["macro_f1"] for c in unweighted)
    best_C = min((c for c in unweighted if c["macro_f1"] >= top - TIE), key=lambda c: c["log_loss"])
    balanced = [c for c in sel.candidates if c["class_weight"] == "balanced"]
    assert [c["C"] for c in balanced] == [best_C["C"]]  # balanced at the best unweighted C
    best = max(c["macro_f1"] for c in sel.candidates)
    near = [c for c in sel.candidates if c["macro_f1"] >= best - TIE]
    winner = min(near, key=lambda c: c["log_loss"])
    assert sel.chosen == {"C": winner["C"], "class_weight": winner["class_weight"]}
    assert sel.estimator.get_params()["C"] == winner["C"]
    assert sel.estimator.get_params()["class_weight"] == winner["class_weight"]
    assert sel.folds == 5 and sel.oof is not None and sel.oof.shape == (len(y), 2)


def test_balanced_labels_only_search_the_regularisation() -> None:
    X, y = noisy_imbalanced(minority=0.5)
    targets = Targets(y, ["common", "rare"], False)
    sel = select_model(make_estimator("logreg", "tabular"), "logreg", X, targets, 3, 0)
    assert {c["class_weight"] for c in sel.candidates} == {None}
    assert [c["C"] for c in sel.candidates] == [0.1, 1.0, 10.0]


def test_the_temperature_is_folded_into_the_fitted_model() -> None:
    X, y = noisy_imbalanced(minority=0.4, n=400)
    X[:, 0] *= 3  # well separated: an overconfident fit
    targets = Targets(y, ["common", "rare"], False)
    sel = select_model(make_estimator("logreg", "tabular"), "logreg", X, targets, 5, 0)
    raw = proba_columns(sel.estimator.fit(X, y), X, targets)
    T = sel.temperature
    calibrated = proba_columns(sel.finish(sel.estimator), X, targets)
    np.testing.assert_allclose(calibrated, scale(raw, T), atol=1e-9)
    calib = sel.calibration
    assert calib["method"] in {"temperature", "none"}
    if calib["method"] == "temperature":
        assert calib["log_loss"] < calib["log_loss_raw"]
    else:
        assert T == 1.0


def test_calibration_scores_of_perfect_and_coin_flip_predictions() -> None:
    targets = Targets(np.array(["a", "b", "a", "b"], dtype=object), ["a", "b"], False)
    perfect = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    assert calibration_scores(perfect, targets) == {"brier": 0.0, "ece": 0.0}
    coin = np.full((4, 2), 0.5)
    scores = calibration_scores(coin, targets)
    assert scores["brier"] == 0.5 and scores["ece"] == 0.0  # 50% sure, right half the time


def test_a_retrain_records_the_choice_and_the_calibration(make_store) -> None:
    X, y = noisy_imbalanced(n=200)
    store = make_store(modality="tabular", labels=("common", "rare"))
    ids = add_tabular(store, X, [(y[i],) if i < 150 else None for i in range(len(y))])
    run = train_once(store.location, TrainSettings(queue_size=20, cv_folds=4))

    assert run.status == "ok", run.error
    chosen = run.params["chosen"]
    assert set(chosen) == {"C", "class_weight"}
    candidates = run.params["selection"]["candidates"]
    assert len(candidates) == 4  # three C values, then balanced weights at the best of them
    assert {"C": chosen["C"], "class_weight": chosen["class_weight"]} in [
        {"C": c["C"], "class_weight": c["class_weight"]} for c in candidates
    ]
    assert 0.0 <= run.metrics["brier"] <= 2.0 and 0.0 <= run.metrics["ece"] <= 1.0
    assert run.metrics["calibration"]["brier"] == run.metrics["brier"]

    # The saved model carries the chosen parameters and the calibrated probabilities.
    pipeline = load_trusted(store.artifacts_dir / run.artifact, run.artifact_sha256)
    model = pipeline.named_steps["model"]  # after the raw-input step
    assert (model.C, model.class_weight) == (chosen["C"], chosen["class_weight"])
    feats = load_features(store, TrainSettings().features)
    queued = store.models.queue(1)[0].sample_id
    stored = store.models.predictions()[queued].probabilities
    proba = model.predict_proba(feats.X[feats.rows([queued])])[0]
    assert stored is not None
    assert abs(stored[model.classes_[0]] - proba[0]) < 1e-5
    assert len(ids) == 200
