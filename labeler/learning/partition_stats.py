"""The unsupervised statistics of the features (TF-IDF document frequencies, tabular column
types, categories, means and scales), computed per partition and merged.

The merge reproduces what the in-process feature pass computes over the whole pool:

* text: a hashed term's document frequency is a count, so the sum over partitions is exact
  and the inverse document frequencies equal the in-process ones bit for bit;
* tabular, in two passes. Pass 1: a column's type is decided, as in process, by the first
  ``TABULAR_CHUNK`` rows it appears in; partitions are whole multiples of that chunk, so that
  is the first chunk of the earliest partition holding the column. Pass 2: category counts
  are summed, and each numeric column's mean and variance are combined from per-partition
  counts, means and sums of squared deviations (Chan et al.), in float64 over the float32
  values, as the in-process pass reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labeler.learning.featureset import TABULAR_CHUNK, FeatureSettings
from labeler.learning.tabular_features import TabularEncoder

# -- text ------------------------------------------------------------------------------------


def text_document_frequency(texts: list[str], settings: FeatureSettings) -> np.ndarray:
    """How many of ``texts`` contain each hashed term (int64, ``hash_features`` long)."""
    from labeler.learning.text_features import hash_texts

    counts = hash_texts(texts, settings)
    return np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)


def idf_from_frequency(df: np.ndarray, n_docs: int) -> np.ndarray:
    """Smoothed inverse document frequency (scikit-learn's ``TfidfTransformer``), float32."""
    return (np.log((1.0 + n_docs) / (1.0 + df.astype(np.float64))) + 1.0).astype(np.float32)


# -- tabular ---------------------------------------------------------------------------------


def column_verdicts(frames: list[pd.DataFrame], max_categories: int) -> dict[str, tuple[int, bool]]:
    """Pass 1 on one partition (its ``TABULAR_CHUNK`` frames in order): ``{column: (order,
    numeric)}`` as the in-process encoder decides it, ``order`` = position of first sight."""
    encoder = TabularEncoder(max_categories)
    for frame in frames:
        _observe_types(encoder, frame)
    return {name: (i, encoder.numeric[name]) for i, name in enumerate(encoder.columns)}


def _observe_types(encoder: TabularEncoder, frame: pd.DataFrame) -> None:
    new = [c for c in frame.columns if str(c) not in encoder.numeric]
    if new:  # only unseen columns: the verdict is all pass 1 needs (no category counts)
        encoder.observe(frame[new])


def merge_verdicts(per_partition: list[dict[str, tuple[int, bool]]]) -> list[tuple[str, bool]]:
    """Columns in order of first sight over the partitions (in partition order), each with the
    verdict of the earliest partition that has it."""
    out: dict[str, bool] = {}
    for verdicts in per_partition:
        for name, (_, numeric) in sorted(verdicts.items(), key=lambda kv: kv[1][0]):
            out.setdefault(name, numeric)
    return list(out.items())


@dataclass
class TabularMoments:
    """Pass 2 result of one partition for the decided columns."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # non-numeric columns
    n: dict[str, int] = field(default_factory=dict)  # numeric: finite values
    mean: dict[str, float] = field(default_factory=dict)
    m2: dict[str, float] = field(default_factory=dict)  # sum of squared deviations


def tabular_moments(frames: list[pd.DataFrame], columns: list[tuple[str, bool]]) -> TabularMoments:
    """Pass 2 on one partition: category counts and numeric moments of the decided columns."""
    out = TabularMoments()
    values: dict[str, list[np.ndarray]] = {}
    for frame in frames:
        for name, numeric in columns:
            col = frame[name] if name in frame.columns else pd.Series([None] * len(frame))
            if numeric:
                as_num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float32)
                values.setdefault(name, []).append(as_num[np.isfinite(as_num)])
            else:
                counts = out.counts.setdefault(name, {})
                for key, c in col.dropna().astype(str).value_counts().items():
                    counts[key] = counts.get(key, 0) + int(c)
    for name, numeric in columns:
        if not numeric:
            out.counts.setdefault(name, {})
            continue
        finite = np.concatenate(values.get(name, [np.empty(0, np.float32)]))
        out.n[name] = int(finite.size)
        if finite.size:
            mean = float(finite.mean(dtype=np.float64))
            out.mean[name] = mean
            out.m2[name] = float(((finite.astype(np.float64) - mean) ** 2).sum())
        else:
            out.mean[name] = 0.0
            out.m2[name] = 0.0
    return out


def merge_moments(
    columns: list[tuple[str, bool]], parts: list[TabularMoments], max_categories: int
) -> dict[str, Any]:
    """The tabular state (as :meth:`TabularEncoder.state` gives it) over every partition."""
    cats: list[list[str]] = []
    means: list[float] = []
    scales: list[float] = []
    for name, numeric in columns:
        if not numeric:
            counts: dict[str, int] = {}
            for p in parts:
                for key, c in p.counts.get(name, {}).items():
                    counts[key] = counts.get(key, 0) + c
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            cats.append([k for k, _ in ranked[:max_categories]])
            continue
        cats.append([])
        n, mean, m2 = 0, 0.0, 0.0
        for p in parts:
            nb = p.n.get(name, 0)
            if nb == 0:
                continue
            delta = p.mean[name] - mean
            total = n + nb
            mean += delta * nb / total
            m2 += p.m2[name] + delta * delta * n * nb / total
            n = total
        if n == 0:
            means.append(0.0)
            scales.append(1.0)
            continue
        std = float(np.sqrt(m2 / n))
        means.append(mean)
        scales.append(std if std > 0 else 1.0)
    return {
        "columns": [c for c, _ in columns],
        "numeric": [bool(v) for _, v in columns],
        "categories": cats,
        "means": means,
        "scales": scales,
    }


def parsed_chunks(raw: pd.Series) -> list[pd.DataFrame]:
    """A partition's JSON rows parsed in the in-process pass's chunks: column types are
    inferred per chunk there, so they must be here."""
    from labeler.learning.tabular_features import parse_json_rows

    return [
        parse_json_rows(raw.iloc[i : i + TABULAR_CHUNK]) for i in range(0, len(raw), TABULAR_CHUNK)
    ]
