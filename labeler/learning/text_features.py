"""Text features, streamed from the store in chunks: hashed word n-grams weighted by TF-IDF
(sparse CSR, float32) and WordLlama sentence embeddings (dense, unit rows, float16: half the
memory of float32, and classifiers upcast each chunk they read)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from labeler.learning.embeddings import DIM, embed_texts
from labeler.learning.featureset import CHUNK, FeatureSettings
from labeler.progress import CancelToken, ProgressFn

if TYPE_CHECKING:
    from labeler.store.project_store import Store


def hash_texts(texts: list[str], settings: FeatureSettings) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(
        n_features=settings.hash_features,
        ngram_range=(1, settings.text_ngrams),
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )
    return vec.transform(["" if t is None else str(t) for t in texts]).tocsr()


def tfidf(counts: sp.csr_matrix) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import TfidfTransformer

    tfidf = TfidfTransformer(sublinear_tf=True)
    out = tfidf.fit_transform(counts)
    return out.astype(np.float32).tocsr()


def text_features(
    store: Store,
    n: int,
    settings: FeatureSettings,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> tuple[sp.csr_matrix, list[str]]:
    parts = []
    done = 0
    for frame in store.samples.iter_frames(CHUNK, columns=("text",)):
        if cancel is not None:
            cancel.check()
        parts.append(hash_texts(frame["text"].tolist(), settings))
        done += len(frame)
        progress(done, n)
    return tfidf(sp.vstack(parts, format="csr")), []


def embedding_features(
    store: Store, n: int, progress: ProgressFn, cancel: CancelToken | None
) -> np.ndarray:
    out = np.zeros((n, DIM), dtype=np.float16)
    done = 0
    for frame in store.samples.iter_frames(CHUNK, columns=("text",)):
        texts = frame["text"].tolist()
        out[done : done + len(texts)] = embed_texts(texts, cancel=cancel)
        done += len(texts)
        progress(done, n)
    return out
