"""train_once on real projects (SQLite and PostgreSQL): runs, queue, predictions, failures."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from labeler.learning.coldstart import SearchError, queue_search, search_samples
from labeler.learning.features import FeatureSettings, load_features
from labeler.learning.settings import TrainSettings
from labeler.learning.strategies import STRATEGIES
from labeler.learning.training import train_once
from labeler.store import Provenance
from tests.learning_data import add_tabular, add_texts, add_vectors, blobs, label


def tabular_project(make_store, n=150, labeled=45, n_classes=3, seed=0):
    X, y = blobs(n=n, n_classes=n_classes, n_features=4, seed=seed)
    store = make_store(modality="tabular", labels=tuple(f"c{k}" for k in range(n_classes)))
    ids = add_tabular(store, X, [(y[i],) if i < labeled else None for i in range(n)])
    return store, ids, y


def test_train_once_records_model_queue_predictions_and_run(make_store) -> None:
    store, ids, y = tabular_project(make_store)
    settings = TrainSettings(strategy="margin", queue_size=30, cv_folds=3)
    seen: list[tuple[int, int | None]] = []
    run = train_once(store.location, settings, progress=lambda d, t: seen.append((d, t)))

    assert run.status == "ok", run.error
    assert run.model_version == 1 and run.label_count == 45
    assert run.metrics["cv_folds"] == 3
    assert 0.9 <= run.metrics["accuracy"] <= 1.0
    assert set(run.metrics["per_class"]) == {"c0", "c1", "c2"}
    assert run.metrics["per_class"]["c0"]["support"] == 15
    assert {"features", "cross_validation", "fit", "score", "total"} <= set(run.durations)
    assert run.params["model"] == "logreg" and run.params["feature_kind"] == "tabular"
    assert seen[-1] == (100, 100)

    queue = store.models.queue()
    assert len(queue) == 30
    assert [e.rank for e in queue] == list(range(30))
    assert {(e.strategy, e.model_version) for e in queue} == {("margin", 1)}
    assert not set(e.sample_id for e in queue) & set(ids[:45])
    margins = [e.score for e in queue]
    assert margins == sorted(margins)  # margin: smallest first

    preds = store.models.predictions()
    labeled = {sid: preds[sid] for sid in ids[:45]}
    assert all(p.out_of_fold for p in labeled.values())
    assert all(p.model_version == 1 for p in preds.values())
    assert set(preds[queue[0].sample_id].probabilities) == {"c0", "c1", "c2"}
    assert not preds[queue[0].sample_id].out_of_fold
    agree = sum(labeled[sid].labels == (y[i],) for i, sid in enumerate(ids[:45]))
    assert agree >= 40

    # Recorded relative to the project folder, with the SHA-256 of the bytes saved; the
    # model loads through the registry's trusted loader (only the application's list of
    # trusted types, never whatever the file declares), checked against that hash.
    from labeler.registry.trust import load_trusted

    assert run.artifact == "models/v1.skops"
    path = store.artifacts_dir / run.artifact
    assert run.artifact_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    model = load_trusted(path, run.artifact_sha256)  # the pipeline: raw rows -> probabilities
    assert [name for name, _ in model.steps] == ["features", "model"]
    model = model.named_steps["model"]  # the estimator on the project's feature matrix
    feats = load_features(store, settings.features)
    X_all = feats.X[feats.rows(ids)]
    probs = model.predict_proba(X_all[50:55])
    p = preds.get(ids[50]) or preds[queue[0].sample_id]
    assert p.probabilities is not None
    assert probs.shape == (5, 3)


def test_queue_provenance_flows_into_label_events(make_store) -> None:
    store, _, y = tabular_project(make_store)
    train_once(store.location, TrainSettings(strategy="entropy", queue_size=10, cv_folds=3))
    head = store.models.queue(3)
    for entry in head:
        store.labels.add(
            entry.sample_id,
            ["c0"],
            "ann",
            provenance=Provenance(entry.model_version, entry.strategy, entry.score),
        )
    for entry in head:
        (event,) = store.labels.events(sample_id=entry.sample_id)
        assert (event.model_version, event.strategy, event.score) == (
            1,
            "entropy",
            pytest.approx(entry.score),
        )
    # labeled samples leave the queue
    assert {e.sample_id for e in store.models.queue()}.isdisjoint({e.sample_id for e in head})


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_through_train_once(make_store, strategy: str) -> None:
    store, _, _ = tabular_project(make_store, n=120, labeled=30)
    run = train_once(store.location, TrainSettings(strategy=strategy, queue_size=15, cv_folds=3))
    assert run.status == "ok", run.error
    queue = store.models.queue()
    assert len(queue) == 15 and {e.strategy for e in queue} == {strategy}
    assert (queue[0].score is None) == (strategy == "random")


def test_one_class_fails_and_cold_start_queue_is_written(make_store) -> None:
    store, ids, _ = tabular_project(make_store, labeled=0)
    label(store, ids[:3], ["c1", "c1", "c1"])
    run = train_once(store.location, TrainSettings(queue_size=20))
    assert run.status == "failed" and run.model_version is None
    assert "at least two classes" in run.error and "c1" in run.error
    queue = store.models.queue()
    assert len(queue) == 20
    assert {(e.strategy, e.model_version) for e in queue} == {("cold-start", None)}
    assert not {e.sample_id for e in queue} & set(ids[:3])
    assert store.models.latest_ok() is None


def test_no_labels_at_all_gives_a_cold_start_queue(make_store) -> None:
    store, _, y = tabular_project(make_store, n=90, labeled=0, n_classes=3)
    run = train_once(store.location, TrainSettings(queue_size=3))
    assert run.status == "failed"
    head = store.models.queue()
    assert len(head) == 3
    assert head[0].strategy == "cold-start"


def test_failed_retrain_keeps_previous_model_queue_and_predictions(make_store) -> None:
    store, ids, _ = tabular_project(make_store)
    ok = train_once(store.location, TrainSettings(queue_size=20, cv_folds=3))
    assert ok.status == "ok"
    before = store.dump()
    bad = train_once(store.location, TrainSettings(model="naive-bayes", queue_size=20))
    assert bad.status == "failed"
    assert "naive-bayes" in bad.error and "tabular" in bad.error
    after = store.dump()
    for table in ("queue_item", "prediction", "sample_state", "label_event"):
        assert after[table] == before[table]
    assert store.models.latest_ok().model_version == 1
    assert [r.status for r in store.models.runs()] == ["ok", "failed"]


def test_nan_embeddings_fail_with_the_sample_named(make_store) -> None:
    store = make_store(modality="image", labels=("a", "b"))
    V = np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)
    V[7, 2] = np.nan
    add_vectors(store, V, [("a",) if i % 2 else ("b",) for i in range(10)] + [None] * 10)
    run = train_once(store.location, TrainSettings(queue_size=5))
    assert run.status == "failed"
    assert "NaN" in run.error


def test_embeddings_are_the_features_when_present(make_store) -> None:
    store = make_store(modality="image", labels=("a", "b"))
    X, y = blobs(n=60, n_classes=2, n_features=6, seed=3)
    add_vectors(
        store,
        X.astype(np.float32),
        [(y[i].replace("c0", "a").replace("c1", "b"),) if i < 20 else None for i in range(60)],
    )
    run = train_once(store.location, TrainSettings(queue_size=5, cv_folds=2))
    assert run.status == "ok", run.error
    assert run.params["feature_kind"] == "vectors" and run.params["n_features"] == 6


def test_text_project_with_naive_bayes(make_store) -> None:
    store = make_store(modality="text", labels=("sport", "food"))
    sport = ["the match ended in a draw", "a late goal won the game", "the team trains daily"]
    food = ["fresh bread and butter", "a bowl of tomato soup", "spicy noodles for dinner"]
    texts = [sport[i % 3] + f" {i}" if i % 2 else food[i % 3] + f" {i}" for i in range(60)]
    labels = [("sport",) if i % 2 else ("food",) for i in range(60)]
    ids = add_texts(store, texts, [lab if i < 20 else None for i, lab in enumerate(labels)])
    tfidf = FeatureSettings(text_features="tfidf")
    settings = TrainSettings(model="naive-bayes", queue_size=10, cv_folds=4, features=tfidf)
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    assert run.metrics["accuracy"] == 1.0
    preds = store.models.predictions()
    queued = [e.sample_id for e in store.models.queue()]
    for sid in queued:
        assert preds[sid].labels == labels[ids.index(sid)]


def test_multi_label_project_one_vs_rest(make_store) -> None:
    store = make_store(modality="tabular", labels=("x", "y"), task_type="multi-label")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    tags = [tuple(t for t, on in (("x", a > 0), ("y", b > 0)) if on) for a, b, _ in X]
    ids = add_tabular(store, X, [t if i < 60 and t else None for i, t in enumerate(tags)])
    run = train_once(store.location, TrainSettings(queue_size=10, cv_folds=3))
    assert run.status == "ok", run.error
    assert run.params["estimator"] == "OneVsRestClassifier"
    assert set(run.metrics["per_class"]) == {"x", "y"}
    preds = store.models.predictions()
    some = preds[store.models.queue()[0].sample_id]
    assert set(some.probabilities) == {"x", "y"}
    assert ids


def test_second_run_gets_the_next_version_and_replaces_the_queue(make_store) -> None:
    store, ids, y = tabular_project(make_store)
    train_once(store.location, TrainSettings(queue_size=10, cv_folds=3))
    first = [e.sample_id for e in store.models.queue()]
    label(store, first[:5], [str(y[ids.index(s)]) for s in first[:5]])
    run = train_once(store.location, TrainSettings(queue_size=10, cv_folds=3))
    assert run.model_version == 2 and run.label_count == 50
    assert {e.model_version for e in store.models.queue()} == {2}
    assert (store.artifacts_dir / "models" / "v2.skops").is_file()


def test_search_finds_rare_text_and_tabular_rows(make_store) -> None:
    store = make_store(modality="text", labels=("a", "b"))
    ids = add_texts(store, ["common words here"] * 30 + ["a rare Zebra sighting", "zebra zebra"])
    hits = search_samples(store, "zebra")
    assert [h[0] for h in hits] == [ids[31], ids[30]]
    assert queue_search(store, "ZEBRA") == 2
    assert [e.sample_id for e in store.models.queue()][:2] == [ids[31], ids[30]]
    with pytest.raises(SearchError):
        search_samples(store, "  ")

    tab = make_store(modality="tabular", labels=("a", "b"))
    X = np.arange(20, dtype=float).reshape(10, 2)
    tids = add_tabular(tab, X, extra={"colour": ["red"] * 9 + ["blue"]})
    assert [h[0] for h in search_samples(tab, "f0 > 15")] == tids[8:]
    assert [h[0] for h in search_samples(tab, "colour == 'blue'")] == [tids[9]]
    with pytest.raises(SearchError, match="cannot evaluate"):
        search_samples(tab, "nosuchcolumn > 3")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_when_every_sample_is_labeled(make_store, strategy: str) -> None:
    # The end of a labeling job: nothing left to rank is a successful run with an empty queue.
    store, _, _ = tabular_project(make_store, n=30, labeled=30)
    run = train_once(store.location, TrainSettings(strategy=strategy, queue_size=10, cv_folds=3))
    assert run.status == "ok", run.error
    assert store.models.queue() == []


def test_a_class_with_a_single_example_keeps_cross_validated_metrics(make_store) -> None:
    # One rare class seen once must not switch cross-validation off for every class: the
    # metrics stay out-of-fold (the lone example is predicted by folds that never saw it).
    X, y = blobs(n=90, n_classes=3, n_features=4, seed=0)
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    labels = [(y[i],) if y[i] != "c2" else None for i in range(40)] + [None] * 50
    first_c2 = int(np.nonzero(y == "c2")[0][0])
    labels[first_c2] = ("c2",)
    ids = add_tabular(store, X, labels)
    run = train_once(store.location, TrainSettings(queue_size=5, cv_folds=5))
    assert run.status == "ok", run.error
    assert run.metrics["cv_folds"] == 5
    assert run.metrics["per_class"]["c2"]["support"] == 1
    assert run.metrics["per_class"]["c2"]["recall"] == 0.0  # never seen by its fold's model
    assert run.metrics["per_class"]["c0"]["recall"] == 1.0
    preds = store.models.predictions([s for i, s in enumerate(ids) if labels[i]])
    assert preds[ids[first_c2]].out_of_fold and preds[ids[0]].out_of_fold
    assert preds[ids[first_c2]].labels != ("c2",)
    expected = np.mean([preds[s].labels == (y[i],) for i, s in enumerate(ids) if labels[i]])
    assert run.metrics["accuracy"] == pytest.approx(expected)


def test_skipped_samples_go_to_the_end_of_the_queue(make_store) -> None:
    # A skipped sample is typically a hard (uncertain) one: the next retrain ranks it first
    # again. The queue offers it after the samples nobody has skipped.
    store, _, _ = tabular_project(make_store)
    settings = TrainSettings(strategy="margin", queue_size=20, cv_folds=3)
    train_once(store.location, settings)
    head = [e.sample_id for e in store.models.queue(2)]
    store.labels.skip(head[0], "ann")
    train_once(store.location, settings)
    order = [e.sample_id for e in store.models.queue()]
    assert len(order) == 20
    assert order[-1] == head[0] and order[0] != head[0]
    store.labels.undo("ann")  # no longer skipped: back at its rank
    assert store.models.queue(1)[0].sample_id == head[0]
