"""Offline text embeddings (WordLlama): no network, the cache, and the three text feature
choices through a real retrain."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from labeler.learning.blocks import HStack
from labeler.learning.embeddings import DIM, TextEmbedder, embed_texts
from labeler.learning.features import FeatureError, FeatureSettings, load_features
from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from tests.learning_data import add_texts

SPORT = ["the match ended in a draw", "a late goal won the game", "the coach praised the team"]
FOOD = ["fresh bread and butter", "a bowl of hot tomato soup", "spicy noodles for dinner"]

NO_NETWORK = textwrap.dedent(
    """
    import socket, sys
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(args[:2])
        raise OSError("network blocked by the test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from labeler.learning.embeddings import embed_texts
    E = embed_texts(["a cat on a mat", "stock markets fell"])
    print(E.shape, len(attempts))
    """
)


def test_the_model_loads_and_embeds_with_sockets_blocked() -> None:
    # A fresh interpreter, so importing wordllama and loading its files happen under the block.
    proc = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == f"({2}, {DIM}) 0"


def test_embeddings_are_unit_rows_that_place_similar_texts_close() -> None:
    E = embed_texts(["the cat sleeps on the sofa", "a kitten naps on the couch", "", None])
    assert E.shape == (4, DIM) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E[:2], axis=1), 1.0, rtol=1e-5)
    assert not E[2:].any()  # nothing to embed: the zero vector, not NaN
    far = embed_texts(["quarterly stock prices fell sharply"])[0]
    assert E[0] @ E[1] > E[0] @ far + 0.1
    np.testing.assert_array_equal(
        TextEmbedder().fit_transform(["the cat sleeps on the sofa"])[0], E[0]
    )


def text_store(make_store, n: int = 60, labeled: int = 24):
    store = make_store(modality="text", labels=("sport", "food"))
    texts = [(SPORT if i % 2 else FOOD)[i % 3] + f" {i}" for i in range(n)]
    labels = [("sport",) if i % 2 else ("food",) for i in range(n)]
    add_texts(store, texts, [lab if i < labeled else None for i, lab in enumerate(labels)])
    return store


def test_each_part_is_cached_once_and_reused_by_the_other_choices(make_store) -> None:
    store = text_store(make_store)
    both = load_features(store, FeatureSettings(text_features="tfidf+embedding"))
    assert isinstance(both.X, HStack)
    assert both.X.shape == (60, 2**18 + DIM)
    rows = both.X[np.arange(5)]
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, np.sqrt(2.0), rtol=1e-3)  # two unit-length parts

    folder = store.artifacts_dir / "features"
    files = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    emb = load_features(store, FeatureSettings(text_features="embedding"))
    tfidf = load_features(store, FeatureSettings(text_features="tfidf"))
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == files  # nothing new
    assert isinstance(emb.X, np.memmap) and emb.X.shape == (60, DIM)  # read from the cache
    assert tfidf.X.shape == (60, 2**18)
    np.testing.assert_allclose(both.X[np.arange(3)].toarray()[:, 2**18 :], emb.X[:3], atol=1e-3)


@pytest.mark.parametrize("choice", ["embedding", "tfidf+embedding"])
def test_a_retrain_and_a_cold_start_on_embeddings(make_store, choice: str) -> None:
    store = text_store(make_store)
    settings = TrainSettings(
        queue_size=10, cv_folds=3, features=FeatureSettings(text_features=choice)
    )
    run = train_once(store.location, settings)
    assert run.status == "ok", run.error
    assert run.params["features"]["text_features"] == choice
    assert run.metrics["accuracy"] == 1.0

    cold = text_store(make_store, labeled=0)
    failed = train_once(cold.location, settings)  # no labels: diverse seeds are queued
    assert failed.status == "failed"
    assert [e.strategy for e in cold.models.queue()] == ["cold-start"] * 10


def test_naive_bayes_refuses_embeddings_with_one_line(make_store) -> None:
    store = text_store(make_store)
    run = train_once(store.location, TrainSettings(model="naive-bayes", queue_size=5))
    assert run.status == "failed"
    assert run.error == "model 'naive-bayes' needs text features 'tfidf' (no embeddings)"


def test_settings_from_older_records_mean_tfidf() -> None:
    old = FeatureSettings.from_dict({"text_features": 2**10, "text_ngrams": 2})
    assert (old.text_features, old.hash_features) == ("tfidf", 2**10)
    with pytest.raises(FeatureError, match="unknown text features 'bert'"):
        FeatureSettings(text_features="bert")


def test_joined_rows_equal_scipy_hstack() -> None:
    import scipy.sparse as sp

    from labeler.learning.blocks import join

    rng = np.random.default_rng(0)
    A = sp.random(40, 500, density=0.03, format="csr", dtype=np.float32, random_state=1)
    A = sp.csr_matrix(A.multiply(np.arange(40)[:, None] % 4 != 0))  # some empty rows
    D = rng.normal(size=(40, 7)).astype(np.float16)
    expected = sp.hstack([A, sp.csr_matrix(D.astype(np.float32))], format="csr")
    got = join(A, D)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert abs(got - expected).max() == 0.0
    view = HStack([A, D])
    assert abs(view[np.array([9, 2, 30])] - expected[[9, 2, 30]]).max() == 0.0
    assert abs(view[5:17] - expected[5:17]).max() == 0.0


def test_loading_the_model_leaves_the_root_logger_alone() -> None:
    """wordllama configures the root logger at import; users must not see INFO chatter."""
    code = (
        "import logging\n"
        "from labeler.learning.embeddings import load_model\n"
        "load_model()\n"
        "logging.getLogger('alembic.runtime.migration').info('Context impl SQLiteImpl.')\n"
        "print(len(logging.getLogger().handlers), logging.getLogger().level)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["0", str(logging.WARNING)]
    assert "INFO" not in done.stderr
