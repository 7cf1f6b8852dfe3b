"""Pool work on a real Dask ``LocalCluster`` (processes, 2 workers): the queue equals the
in-process ranking of the same model, statistics equal the in-process ones, failures fail the
retrain with one line and keep the previous model and queue, and cancel stops the work."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.errors import Cancelled
from labeler.learning.artifact import load_run_pipeline
from labeler.learning.compute import ComputeError, parse_compute
from labeler.learning.dask_pool import DaskPool
from labeler.learning.features import FeatureSettings, load_features
from labeler.learning.pipeline import (
    predict_frame,
    store_frame,
    tabular_input_from,
    text_input_from,
)
from labeler.learning.settings import TrainSettings
from labeler.learning.strategies import rank_pool
from labeler.learning.training import train_once
from labeler.progress import CancelToken
from tests.learning_data import add_images, add_tabular, add_texts, add_vectors, blobs

pytestmark = pytest.mark.slow

DASK = "dask-local:2"


@pytest.fixture
def sqlite_store(tmp_path):
    """Stores on SQLite only, for the variants that need not run on both back ends (the
    PostgreSQL path through the workers is covered by the margin and failure tests)."""
    from labeler.store import Store

    opened = []

    def factory(**kwargs):
        store = Store.create(tmp_path / f"p{len(opened)}", **kwargs)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


def _tabular(make_store, n: int = 40_000, labeled: int = 90):
    X, y = blobs(n=n, n_classes=3, n_features=4, seed=3)
    X[::97, 1] = np.nan  # missing values: imputed with the merged mean
    colour = np.asarray(["red", "green", "blue", "teal"])[np.arange(n) % 4]
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    ids = add_tabular(
        store,
        X,
        [(y[i],) if i < labeled else None for i in range(n)],
        extra={"colour": list(colour)},
    )
    return store, ids


def _texts(make_store, n: int = 2_000, labeled: int = 60):
    rng = np.random.default_rng(5)
    words = {
        "sport": "match goal team score league win coach",
        "tech": "software chip code laptop network cloud data",
    }
    texts, labels = [], []
    for i in range(n):
        topic = "sport" if i % 2 else "tech"
        vocab = words[topic].split() + ["the", "a", "of", "and", "to", "in"]
        texts.append(" ".join(rng.choice(vocab, size=8)))
        labels.append((topic,) if i < labeled else None)
    store = make_store(modality="text", labels=("sport", "tech"))
    ids = add_texts(store, texts, labels)
    return store, ids


def _in_process_ranking(store, run, strategy: str, n: int) -> list[int]:
    """The in-process ranking of the run's own pipeline over every sample."""
    pipeline = load_run_pipeline(store, run)
    info = pipeline.labeler_info_
    ids = np.asarray(store.samples.ids(), dtype=np.int64)
    X = pipeline.steps[0][1].transform(store_frame(store, ids.tolist(), info))
    labeled = np.isin(ids, store.labels.current()["sample_id"].to_numpy())
    ranking = rank_pool(
        strategy,
        pipeline.steps[-1][1],
        X,
        n,
        exclude=labeled,
        X_labeled=X[labeled],
        seed=0,
    )
    return ids[ranking.indices].tolist()


def test_dask_queue_equals_in_process_ranking_of_the_same_model(make_store) -> None:
    _queue_equals_in_process(make_store, "margin")


@pytest.mark.parametrize("strategy", ["entropy", "least-confident", "batch-diverse"])
def test_dask_queue_equals_in_process_ranking_per_strategy(sqlite_store, strategy) -> None:
    _queue_equals_in_process(sqlite_store, strategy)


def test_dask_density_queue_equals_in_process_ranking(sqlite_store) -> None:
    """Density on embedding vectors (k-means over TF-IDF's 262,144 columns is slow, in
    process as on Dask)."""
    X, y = blobs(n=3_000, n_classes=3, n_features=16, seed=4)
    store = sqlite_store(modality="image", labels=("c0", "c1", "c2"))
    add_vectors(store, X.astype(np.float32), [(y[i],) if i < 60 else None for i in range(3_000)])
    settings = TrainSettings(
        strategy="density", queue_size=40, cv_folds=3, compute=DASK, partition_rows=400
    )
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    assert run.params["feature_kind"] == "vectors" and run.params["partitions"] == 8
    queue = [item.sample_id for item in store.models.queue()]
    assert queue == _in_process_ranking(store, run, "density", 40)
    _pool_predictions_match_the_pipeline(store, run)


def _queue_equals_in_process(make_store, strategy: str) -> None:
    store, _ = _texts(make_store)
    settings = TrainSettings(
        strategy=strategy, queue_size=40, cv_folds=3, compute=DASK, partition_rows=300
    )
    settings = settings.with_(features=FeatureSettings(text_features="tfidf"))
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    assert run.params["compute"] == DASK and run.params["partitions"] == 7
    queue = [item.sample_id for item in store.models.queue()]
    assert queue == _in_process_ranking(store, run, strategy, 40)
    _pool_predictions_match_the_pipeline(store, run)


def _pool_predictions_match_the_pipeline(store, run) -> None:
    """Every unlabeled sample's top class and confidence, gathered from the partitions, are
    the pipeline's own."""
    pool = store.models.pool_predictions()
    pipeline = load_run_pipeline(store, run)
    labeled = set(store.labels.current()["sample_id"].tolist())
    ids = [i for i in store.samples.ids() if i not in labeled]
    assert sorted(pool.sample_ids.tolist()) == ids
    order = np.argsort(pool.sample_ids)
    proba = predict_frame(pipeline, store_frame(store, ids, pipeline.labeler_info_))[1]
    np.testing.assert_array_equal(pool.predicted[order], proba.argmax(axis=1))
    np.testing.assert_allclose(pool.confidence[order], proba.max(axis=1), rtol=1e-5)


def test_dask_tabular_statistics_equal_the_in_process_features(sqlite_store) -> None:
    store, _ = _tabular(sqlite_store)
    settings = TrainSettings(queue_size=50, cv_folds=3, compute=DASK, partition_rows=20_000)
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    assert run.params["partitions"] == 2
    step = load_run_pipeline(store, run).steps[0][1]
    local = tabular_input_from(load_features(store, settings.features), settings.features)
    assert step.columns_ == local.columns_ and step.numeric_ == local.numeric_
    assert step.categories_ == local.categories_
    np.testing.assert_allclose(step.means_, local.means_, rtol=1e-9)
    np.testing.assert_allclose(step.scales_, local.scales_, rtol=1e-9)
    # the pipeline's raw-input step reproduces the in-process features bit for bit
    frame = store_frame(store, store.samples.ids(), load_run_pipeline(store, run).labeler_info_)
    features = load_features(store, settings.features).X
    np.testing.assert_array_equal(local.transform(frame), np.asarray(features))
    queue = [item.sample_id for item in store.models.queue()]
    assert queue == _in_process_ranking(store, run, "margin", 50)


def test_dask_text_idf_equals_the_in_process_idf(sqlite_store) -> None:
    store, _ = _texts(sqlite_store)
    features = FeatureSettings(text_features="tfidf")
    settings = TrainSettings(queue_size=20, cv_folds=3, compute=DASK, partition_rows=450)
    run = train_once(store.location, settings.with_(features=features))
    assert run.status == "ok", run.error
    step = load_run_pipeline(store, run).steps[0][1]
    local = text_input_from(load_features(store, features), features)
    np.testing.assert_array_equal(step.idf_, local.idf_)


def test_unreachable_scheduler_fails_the_retrain_and_keeps_the_previous_model(make_store) -> None:
    store, _ = _texts(make_store, n=400)
    first = train_once(store.location, TrainSettings(queue_size=20, cv_folds=3))
    assert first.status == "ok"
    before = [item.sample_id for item in store.models.queue()]
    bad = TrainSettings(queue_size=20, cv_folds=3, compute="dask://127.0.0.1:9")
    run = train_once(store.location, bad)
    assert run.status == "failed"
    assert "\n" not in run.error and "127.0.0.1:9" in run.error
    assert store.models.latest_ok().model_version == first.model_version
    assert [item.sample_id for item in store.models.queue()] == before


def test_cancel_stops_the_dask_retrain_and_writes_nothing(sqlite_store) -> None:
    store, _ = _texts(sqlite_store)
    cancel = CancelToken()
    settings = TrainSettings(queue_size=20, cv_folds=3, compute=DASK, partition_rows=100)
    # the first progress report comes from the cluster's first pass: cancel right there, as
    # the GUI's cancel (another thread) would while partitions are on the cluster
    with pytest.raises(Cancelled):
        train_once(store.location, settings, progress=lambda d, t: cancel.cancel(), cancel=cancel)
    assert store.models.latest_ok() is None
    assert store.models.runs() == []


def test_a_failing_partition_fails_the_retrain_in_one_line(make_store, tmp_path) -> None:
    store = make_store(modality="image", labels=("dark", "light"))
    pixels = np.concatenate([np.full((30, 8, 8), 20), np.full((30, 8, 8), 230)])
    labels = [("dark",) if i < 5 else ("light",) if 30 <= i < 35 else None for i in range(60)]
    add_images(store, tmp_path / "img", pixels, labels)
    first = train_once(store.location, TrainSettings(queue_size=10, cv_folds=2))
    assert first.status == "ok", first.error
    (tmp_path / "img" / "img50.png").unlink()  # the last partition cannot be read any more
    settings = TrainSettings(queue_size=10, cv_folds=2, compute=DASK, partition_rows=20)
    run = train_once(store.location, settings)
    assert run.status == "failed"
    assert "\n" not in run.error and "img50.png" in run.error and "partition 3" in run.error
    assert "scheduler" in run.error
    assert store.models.latest_ok().model_version == first.model_version


def test_compute_setting_is_parsed_with_one_line_errors() -> None:
    assert str(parse_compute("local")) == "local"
    assert str(parse_compute("dask-local")) == "dask-local:2"
    assert str(parse_compute("dask-local:3")) == "dask-local:3"
    assert str(parse_compute("dask://sched.example:8786")) == "dask://sched.example:8786"
    for bad in ("dask", "dask-local:0", "dask://host", "spark://x:1", "dask://h:99999"):
        with pytest.raises(ComputeError) as err:
            parse_compute(bad)
        assert "\n" not in str(err.value)


def _exit_worker(shared: object, item: int) -> int:
    import os

    os._exit(1)  # the worker process dies, as an out-of-memory kill would end it


def _sleep(shared: object, seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


def test_dead_workers_and_the_time_limit_are_one_line_errors() -> None:
    with DaskPool.open(parse_compute(DASK)) as pool:
        with pytest.raises(ComputeError) as err:
            pool.map(_exit_worker, [1])
        assert "scheduler" in str(err.value) and "\n" not in str(err.value)
        assert pool.map(_sleep, [0.0, 0.0]) == [0.0, 0.0]  # the cluster recovered
    with DaskPool.open(parse_compute(DASK), time_limit_s=0) as pool:
        with pytest.raises(ComputeError) as err:
            pool.map(_sleep, [30.0])
        assert "no result within 0 s" in str(err.value) and "\n" not in str(err.value)


def test_the_apps_retrain_worker_runs_dask_local(sqlite_store) -> None:
    """The app retrains in a (daemonic) worker process: it starts its local cluster there,
    delivers the run, and the cluster's workers end when the worker is closed."""
    from labeler.learning.jobs import RetrainScheduler

    store, _ = _texts(sqlite_store, n=600)
    settings = TrainSettings(queue_size=20, cv_folds=3, compute=DASK, partition_rows=200)
    results: list = []
    progress: list[int] = []
    sched = RetrainScheduler(
        store.location,
        settings,
        on_result=results.append,
        on_progress=lambda d, _t: progress.append(d),
    )
    try:
        sched.request()
        assert sched.wait_idle(600)
        assert results and results[-1].ok, results
        run = store.models.latest_ok()
        assert run.params["compute"] == DASK and run.params["dask_workers"] == 2
        assert len(set(progress)) >= 3 and max(progress) == 100  # phases reached the app
    finally:
        sched.close()
    assert sched.worker_pid is None


def _queue_with_scores(store) -> list[tuple[int, float | None]]:
    return [(item.sample_id, item.score) for item in store.models.queue()]


def _local_then_dask(store, settings: TrainSettings) -> tuple[list, list, object]:
    """The queue of an in-process retrain, then of a Dask retrain of the same labels. Both
    re-validate the model chosen by a first (grid-searching) retrain, and the fits are
    seeded, so both fit the same model."""
    for mode in ("grid", "previous winner"):
        local = train_once(store.location, settings)
        assert local.status == "ok", local.error
        assert local.params["selection"]["search"]["mode"] == mode
    in_process = _queue_with_scores(store)
    run = train_once(store.location, settings.with_(compute=DASK))
    assert run.status == "ok", run.error
    assert run.params["compute"] == DASK and run.params["partitions"] >= 2
    assert run.params["selection"]["search"]["mode"] == "previous winner"
    return in_process, _queue_with_scores(store), run


def _same_queue(a: list, b: list) -> None:
    """The same samples in the same order, the scores alike up to float32 rounding (two
    separate retrains, whose fits differ in the last digits)."""
    assert [sid for sid, _ in a] == [sid for sid, _ in b]
    np.testing.assert_allclose([s for _, s in a], [s for _, s in b], rtol=1e-4)


def test_dask_and_in_process_retrains_share_the_model_choice(sqlite_store) -> None:
    """A Dask retrain records the feature key an in-process retrain gives the same features,
    so either may re-validate the other's model choice instead of searching the whole grid
    (a full search every Dask retrain cost time and, between searches, reshuffled a large
    pool's queue)."""
    store, _ = _texts(sqlite_store, n=1_200)
    settings = TrainSettings(queue_size=40, cv_folds=3, partition_rows=300).with_(
        features=FeatureSettings(text_features="tfidf+embedding")
    )
    on_dask = train_once(store.location, settings.with_(compute=DASK))
    assert on_dask.status == "ok", on_dask.error
    assert on_dask.params["selection"]["search"] == {"mode": "grid", "labels": 60, "reuses": 0}
    local = train_once(store.location, settings)
    assert local.status == "ok", local.error
    assert local.params["feature_key"] == on_dask.params["feature_key"]
    assert local.params["feature_key"] == load_features(store, settings.features).key
    assert local.params["selection"]["search"]["mode"] == "previous winner"
    again = train_once(store.location, settings.with_(compute=DASK))
    assert again.status == "ok", again.error
    assert again.params["selection"]["search"] == {
        "mode": "previous winner",
        "labels": 60,
        "reuses": 2,
    }
    assert again.params["selection"]["chosen"] == on_dask.params["selection"]["chosen"]


def test_dask_committee_queue_equals_the_in_process_queue(sqlite_store) -> None:
    """Query by committee: the members are fitted in the retrain process and shipped with
    the pipeline; their disagreement ranks each partition."""
    store, _ = _texts(sqlite_store, n=1_200)
    settings = TrainSettings(
        strategy="committee", queue_size=40, cv_folds=3, partition_rows=300
    ).with_(features=FeatureSettings(text_features="tfidf"))
    in_process, on_dask, _ = _local_then_dask(store, settings)
    assert len(on_dask) == 40
    _same_queue(in_process, on_dask)


def test_dask_multi_label_queue_equals_the_in_process_queue(sqlite_store) -> None:
    rng = np.random.default_rng(8)
    vocab = {"sport": "match goal team score", "tech": "chip code cloud data"}
    texts, labels = [], []
    for i in range(1_200):
        tags = [("sport", "tech"), ("sport",), ("tech",)][i % 3]
        words = " ".join(vocab[t] for t in tags).split() + ["the", "a", "of"]
        texts.append(" ".join(rng.choice(words, size=8)))
        labels.append(tags if i < 90 else None)
    store = sqlite_store(modality="text", labels=("sport", "tech"), task_type="multi-label")
    add_texts(store, texts, labels)
    settings = TrainSettings(queue_size=40, cv_folds=3, partition_rows=300).with_(
        features=FeatureSettings(text_features="tfidf")
    )
    in_process, on_dask, run = _local_then_dask(store, settings)
    assert len(on_dask) == 40
    _same_queue(in_process, on_dask)
    pool = store.models.pool_predictions()
    assert pool.multi_label and len(pool.sample_ids) == 1_200 - 90


def test_dask_tabular_columns_missing_from_a_whole_partition(sqlite_store) -> None:
    """Two partitions of 20,000 rows: ``late`` exists only in the second (absent from every
    row of the first), ``gone`` is null in every row of the second, and ``size`` is a number
    in the first and a category in the second. Column types, statistics and the queue are the
    in-process ones."""
    import hashlib
    import json

    n = 40_000
    X, y = blobs(n=n, n_classes=3, n_features=3, seed=6)
    rows = []
    for i, x in enumerate(X):
        second = i >= n // 2
        data = {"f0": float(x[0]), "gone": None if second else float(x[1])}
        if second:
            data["late"] = float(x[0] * 2)
        data["size"] = ("big" if x[2] > 0 else "small") if second else float(x[2])
        payload = json.dumps(data, sort_keys=True)
        rows.append(
            (
                f"r{i}",
                hashlib.sha256(f"{i}:{payload}".encode()).hexdigest(),
                None,
                None,
                payload,
                None,
            )
        )
    store = sqlite_store(modality="tabular", labels=("c0", "c1", "c2"))
    with store.samples.bulk_import("test", "partition-columns") as batch:
        ids = batch.add_samples(rows)
        batch.add_labels(ids[::200], [(y[i],) for i in range(0, n, 200)])
    settings = TrainSettings(queue_size=50, cv_folds=3, partition_rows=20_000)
    in_process, on_dask, run = _local_then_dask(store, settings)
    assert run.params["partitions"] == 2
    step = load_run_pipeline(store, run).steps[0][1]
    local = tabular_input_from(load_features(store, settings.features), settings.features)
    assert step.columns_ == local.columns_ and step.numeric_ == local.numeric_
    assert {"late", "gone", "size"} <= set(step.columns_)
    assert step.categories_ == local.categories_
    np.testing.assert_allclose(step.means_, local.means_, rtol=1e-9)
    np.testing.assert_allclose(step.scales_, local.scales_, rtol=1e-9)
    _same_queue(in_process, on_dask)


def _open_store_keys(location: dict, item: int) -> list[str]:
    from labeler.learning.dask_tasks import _store, open_stores

    _store(location)
    return open_stores()


def test_workers_close_the_project_store_when_the_pool_closes(sqlite_store) -> None:
    """A task opens the project store on its worker (kept for the retrain's other
    partitions); the retrain's pool closes it on every worker when it ends."""
    from labeler.learning.dask_tasks import close_stores, open_stores, store_key

    store, _ = _texts(sqlite_store, n=600)
    location = store.location.to_json()
    with DaskPool.open(parse_compute(DASK)) as pool:
        pool.at_close(close_stores, [store_key(location)])
        opened = pool.map(_open_store_keys, list(range(6)), shared=location)
        assert all(keys == [store_key(location)] for keys in opened)
    with DaskPool.open(parse_compute(DASK)) as pool:
        left = pool.client.run(open_stores)
    assert len(left) == 2 and all(keys == [] for keys in left.values())
    # a Dask retrain leaves no store open on the workers either
    settings = TrainSettings(queue_size=20, cv_folds=3, compute=DASK, partition_rows=200)
    run = train_once(
        store.location, settings.with_(features=FeatureSettings(text_features="tfidf"))
    )
    assert run.status == "ok", run.error
    with DaskPool.open(parse_compute(DASK)) as pool:
        assert all(keys == [] for keys in pool.client.run(open_stores).values())
