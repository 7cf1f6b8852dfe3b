"""The audit queue after a real retrain: the trainer records its prediction for every
unlabeled sample, and the audit lists the ones it is truly sure of (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from labeler.store.review_audit import audit_queue
from tests.learning_data import add_tabular, blobs, label

LABELED = 45


def project(make_store, n: int = 150):
    """Three well-separated classes; the first LABELED rows labeled, the rest the pool."""
    X, y = blobs(n=n, n_classes=3, n_features=4, seed=0)
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    ids = add_tabular(store, X, [(y[i],) if i < LABELED else None for i in range(n)])
    return store, ids, y


@pytest.mark.parametrize("strategy", ["margin", "random"])
def test_retrain_records_a_prediction_for_every_unlabeled_sample(make_store, strategy) -> None:
    store, ids, y = project(make_store)
    run = train_once(store.location, TrainSettings(strategy=strategy, queue_size=10, cv_folds=3))
    assert run.status == "ok", run.error

    pool = store.models.pool_predictions()
    assert pool is not None and pool.model_version == run.model_version
    assert pool.classes == ("c0", "c1", "c2") and not pool.multi_label
    assert sorted(pool.sample_ids.tolist()) == ids[LABELED:]  # the whole pool, nothing labeled
    assert np.all(np.diff(pool.confidence) <= 0)  # most confident first
    truth = dict(zip(ids, y, strict=True))
    right = [pool.labels(i) == (truth[int(sid)],) for i, sid in enumerate(pool.sample_ids)]
    assert np.mean(right) >= 0.95
    assert sum(pool.class_counts().values()) == len(ids) - LABELED

    # the queued samples' full predictions (computed on their own) say the same
    queued = store.models.predictions([e.sample_id for e in store.models.queue()])
    where = {int(s): i for i, s in enumerate(pool.sample_ids)}
    for sid, pred in queued.items():
        assert pool.labels(where[sid]) == pred.labels
        assert pool.confidence[where[sid]] == pytest.approx(pred.confidence, abs=1e-6)


def test_audit_queue_after_a_real_retrain(make_store) -> None:
    store, ids, y = project(make_store)
    store.labels.skip(ids[-1], "ann")
    store.labels.skip(ids[-1], "bob")
    run = train_once(store.location, TrainSettings(strategy="margin", queue_size=10, cv_folds=3))
    assert run.status == "ok", run.error

    audit = audit_queue(store, limit=30)
    assert (audit[0].sample_id, audit[0].reason, audit[0].skips) == (ids[-1], "skipped", 2)
    confident = [a for a in audit if a.reason == "confident"]
    assert len(confident) == 29
    # truly sure: each class's most confident unlabeled samples of the whole pool, taken in
    # turns per class (not the queued few, which are the least sure by design)
    assert min(a.confidence for a in confident) > 0.9
    assert {a.predicted for a in confident[:3]} == {("c0",), ("c1",), ("c2",)}
    pool = store.models.pool_predictions()
    for cls in ("c0", "c1", "c2"):
        mine = [a.sample_id for a in confident if a.predicted == (cls,)]
        of_class = [int(s) for i, s in enumerate(pool.sample_ids) if pool.labels(i) == (cls,)]
        assert mine == [s for s in of_class if s != ids[-1]][: len(mine)]
        assert len(mine) in (9, 10)
    labeled = set(ids[:LABELED])
    assert not labeled & {a.sample_id for a in confident}
    truth = dict(zip(ids, y, strict=True))
    assert all(a.predicted == (truth[a.sample_id],) for a in confident)

    # a sample labeled after the retrain leaves the audit at once
    first = confident[0].sample_id
    label(store, [first], [str(truth[first])])
    assert first not in {a.sample_id for a in audit_queue(store, limit=30)}


def test_multi_label_pool_predictions_round_trip(make_store) -> None:
    store = make_store(modality="tabular", labels=("x", "y"), task_type="multi-label")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)) * 3
    tags = [tuple(t for t, on in (("x", a > 0), ("y", b > 0)) if on) for a, b, _ in X]
    ids = add_tabular(store, X, [t if i < 60 and t else None for i, t in enumerate(tags)])
    run = train_once(store.location, TrainSettings(queue_size=10, cv_folds=3))
    assert run.status == "ok", run.error

    pool = store.models.pool_predictions()
    assert pool is not None and pool.multi_label and pool.classes == ("x", "y")
    labeled = {ids[i] for i in range(60) if tags[i]}
    assert set(pool.sample_ids.tolist()) == set(ids) - labeled
    truth = dict(zip(ids, tags, strict=True))
    right = [pool.labels(i) == truth[int(s)] for i, s in enumerate(pool.sample_ids)]
    assert np.mean(right) >= 0.7  # subset accuracy of a linear one-vs-rest
    queued = store.models.predictions([e.sample_id for e in store.models.queue()])
    where = {int(s): i for i, s in enumerate(pool.sample_ids)}
    for sid, pred in queued.items():  # label sets packed as bits come back as predicted
        assert pool.labels(where[sid]) == pred.labels
        assert pool.confidence[where[sid]] == pytest.approx(pred.confidence, abs=1e-6)
    audit = audit_queue(store, limit=10)
    assert len(audit) == 10 and all(a.reason == "confident" for a in audit)
    assert all(a.predicted == truth[a.sample_id] for a in audit[:4])


def test_no_audit_rows_before_any_retrain(make_store) -> None:
    store, _, _ = project(make_store)
    assert store.models.pool_predictions() is None
    assert audit_queue(store) == []
