"""The model artifact: one scikit-learn ``Pipeline`` from raw input columns to probabilities.

Every retrain saves ``Pipeline([("features", <raw input step>), ("model", <estimator>)])``
with skops. The first step turns a DataFrame of raw columns into exactly the feature matrix
the estimator was trained on; nothing downstream (``labeler predict``, the registry,
promotion, MLflow) rebuilds features on its own.

Raw input steps (all stateless apart from the statistics frozen at training):

* :class:`TextInput`, column ``text``: hashed word n-grams weighted by TF-IDF with the
  inverse document frequencies of the project's samples at training (``idf_``), and/or the
  WordLlama embeddings (no fitted state: the weights ship with the ``wordllama`` package).
* :class:`TabularInput`, the feature columns by name: numeric columns imputed with and scaled
  by the mean and standard deviation seen at training (``means_``, ``scales_``), the others
  one-hot over the categories seen at training (the rest, and missing values, go to
  ``<other>``).
* :class:`ImageInput`, column ``image``: file paths; grayscale, resized, scaled to [0, 1].
* :class:`VectorInput`, column ``embedding``: precomputed vectors (lists or JSON text).

The unsupervised statistics are those of the feature cache the estimator was fitted on:
computed over all the project's samples (labeled or not) when the features were built, and
frozen into the step here (see the README, "The model is a pipeline").

The pipeline carries ``labeler_info_`` (a plain dict): modality, input columns and their
types, class names (in the order of the probability columns), whether it is multi-label, and
the project and model version it came from. :func:`predict_frame` uses it to turn the
probabilities into labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from labeler.learning.featureset import FeatureError, Features, FeatureSettings

PIPELINE_FORMAT = 1
TEXT_COLUMN = "text"
IMAGE_COLUMN = "image"
VECTOR_COLUMN = "embedding"


class MissingColumnError(FeatureError):
    """The raw input lacks a column the model needs."""


def _column(X: Any, name: str) -> pd.Series:
    """Column ``name`` of a DataFrame; a 1-D sequence stands for that single column."""
    if isinstance(X, pd.DataFrame):
        if name in X.columns:
            return X[name]
        if X.shape[1] == 1:
            return X.iloc[:, 0]
        raise MissingColumnError(
            f"missing column {name!r} (the input has: {', '.join(map(str, X.columns))})"
        )
    if isinstance(X, pd.Series):
        return X
    return pd.Series(list(X))


# -- text ------------------------------------------------------------------------------------


class TextInput(TransformerMixin, BaseEstimator):
    """Raw texts -> the project's text features (TF-IDF and/or embeddings, side by side)."""

    def __init__(
        self,
        column: str = TEXT_COLUMN,
        parts: str = "tfidf",
        hash_features: int = 2**18,
        ngrams: int = 2,
    ) -> None:
        self.column = column
        self.parts = parts
        self.hash_features = hash_features
        self.ngrams = ngrams

    def _settings(self) -> FeatureSettings:
        return FeatureSettings(
            text_features=self.parts, hash_features=self.hash_features, text_ngrams=self.ngrams
        )

    def fit(self, X: Any, y: Any = None) -> TextInput:
        from labeler.learning.text_features import hash_texts

        if "tfidf" in self.parts.split("+"):
            texts = _column(X, self.column).tolist()
            self.idf_ = idf_from_counts(hash_texts(texts, self._settings()))
        self.n_features_out_ = self._width()
        return self

    def _width(self) -> int:
        from labeler.learning.embeddings import DIM

        return sum(self.hash_features if p == "tfidf" else DIM for p in self.parts.split("+"))

    def transform(self, X: Any) -> sp.csr_matrix | np.ndarray:
        from sklearn.preprocessing import normalize

        from labeler.learning.blocks import join
        from labeler.learning.embeddings import embed_texts
        from labeler.learning.text_features import hash_texts

        texts = ["" if t is None else str(t) for t in _column(X, self.column).tolist()]
        blocks: list[Any] = []
        for part in self.parts.split("+"):
            if part == "tfidf":
                counts = hash_texts(texts, self._settings())
                np.log(counts.data, out=counts.data)
                counts.data += 1.0  # sublinear tf, as TfidfTransformer(sublinear_tf=True)
                counts.data *= self.idf_[counts.indices]
                blocks.append(normalize(counts, norm="l2", copy=False).astype(np.float32))
            else:
                blocks.append(embed_texts(texts))
        out = blocks[0]
        for block in blocks[1:]:
            out = join(out, block)
        return out


def idf_from_counts(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequencies, as scikit-learn's ``TfidfTransformer``."""
    return _idf(np.bincount(counts.indices, minlength=counts.shape[1]), counts.shape[0])


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    return (np.log((1.0 + n) / (1.0 + df.astype(np.float64))) + 1.0).astype(np.float32)


def text_input_from(features: Features, settings: FeatureSettings) -> TextInput:
    """The text step that reproduces ``features`` (the idf comes from the cached TF-IDF
    block: TF-IDF keeps the zero pattern of the counts, so a column's non-zeros are its
    document frequency)."""
    step = TextInput(
        TEXT_COLUMN, settings.text_features, settings.hash_features, settings.text_ngrams
    )
    parts = settings.text_features.split("+")
    if "tfidf" in parts:
        X = features.X.blocks[parts.index("tfidf")] if len(parts) > 1 else features.X
        X = sp.csr_matrix(X)
        step.idf_ = _idf(np.bincount(X.indices, minlength=X.shape[1]), X.shape[0])
    step.n_features_out_ = step._width()
    return step


# -- tabular ---------------------------------------------------------------------------------


class TabularInput(TransformerMixin, BaseEstimator):
    """Raw feature columns -> imputed, standardised numbers and one-hot categories."""

    def __init__(self, max_categories: int = 30) -> None:
        self.max_categories = max_categories

    def fit(self, X: pd.DataFrame, y: Any = None) -> TabularInput:
        from labeler.learning.tabular_features import TabularEncoder

        encoder = TabularEncoder(self.max_categories)
        encoder.observe(X)
        encoder.finish(encoder.encode(X))
        self._set_state(encoder.state())
        return self

    def _set_state(self, state: dict[str, Any]) -> None:
        self.columns_ = list(state["columns"])
        self.numeric_ = [bool(v) for v in state["numeric"]]
        self.categories_ = [list(c) for c in state["categories"]]
        self.means_ = np.asarray(state["means"], dtype=np.float64)
        self.scales_ = np.asarray(state["scales"], dtype=np.float64)

    def input_types(self) -> dict[str, str]:
        """``{column: "double" | "string"}`` of the raw input."""
        return {
            c: "double" if n else "string"
            for c, n in zip(self.columns_, self.numeric_, strict=True)
        }

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            raise FeatureError("tabular input must be a table of the feature columns")
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise MissingColumnError(
                f"missing feature column {missing[0]!r}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            )
        width = sum(
            1 if n else len(c) + 1 for n, c in zip(self.numeric_, self.categories_, strict=True)
        )
        out = np.zeros((len(X), width), dtype=np.float32)
        j = k = 0
        rows = np.arange(len(X))
        for name, numeric, cats in zip(self.columns_, self.numeric_, self.categories_, strict=True):
            values = X[name]
            if numeric:
                # float32 throughout, as the feature pass standardises its matrix in place
                # (tabular_features.standardise): the same features bit for bit
                col = pd.to_numeric(values, errors="coerce").to_numpy(
                    dtype=np.float32, na_value=np.nan
                )
                mean = np.float32(self.means_[k])
                col = np.where(np.isfinite(col), col, mean) - mean
                out[:, j] = col / np.float32(self.scales_[k])
                j += 1
                k += 1
            else:
                codes = pd.Categorical(values.astype("string"), categories=cats).codes
                out[rows, j + np.where(codes < 0, len(cats), codes)] = 1.0
                j += len(cats) + 1
        return out


def tabular_input_from(features: Features, settings: FeatureSettings) -> TabularInput:
    if not features.state:
        raise FeatureError("the tabular features carry no fitted statistics (stale cache)")
    step = TabularInput(settings.max_categories)
    step._set_state(features.state)
    return step


# -- images and vectors ----------------------------------------------------------------------


class ImageInput(TransformerMixin, BaseEstimator):
    """Image file paths -> grayscale pixels, resized to ``size`` x ``size``, in [0, 1]."""

    def __init__(self, column: str = IMAGE_COLUMN, size: int = 16) -> None:
        self.column = column
        self.size = size

    def fit(self, X: Any, y: Any = None) -> ImageInput:
        return self

    def transform(self, X: Any) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        paths = _column(X, self.column).tolist()
        out = np.empty((len(paths), self.size * self.size), dtype=np.float32)
        for i, ref in enumerate(paths):
            try:
                with Image.open(Path(str(ref))) as img:
                    small = img.convert("L").resize(
                        (self.size, self.size), Image.Resampling.BILINEAR
                    )
                    out[i] = np.asarray(small, dtype=np.float32).reshape(-1) / 255.0
            except (OSError, UnidentifiedImageError) as exc:
                raise FeatureError(f"{ref}: cannot read image ({exc})") from None
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags


class VectorInput(TransformerMixin, BaseEstimator):
    """Precomputed embedding vectors (lists, arrays or JSON text) -> a float32 matrix."""

    def __init__(self, column: str = VECTOR_COLUMN, dim: int = 0) -> None:
        self.column = column
        self.dim = dim

    def fit(self, X: Any, y: Any = None) -> VectorInput:
        return self

    def transform(self, X: Any) -> np.ndarray:
        from labeler.data.payloads import _parse_vector

        values = _column(X, self.column).tolist()
        out = np.empty((len(values), self.dim), dtype=np.float32)
        for i, v in enumerate(values):
            vec = _parse_vector(v)
            if vec is None or vec.size != self.dim or not np.isfinite(vec).all():
                raise FeatureError(
                    f"row {i + 1}: embedding is not a list of {self.dim} finite numbers"
                )
            out[i] = vec
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags


# -- the pipeline ----------------------------------------------------------------------------


def input_step(features: Features, settings: FeatureSettings) -> BaseEstimator:
    """The fitted raw-input step that reproduces ``features`` from raw columns."""
    if features.kind == "text":
        return text_input_from(features, settings)
    if features.kind == "tabular":
        return tabular_input_from(features, settings)
    if features.kind == "image":
        return ImageInput(IMAGE_COLUMN, settings.image_size)
    return VectorInput(VECTOR_COLUMN, features.n_features)


def input_columns(step: BaseEstimator) -> dict[str, str]:
    """``{raw column: type}`` the step reads (types as MLflow names them)."""
    if isinstance(step, TabularInput):
        return step.input_types()
    if isinstance(step, VectorInput):
        return {step.column: "array"}
    return {step.column: "string"}  # type: ignore[attr-defined]


def build_pipeline(
    features: Features,
    settings: FeatureSettings,
    estimator: Any,
    classes: Sequence[str],
    *,
    multi_label: bool,
    project: str,
    model_version: int | None,
    modality: str,
) -> Pipeline:
    """The trained artifact: raw-input step + fitted estimator, with ``labeler_info_``."""
    return pipeline_of(
        input_step(features, settings),
        features.kind,
        estimator,
        classes,
        multi_label=multi_label,
        project=project,
        model_version=model_version,
        modality=modality,
    )


def pipeline_of(
    step: BaseEstimator,
    feature_kind: str,
    estimator: Any,
    classes: Sequence[str],
    *,
    multi_label: bool,
    project: str,
    model_version: int | None,
    modality: str,
) -> Pipeline:
    """The pipeline of a fitted raw-input ``step`` and ``estimator`` (the Dask path builds
    its step from statistics merged over partitions)."""
    pipeline = Pipeline([("features", step), ("model", estimator)])
    pipeline.labeler_info_ = {
        "format": PIPELINE_FORMAT,
        "project": project,
        "model_version": model_version,
        "modality": modality,
        "feature_kind": feature_kind,
        "inputs": input_columns(step),
        "classes": list(classes),
        "multi_label": bool(multi_label),
    }
    return pipeline


def is_pipeline(model: Any) -> bool:
    """Whether ``model`` is a Labeler pipeline (an artifact of this version), not a bare
    estimator saved by an older Labeler."""
    return isinstance(model, Pipeline) and isinstance(getattr(model, "labeler_info_", None), dict)


def info_of(pipeline: Pipeline) -> dict[str, Any]:
    return dict(pipeline.labeler_info_)


def predict_frame(
    pipeline: Pipeline, frame: pd.DataFrame
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Predicted labels and class probabilities (columns in ``labeler_info_["classes"]``
    order) of the raw rows in ``frame``."""
    info = pipeline.labeler_info_
    classes: list[str] = info["classes"]
    proba = np.asarray(pipeline.predict_proba(frame), dtype=np.float64)
    if info["multi_label"]:
        labels = [tuple(c for c, p in zip(classes, row, strict=True) if p >= 0.5) for row in proba]
        return labels, proba
    model_classes = [str(c) for c in pipeline.steps[-1][1].classes_]
    proba = proba[:, [model_classes.index(c) for c in classes]]
    return [(classes[i],) for i in proba.argmax(axis=1)], proba


# -- raw rows from the store -----------------------------------------------------------------


def store_frame(store: Any, sample_ids: Sequence[int], info: dict[str, Any]) -> pd.DataFrame:
    """The raw input columns of the project's samples ``sample_ids`` (in that order), as a
    pipeline with ``info`` reads them."""
    samples = store.samples.get_many([int(i) for i in sample_ids])
    if len(samples) != len(sample_ids):
        raise FeatureError("some samples are not in the project")
    kind = info["feature_kind"]
    if kind == "text":
        return pd.DataFrame({TEXT_COLUMN: [s.text for s in samples]})
    if kind == "image":
        return pd.DataFrame({IMAGE_COLUMN: [s.file_ref for s in samples]})
    if kind == "vectors":
        return pd.DataFrame({VECTOR_COLUMN: [s.vector for s in samples]})
    columns = list(info["inputs"])
    return pd.DataFrame.from_records([s.data or {} for s in samples], columns=columns)
