"""Features per modality and the on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from labeler.learning.catalog import ModelError, make_estimator, resolve_model
from labeler.learning.features import FeatureError, FeatureSettings, load_features
from tests.learning_data import add_images, add_tabular, add_texts, add_vectors


def test_tabular_imputes_scales_and_one_hots(make_store) -> None:
    store = make_store(modality="tabular", labels=("a", "b"))
    X = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0], [np.nan, 20.0]])
    ids = add_tabular(store, X, extra={"colour": ["red", "blue", None, "red"]})
    feats = load_features(store)
    assert feats.kind == "tabular"
    names = feats.columns
    assert {"f0", "f1", "colour=red", "colour=blue", "colour=<other>"} == set(names)
    M = np.asarray(feats.X)
    assert M.dtype == np.float32 and M.shape == (4, 5)
    assert np.isfinite(M).all()
    f0 = M[:, names.index("f0")]
    assert f0.mean() == pytest.approx(0.0, abs=1e-6) and f0[3] == pytest.approx(0.0, abs=1e-6)
    assert M[:, names.index("colour=red")].tolist() == [1, 0, 0, 1]
    assert M[:, names.index("colour=<other>")].tolist() == [0, 0, 1, 0]
    np.testing.assert_array_equal(feats.ids, ids)


def test_cache_is_reused_and_invalidated_by_new_samples_or_settings(make_store) -> None:
    store = make_store(modality="tabular", labels=("a", "b"))
    add_tabular(store, np.arange(12.0).reshape(6, 2))
    first = load_features(store)
    cache = store.artifacts_dir / "features"
    assert (cache / f"{first.key}.npy").is_file()
    again = load_features(store)
    assert again.key == first.key
    assert isinstance(again.X, np.memmap)  # read back from disk, not recomputed
    np.testing.assert_array_equal(np.asarray(again.X), np.asarray(first.X))

    other = load_features(store, FeatureSettings(max_categories=5))
    assert other.key != first.key
    add_tabular(store, np.arange(4.0).reshape(2, 2) + 100)
    grown = load_features(store)
    assert grown.key != first.key and grown.X.shape == (8, 2)


def test_an_import_leaves_no_stale_feature_matrix_behind(make_store) -> None:
    store = make_store(modality="tabular", labels=("a", "b"))
    add_tabular(store, np.arange(12.0).reshape(6, 2))
    small = FeatureSettings(max_categories=4)
    first = load_features(store, small)
    other = load_features(store, FeatureSettings(max_categories=5))  # other settings
    cache = store.artifacts_dir / "features"
    assert {p.name for p in cache.iterdir()} == {
        f"{k}.{ext}" for k in (first.key, other.key) for ext in ("json", "npy")
    }
    add_tabular(store, np.arange(4.0).reshape(2, 2) + 100)
    grown = load_features(store, small)
    # The matrix of the old sample set (it can never be asked for again) is gone; the entry
    # for other settings stays until those settings see the new samples.
    assert {p.name for p in cache.iterdir()} == {
        f"{k}.{ext}" for k in (grown.key, other.key) for ext in ("json", "npy")
    }
    assert load_features(store, small).X.shape == (8, 2)


def test_text_is_sparse_tfidf(make_store) -> None:
    store = make_store(modality="text", labels=("a", "b"))
    add_texts(store, ["red apple", "green apple", "red car", None or ""])
    feats = load_features(store, FeatureSettings(text_features="tfidf", hash_features=2**10))
    assert feats.kind == "text" and sp.issparse(feats.X)
    assert feats.X.dtype == np.float32 and feats.X.shape == (4, 2**10)
    norms = np.sqrt(np.asarray(feats.X.multiply(feats.X).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms[:3], 1.0, rtol=1e-5)
    assert norms[3] == 0.0
    again = load_features(store, FeatureSettings(text_features="tfidf", hash_features=2**10))
    assert (again.X != feats.X).nnz == 0


def test_images_are_resized_grayscale_pixels(make_store, tmp_path) -> None:
    store = make_store(modality="image", labels=("dark", "light"))
    pixels = np.zeros((3, 8, 8))
    pixels[1] = 255
    pixels[2, :, :4] = 255
    add_images(store, tmp_path / "imgs", pixels)
    feats = load_features(store, FeatureSettings(image_size=4))
    assert feats.kind == "image" and feats.X.shape == (3, 16)
    M = np.asarray(feats.X)
    assert M[0].max() == 0.0 and M[1].min() == pytest.approx(1.0)
    assert M[2].reshape(4, 4)[:, 0].min() == pytest.approx(1.0)
    assert M[2].reshape(4, 4)[:, 3].max() == 0.0


def test_missing_image_file_names_the_file(make_store, tmp_path) -> None:
    store = make_store(modality="image", labels=("a", "b"))
    add_images(store, tmp_path / "imgs", np.zeros((2, 8, 8)))
    (tmp_path / "imgs" / "img1.png").unlink()
    with pytest.raises(FeatureError, match="img1.png"):
        load_features(store)


def test_vectors_are_used_as_given(make_store) -> None:
    store = make_store(modality="text", labels=("a", "b"))
    V = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    add_vectors(store, V)
    feats = load_features(store)
    assert feats.kind == "vectors"
    np.testing.assert_array_equal(np.asarray(feats.X), V)


def test_empty_project_is_a_one_line_error(make_store) -> None:
    store = make_store(modality="text", labels=("a", "b"))
    with pytest.raises(FeatureError, match="no samples"):
        load_features(store)


def test_catalog_defaults_and_errors() -> None:
    assert resolve_model("auto", "text") == "logreg"
    assert resolve_model("naive-bayes", "text") == "naive-bayes"
    with pytest.raises(ModelError, match="does not work on tabular"):
        resolve_model("naive-bayes", "tabular")
    with pytest.raises(ModelError, match="unknown model 'xgb'"):
        resolve_model("xgb", "tabular")
    for name in ("logreg", "sgd", "forest"):
        est = make_estimator(name, "tabular", seed=1)
        assert hasattr(est, "predict_proba")
    assert type(make_estimator("sgd", "text", multi_label=True)).__name__ == "OneVsRestClassifier"


def test_a_project_recreated_in_the_same_folder_does_not_reuse_the_cache(tmp_path) -> None:
    from labeler.store import Store

    folder = tmp_path / "again"
    first = Store.create(folder, modality="tabular", labels=["a", "b"])
    add_tabular(first, np.zeros((4, 2)))
    old = load_features(first)
    first.close()
    for path in (folder / ".labeler").glob("project.db*"):
        path.unlink()
    second = Store.create(folder, modality="tabular", labels=["a", "b"])
    add_tabular(second, np.ones((4, 2)) * np.arange(4)[:, None])
    new = load_features(second)
    second.close()
    np.testing.assert_array_equal(new.ids, old.ids)  # same ids, different samples
    assert new.key != old.key
    assert np.asarray(new.X).std() > 0
