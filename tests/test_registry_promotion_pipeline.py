"""Promotion scores the champion and the candidate each with its own pipeline on the same raw
held-out rows: an import between them (new samples shift the TF-IDF statistics and the
scaling) does not change what the champion computes."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score

from labeler.learning.artifact import load_run_pipeline
from labeler.learning.pipeline import predict_frame, store_frame
from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from labeler.registry import open_registry
from labeler.registry.holdout import unseen_holdout
from labeler.registry.push import push_project_model
from labeler.store.label_cut import LabelCut, labels_after
from tests.learning_data import add_tabular, blobs, label


def test_champion_and_candidate_are_scored_by_their_own_pipelines(make_store, tmp_path) -> None:
    X, y = blobs(n=300, n_classes=3, n_features=3, seed=8)
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    first = add_tabular(store, X[:100], [(v,) if i < 30 else None for i, v in enumerate(y[:100])])
    settings = TrainSettings(queue_size=5, cv_folds=3)
    run1 = train_once(store.location, settings)
    assert run1.status == "ok", run1.error
    registry = open_registry(str(tmp_path / "reg"))
    assert push_project_model(store, registry).promotion.reason == "first champion"

    # a later import far from the first (shifts the means and scales the features learn)
    shifted = X[100:] * 3.0 + 10.0
    later = add_tabular(store, shifted, None)
    label(store, first[30:60], list(y[30:60]))
    label(store, later[:40], list(y[100:140]))
    run2 = train_once(store.location, settings)
    assert run2.status == "ok", run2.error
    p1, p2 = load_run_pipeline(store, run1), load_run_pipeline(store, run2)
    assert not np.allclose(
        p1.named_steps["features"].means_, p2.named_steps["features"].means_
    )  # the two pipelines hold different frozen statistics

    # labels neither model has seen: the held-out rows
    label(store, later[40:70], list(y[140:170]))
    result = push_project_model(store, registry)
    decision = result.promotion
    assert decision.champion_version == 1 and decision.new_score is not None

    # the same raw rows, each model with its own pipeline
    cut = LabelCut.from_json(run2.params["training_labels"])
    ids, labels = labels_after(store, cut.as_of_event)
    holdout, why = unseen_holdout(store, run2)
    assert holdout is not None, why
    assert len(ids) == 30 and holdout.X.shape[0] == 30
    frame = holdout.X
    truth = np.asarray(holdout.y)
    own1 = [lab[0] for lab in predict_frame(p1, frame)[0]]
    own2 = [lab[0] for lab in predict_frame(p2, frame)[0]]
    assert decision.champion_score == accuracy_score(truth, own1)
    assert decision.new_score == accuracy_score(truth, own2)
    assert list(frame.columns) == ["f0", "f1", "f2"]  # raw rows, not a feature matrix
    assert frame.equals(store_frame(store, ids, p2.labeler_info_))
