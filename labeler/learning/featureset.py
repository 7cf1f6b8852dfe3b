"""What feature computation is configured by and produces: settings, the matrix, errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from labeler.errors import LabelerError

FEATURE_FORMAT = 1  # bump when the way features are computed changes (invalidates caches)
CHUNK = 50_000
TABULAR_CHUNK = 20_000  # rows of JSON per read: bounds the transient memory of parsing


TEXT_FEATURES = ("tfidf", "embedding", "tfidf+embedding")
DEFAULT_TEXT_FEATURES = "tfidf+embedding"  # why: README, "Text features"


class FeatureError(LabelerError):
    """Features cannot be computed (missing file, unreadable image, inconsistent vectors)."""


@dataclass(frozen=True)
class FeatureSettings:
    """How raw samples become a matrix. Part of the cache key and of every run's params."""

    text_features: str = DEFAULT_TEXT_FEATURES  # one of TEXT_FEATURES
    hash_features: int = 2**18  # columns of the hashed TF-IDF
    text_ngrams: int = 2
    image_size: int = 16
    max_categories: int = 30
    use_vectors: bool = True

    def __post_init__(self) -> None:
        check_text_features(self.text_features)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FeatureSettings:
        """Settings from a project or a run record. Records written before text features
        were a choice held the hash width as ``text_features`` and meant TF-IDF."""
        raw = dict(data or {})
        if isinstance(raw.get("text_features"), int):
            raw["hash_features"] = raw.pop("text_features")
            raw.setdefault("text_features", "tfidf")
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def check_text_features(value: str) -> str:
    if value not in TEXT_FEATURES:
        raise FeatureError(
            f"unknown text features {value!r}; choose one of {', '.join(TEXT_FEATURES)}"
        )
    return value


@dataclass
class Features:
    """Row ``i`` of ``X`` belongs to sample ``ids[i]`` (ascending ids)."""

    ids: np.ndarray  # int64
    X: np.ndarray | sp.csr_matrix  # float32
    kind: str  # text | image | tabular | vectors
    key: str
    columns: list[str]
    # what the features learned from the samples (tabular: columns, categories, means and
    # scales), frozen into the model pipeline (labeler.learning.pipeline)
    state: dict[str, Any] | None = None

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def rows(self, sample_ids: np.ndarray | list[int]) -> np.ndarray:
        """Row positions of ``sample_ids`` (which must all be present)."""
        wanted = np.asarray(sample_ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, wanted)
        pos = np.clip(pos, 0, len(self.ids) - 1)
        missing = self.ids[pos] != wanted
        if missing.any():
            raise FeatureError(f"sample {int(wanted[missing][0])} has no features (stale cache)")
        return pos
