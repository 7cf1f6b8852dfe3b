"""Model selection in every retrain: the grid, its choice, calibration and the run record."""

from __future__ import annotations

import numpy as np

from labeler.learning.catalog import make_estimator
from labeler.learning.features import load_features
from labeler.learning.fitting import Targets
from labeler.learning.selection import (
    FULL_EVERY,
    REGROW,
    TIE,
    Previous,
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


def test_a_retrain_between_searches_revalidates_the_previous_winner() -> None:
    X, y = noisy_imbalanced(n=300)
    targets = Targets(y, ["common", "rare"], False)
    est = make_estimator("logreg", "tabular")
    full = select_model(est, "logreg", X, targets, 5, 0, feature_key="k")
    assert full.search == {"mode": "grid", "labels": 300, "reuses": 0}
    assert len(full.candidates) == 4

    params = {"model": "logreg", "feature_key": "k", "cv_folds": 5, "selection": full.record()}
    previous = Previous.from_params(params)
    assert previous is not None
    again = select_model(est, "logreg", X, targets, 5, 0, previous=previous, feature_key="k")
    assert again.search == {"mode": "previous winner", "labels": 300, "reuses": 1}
    assert again.chosen == full.chosen  # recorded as every run's choice is
    assert [(c["C"], c["class_weight"]) for c in again.candidates] == [
        (full.chosen["C"], full.chosen["class_weight"])
    ]
    assert again.oof is not None and again.oof.shape == (300, 2)  # still cross-validated
    assert again.estimator.get_params()["C"] == full.chosen["C"]
    assert again.record()["search"]["mode"] == "previous winner"


def test_the_grid_is_searched_again_when_labels_grow_or_after_some_retrains() -> None:
    X, y = noisy_imbalanced(n=400)
    targets = Targets(y, ["common", "rare"], False)
    est = make_estimator("logreg", "tabular")
    chosen = {"C": 1.0, "class_weight": None}

    def previous(labels: int, reuses: int, key: str = "k", folds: int = 5) -> Previous:
        return Previous(chosen, "logreg", key, folds, labels, reuses)

    def mode(prev: Previous, feature_key: str | None = "k") -> str:
        sel = select_model(est, "logreg", X, targets, 5, 0, previous=prev, feature_key=feature_key)
        return sel.search["mode"]

    grown = int(400 / (1 + REGROW)) - 1  # 400 labels now: grown by more than REGROW
    assert mode(previous(grown + 2, 0)) == "previous winner"
    assert mode(previous(grown, 0)) == "grid"
    assert mode(previous(400, FULL_EVERY - 2)) == "previous winner"
    assert mode(previous(400, FULL_EVERY - 1)) == "grid"  # every FULL_EVERY-th retrain
    assert mode(previous(400, 0, key="other")) == "grid"  # other features
    assert mode(previous(400, 0), feature_key=None) == "grid"  # features unknown (Dask)
    assert mode(previous(400, 0, folds=3)) == "grid"
    balanced = Previous({"C": 1.0, "class_weight": "balanced"}, "logreg", "k", 5, 400, 0)
    even = Targets(noisy_imbalanced(n=400, minority=0.5)[1], ["common", "rare"], False)
    sel = select_model(est, "logreg", X, even, 5, 0, previous=balanced, feature_key="k")
    assert sel.search["mode"] == "grid"  # balanced weights no longer fit balanced labels
    assert Previous.from_params({"selection": {"chosen": chosen}}).searched_labels == 0
    assert Previous.from_params({"model": "logreg"}) is None


def test_consecutive_retrains_record_a_search_then_the_reused_choice(make_store) -> None:
    X, y = noisy_imbalanced(n=200)
    store = make_store(modality="tabular", labels=("common", "rare"))
    add_tabular(store, X, [(y[i],) if i < 150 else None for i in range(len(y))])
    settings = TrainSettings(queue_size=20, cv_folds=4)
    first = train_once(store.location, settings)
    second = train_once(store.location, settings)
    assert first.status == second.status == "ok"
    assert first.params["selection"]["search"]["mode"] == "grid"
    assert second.params["selection"]["search"]["mode"] == "previous winner"
    assert second.params["chosen"] == first.params["chosen"]
    assert len(second.params["selection"]["candidates"]) == 1
    assert second.metrics["macro_f1"] is not None and second.metrics["brier"] is not None
    model = load_trusted(store.artifacts_dir / second.artifact, second.artifact_sha256)
    fitted = model.named_steps["model"]
    assert (fitted.C, fitted.class_weight) == (
        second.params["chosen"]["C"],
        second.params["chosen"]["class_weight"],
    )
