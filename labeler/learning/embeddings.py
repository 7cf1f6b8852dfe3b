"""Offline sentence embeddings with WordLlama (a static token-embedding model, 256 dims).

The ``wordllama`` wheel ships its weights and tokenizer inside the package; this module
loads exactly those files (``cache_dir`` = the installed package folder,
``disable_download=True``) and refuses to start when either is missing, so nothing ever
reaches the network. A text's embedding is the mean of its token vectors (at most
:data:`MAX_TOKENS` tokens), L2-normalised; an empty text gets the zero vector.

:class:`TextEmbedder` is the same computation as a scikit-learn transformer with no fitted
state (the model is loaded on first use and never serialised), ready to be a pipeline step.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from labeler.learning.featureset import FeatureError
from labeler.progress import CancelToken, ProgressFn

EMBEDDING_MODEL = "wordllama l2_supercat 256"
DIM = 256
WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
MAX_TOKENS = 256  # longer texts are cut: bounds a batch at BATCH x MAX_TOKENS x DIM floats
BATCH = 512  # texts per tokenizer call
CHUNK = 20_000  # texts between progress reports and cancel checks


def package_folder() -> Path:
    """The installed ``wordllama`` package folder (holds the shipped weights and tokenizer)."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        raise FeatureError("text embeddings need the wordllama package (pip install wordllama)")
    return Path(spec.origin).parent


def _import_wordllama() -> Any:
    """``wordllama.WordLlama``, imported without the root-logger set-up its modules do.

    wordllama calls ``logging.basicConfig(level=INFO)`` at import, which would print every
    library's INFO lines (Alembic's migration chatter, for one) to the user's terminal.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        from wordllama import WordLlama
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return WordLlama


@lru_cache(maxsize=1)
def load_model() -> Any:
    """The shipped WordLlama model, loaded from the package folder with downloads disabled."""
    folder = package_folder()
    for part in (WEIGHTS, TOKENIZER):
        if not (folder / part).is_file():
            raise FeatureError(f"wordllama's shipped file {part} is missing from {folder}")
    WordLlama = _import_wordllama()
    model = WordLlama.load(config="l2_supercat", dim=DIM, cache_dir=folder, disable_download=True)
    model.tokenizer.enable_truncation(MAX_TOKENS)
    return model


def embed_texts(
    texts: Sequence[str | None],
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """``(len(texts), DIM)`` L2-normalised embeddings, computed in chunks with progress."""
    n = len(texts)
    out = np.zeros((n, DIM), dtype=dtype)
    if n == 0:
        return out
    model = load_model()
    for start in range(0, n, CHUNK):
        if cancel is not None:
            cancel.check()
        chunk = ["" if t is None else str(t) for t in texts[start : start + CHUNK]]
        E = np.asarray(model.embed(chunk, batch_size=BATCH), dtype=np.float32)
        norms = np.linalg.norm(E, axis=1, keepdims=True)
        np.divide(E, norms, out=E, where=norms > 0)
        E[~np.isfinite(E).all(axis=1)] = 0.0
        out[start : start + len(chunk)] = E
        if progress is not None:
            progress(start + len(chunk), n)
    return out


class TextEmbedder(TransformerMixin, BaseEstimator):
    """Raw texts -> WordLlama embeddings (float32, unit rows). Stateless: ``fit`` learns
    nothing, so a pipeline holding it saves no weights; they come from the installed package."""

    def fit(self, X: Sequence[str], y: Any = None) -> TextEmbedder:
        return self

    def transform(self, X: Sequence[str]) -> np.ndarray:
        return embed_texts(list(X))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.string = True
        return tags
