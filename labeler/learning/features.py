"""Feature matrices per modality, computed once and cached on disk.

* text (``text_features``): ``tfidf``, hashed word uni/bi-grams weighted by TF-IDF (sparse
  CSR, float32; hashing needs no vocabulary in memory, so 1M texts stream through in chunks);
  ``embedding``, WordLlama sentence embeddings (:mod:`labeler.learning.embeddings`, offline);
  ``tfidf+embedding``, both side by side (each row of each part has unit length). Each part
  is cached on its own, so switching between the three reuses what was computed.
* image: the picture in ``sample.file_ref`` read with Pillow, converted to grayscale, resized
  to ``image_size`` x ``image_size`` and scaled to [0, 1] (dense float32).
* tabular: the ``sample.data`` dicts; numeric columns are mean-imputed and standardised,
  other columns are one-hot encoded (most frequent ``max_categories`` values, the rest and
  missing values share one "other" column). Dense float32.
* embeddings: when the samples carry ``sample.vector``, those vectors are the features as given.

The matrix is cached under ``store.artifacts_dir / "features"`` keyed by a hash of the feature
settings and the sample set (ids of immutable samples, plus the project's identity), so a new
import or new settings give a new cache entry and an unchanged project reuses the old one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from labeler.learning.blocks import HStack
from labeler.learning.embeddings import EMBEDDING_MODEL, MAX_TOKENS, embed_texts
from labeler.learning.feature_cache import read_cache, write_cache
from labeler.learning.featureset import FEATURE_FORMAT, FeatureError, Features, FeatureSettings
from labeler.learning.image_features import image_features, vector_features
from labeler.learning.tabular_features import TabularEncoder, tabular_features
from labeler.learning.text_features import (
    embedding_features,
    hash_texts,
    text_features,
    tfidf,
)
from labeler.progress import CancelToken, ProgressFn, no_progress

if TYPE_CHECKING:
    from labeler.store.project_store import Store

__all__ = [
    "FeatureError",
    "FeatureSettings",
    "Features",
    "feature_family",
    "feature_key",
    "feature_kind",
    "load_features",
    "tabular_matrix",
    "text_matrix",
]


# -- public entry points ---------------------------------------------------------------------


def load_features(
    store: Store,
    settings: FeatureSettings | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Features:
    """The project's feature matrix, from the on-disk cache or computed (and then cached)."""
    settings = settings or FeatureSettings()
    progress = progress or no_progress
    ids, identity, has_vector = _sample_index(store, cancel)
    kind = _kind(store.info.modality, has_vector, settings)
    folder = store.artifacts_dir / "features"
    if kind == "text":
        return _text(store, ids, identity, settings, folder, progress, cancel)
    key = feature_key(kind, settings, ids, identity)
    cached = read_cache(folder, key)
    if cached is not None:
        X, columns, state = cached
        # a tabular entry written before its statistics were kept is computed again: the
        # model pipeline needs them
        if X.shape[0] == len(ids) and (kind != "tabular" or state):
            return Features(ids, X, kind, key, columns, state)
    state = None
    if kind == "vectors":
        X, columns = vector_features(store, len(ids), progress, cancel)
    elif kind == "image":
        X, columns = image_features(store, len(ids), settings, progress, cancel)
    else:
        X, columns, state = tabular_features(store, len(ids), settings, progress, cancel)
    family = feature_family(kind, settings, identity)
    write_cache(folder, key, X, columns, family=family, state=state)
    return Features(ids, X, kind, key, columns, state)


def _text(
    store: Store,
    ids: np.ndarray,
    identity: str,
    settings: FeatureSettings,
    folder: Path,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> Features:
    """Text features: each part (TF-IDF, embeddings) from its own cache entry or computed."""
    parts = settings.text_features.split("+")
    blocks, keys = [], []
    for i, part in enumerate(parts):
        report = _share(progress, i, len(parts))
        key = _text_part_key(part, settings, ids, identity)
        if part == "tfidf":
            family = feature_family("text", replace(settings, text_features="tfidf"), identity)
        else:
            family = _embedding_key(None, identity)
        cached = read_cache(folder, key)
        if cached is not None and cached[0].shape[0] == len(ids):
            X = cached[0]
        else:
            if part == "tfidf":
                X, _ = text_features(store, len(ids), settings, report, cancel)
            else:
                X = embedding_features(store, len(ids), report, cancel)
            write_cache(folder, key, X, [], family=family)
        blocks.append(X)
        keys.append(key)
    if len(blocks) == 1:
        return Features(ids, blocks[0], "text", keys[0], [])
    return Features(ids, HStack(blocks), "text", _joined_key(keys), [])


def _text_part_key(part: str, settings: FeatureSettings, ids: np.ndarray, identity: str) -> str:
    if part == "tfidf":
        return feature_key("text", replace(settings, text_features="tfidf"), ids, identity)
    return _embedding_key(ids, identity)


def _joined_key(keys: list[str]) -> str:
    return keys[0] if len(keys) == 1 else hashlib.sha256("+".join(keys).encode()).hexdigest()[:24]


def matrix_key(kind: str, settings: FeatureSettings, ids: np.ndarray, identity: str) -> str:
    """The key :func:`load_features` gives this project's feature matrix (``Features.key``):
    a retrain that computes the same features elsewhere (on Dask) records it too, so the next
    retrain may re-validate its model choice (:class:`labeler.learning.selection.Previous`)."""
    if kind != "text":
        return feature_key(kind, settings, ids, identity)
    parts = settings.text_features.split("+")
    return _joined_key([_text_part_key(part, settings, ids, identity) for part in parts])


def _share(progress: ProgressFn, i: int, parts: int) -> ProgressFn:
    """Part ``i`` of ``parts`` equal shares of one progress scale."""

    def report(done: int, total: int | None) -> None:
        if total:
            progress(i * total + done, parts * total)

    return report


def _embedding_key(ids: np.ndarray | None, identity: str) -> str:
    """Cache key of the embeddings (with ``ids``) or their family (without)."""
    h = hashlib.sha256()
    spec = {"format": FEATURE_FORMAT, "kind": "text-embedding", "model": EMBEDDING_MODEL}
    h.update(json.dumps({**spec, "max_tokens": MAX_TOKENS}).encode())
    if ids is not None:
        h.update(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
    h.update(identity.encode())
    return h.hexdigest()[:24]


def feature_kind(store: Store, settings: FeatureSettings | None = None) -> str:
    """The kind of features a retrain would use (the modality when there are no samples)."""
    settings = settings or FeatureSettings()
    first = store.samples.first_id()
    has_vector = first is not None and store.samples.get(first).vector is not None
    return _kind(store.info.modality, has_vector, settings)


def feature_key(kind: str, settings: FeatureSettings, ids: np.ndarray, identity: str) -> str:
    """Cache key: feature settings + the sample ids + the project's identity."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": FEATURE_FORMAT, "kind": kind, **asdict(settings)}).encode())
    h.update(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
    h.update(identity.encode())
    return h.hexdigest()[:24]


def feature_family(kind: str, settings: FeatureSettings, identity: str) -> str:
    """The cache key without the sample set: entries of one family differ only in samples."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": FEATURE_FORMAT, "kind": kind, **asdict(settings)}).encode())
    h.update(identity.encode())
    return h.hexdigest()[:24]


# -- in-memory transforms (used by the store path and by ``labeler simulate``) ------------------


def text_matrix(
    texts: list[str] | pd.Series, settings: FeatureSettings
) -> sp.csr_matrix | np.ndarray:
    """``settings.text_features`` of ``texts`` in memory (one pass; the store path chunks)."""
    texts = list(texts)
    blocks: list[sp.csr_matrix | np.ndarray] = []
    for part in settings.text_features.split("+"):
        if part == "tfidf":
            blocks.append(tfidf(hash_texts(texts, settings)))
        else:
            blocks.append(embed_texts(texts))
    if len(blocks) == 1:
        return blocks[0]
    return sp.hstack([sp.csr_matrix(b) for b in blocks], format="csr", dtype=np.float32)


def tabular_matrix(frame: pd.DataFrame, settings: FeatureSettings) -> tuple[np.ndarray, list[str]]:
    """Impute, scale and one-hot a DataFrame into a float32 matrix and its column names."""
    encoder = TabularEncoder(settings.max_categories)
    encoder.observe(frame)
    return encoder.finish(encoder.encode(frame)), encoder.column_names()


# -- sample index ---------------------------------------------------------------------------


def _sample_index(store: Store, cancel: CancelToken | None) -> tuple[np.ndarray, str, bool]:
    """Sample ids (ascending), the project's identity, and whether the samples carry vectors.

    Samples are immutable and their ids are never reused within a project, so the ids name
    the sample set; the project's name and creation time guard against a project re-created
    in the same folder. (Reading every content hash would scan the whole sample table: ~15 s
    at 1M rows; the ids come from an index.)"""
    if cancel is not None:
        cancel.check()
    ids = store.samples.id_array()
    if len(ids) == 0:
        raise FeatureError(f"project {store.info.name!r} has no samples; import data first")
    identity = project_identity(store)
    has_vector = store.samples.get(int(ids[0])).vector is not None
    return ids, identity, has_vector


def project_identity(store: Store) -> str:
    """What names the project in feature cache keys: its address, name, id and creation time."""
    info = store.info
    created = info.created_at.isoformat() if info.created_at else ""
    return f"{store.location.url}#{info.name}#{info.id}#{created}"


def _kind(modality: str, has_vector: bool, settings: FeatureSettings) -> str:
    if has_vector and settings.use_vectors:
        return "vectors"
    return modality
