"""Every retrain saves one pipeline (raw-input step + estimator) that scores raw rows exactly
as the app scored the project's feature matrix; on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from labeler.learning.artifact import load_run_model, load_run_pipeline
from labeler.learning.features import FeatureSettings, load_features
from labeler.learning.pipeline import (
    MissingColumnError,
    TabularInput,
    is_pipeline,
    predict_frame,
    store_frame,
)
from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from tests.learning_data import add_images, add_tabular, add_texts, add_vectors, blobs

WORDS = {
    "sport": ["goal", "match", "team", "score", "league", "coach", "win"],
    "tech": ["code", "chip", "software", "server", "laptop", "cloud", "bug"],
}


def _texts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    labels = [("sport", "tech")[i % 2] for i in range(n)]
    texts = [
        " ".join(rng.choice(WORDS[lab], size=6)) + f" item {i}" for i, lab in enumerate(labels)
    ]
    return texts, labels


def _same_scores(store, run, settings: TrainSettings, ids: list[int]) -> np.ndarray:
    """The pipeline on raw rows gives the estimator's probabilities on the cached matrix."""
    pipeline = load_run_pipeline(store, run)
    assert isinstance(pipeline, Pipeline) and is_pipeline(pipeline)
    info = pipeline.labeler_info_
    assert info["model_version"] == run.model_version and info["project"] == store.info.name
    estimator = load_run_model(store, run)
    feats = load_features(store, settings.features)
    expected = estimator.predict_proba(feats.X[feats.rows(ids)])
    labels, proba = predict_frame(pipeline, store_frame(store, ids, info))
    if not info["multi_label"]:
        order = [list(map(str, estimator.classes_)).index(c) for c in info["classes"]]
        expected = expected[:, order]
    np.testing.assert_allclose(proba, expected, atol=2e-3)
    assert len(labels) == len(ids)
    return proba


def test_tabular_pipeline_scores_raw_rows_as_the_app_did(make_store) -> None:
    X, y = blobs(n=150, n_classes=3, n_features=3, seed=0)
    X[5, 1] = np.nan  # a missing value is imputed with the training mean
    colour = [("red", "green", "blue", None)[i % 4] for i in range(150)]
    store = make_store(modality="tabular", labels=("c0", "c1", "c2"))
    ids = add_tabular(
        store, X, [(v,) if i < 60 else None for i, v in enumerate(y)], {"colour": colour}
    )
    settings = TrainSettings(strategy="margin", queue_size=10, cv_folds=3)
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    _same_scores(store, run, settings, ids[:40] + ids[100:])
    step = load_run_pipeline(store, run).named_steps["features"]
    assert isinstance(step, TabularInput)
    assert step.input_types() == {
        "colour": "string",
        "f0": "double",
        "f1": "double",
        "f2": "double",
    }
    frame = store_frame(store, ids[:3], load_run_pipeline(store, run).labeler_info_)
    with pytest.raises(MissingColumnError, match="'f1'"):
        load_run_pipeline(store, run).predict_proba(frame.drop(columns=["f1"]))


def test_text_pipeline_holds_the_idf_and_the_embeddings(make_store) -> None:
    texts, labels = _texts(80)
    store = make_store(modality="text", labels=("sport", "tech"))
    ids = add_texts(store, texts, [(lab,) if i < 40 else None for i, lab in enumerate(labels)])
    settings = TrainSettings(
        strategy="entropy",
        queue_size=5,
        cv_folds=3,
        features=FeatureSettings(text_features="tfidf+embedding"),
    )
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    proba = _same_scores(store, run, settings, ids)
    assert proba.shape == (80, 2)


def test_tfidf_only_text_pipeline(make_store) -> None:
    texts, labels = _texts(60, seed=1)
    store = make_store(modality="text", labels=("sport", "tech"))
    ids = add_texts(store, texts, [(lab,) if i < 30 else None for i, lab in enumerate(labels)])
    settings = TrainSettings(
        queue_size=5, cv_folds=3, features=FeatureSettings(text_features="tfidf")
    )
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    _same_scores(store, run, settings, ids)


def test_image_and_vector_pipelines(make_store, tmp_path) -> None:
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 20)
    pixels = np.stack([np.full((20, 20), 40 if v == "a" else 210) for v in y]) + rng.integers(
        0, 30, size=(40, 20, 20)
    )
    store = make_store(modality="image", labels=("a", "b"))
    ids = add_images(store, tmp_path / "imgs", pixels, [(v,) for v in y])
    settings = TrainSettings(queue_size=5, cv_folds=3)
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    _same_scores(store, run, settings, ids)

    V, yv = blobs(n=60, n_classes=2, n_features=8, seed=2)
    vstore = make_store(modality="text", labels=("c0", "c1"))
    vids = add_vectors(vstore, V, [(v,) for v in yv])
    run = train_once(vstore.location, settings)
    assert run.status == "ok", run.error
    _same_scores(vstore, run, settings, vids)


def test_multi_label_pipeline(make_store) -> None:
    X, _ = blobs(n=90, n_classes=3, n_features=4, seed=3)
    tags = [(("x",), ("y",), ("x", "y"))[i % 3] for i in range(90)]
    store = make_store(modality="tabular", labels=("x", "y"), task_type="multi-label")
    ids = add_tabular(store, X, tags)
    settings = TrainSettings(queue_size=5, cv_folds=3)
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    proba = _same_scores(store, run, settings, ids)
    assert proba.shape == (90, 2)
    labels, _ = predict_frame(
        load_run_pipeline(store, run),
        store_frame(store, ids[:9], load_run_pipeline(store, run).labeler_info_),
    )
    assert sum(lab == tags[i] for i, lab in enumerate(labels)) >= 7
