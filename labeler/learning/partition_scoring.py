"""Scoring one partition of the pool, and merging partitions into one ranking.

A partition is a contiguous range of sample ids. Scoring it (on a Dask worker, or in the
retrain process) reads its raw rows from the store, turns them into features with the
retrain's frozen feature transform, and returns only what the ranking needs: the partition's
best candidates under the strategy's total order, and every row's top class and confidence
(compact: a class index and a float32 per unlabeled row). Memory is bounded by the partition size.

The total order is the one :func:`labeler.learning.strategies.top` applies to the whole pool:
score (best first), then the margin between the two likeliest classes (smaller first), then
:func:`~labeler.learning.strategies.content_keys`, then position (= sample id, since partitions
are id ranges in ascending order). The best ``n`` of the union of every partition's best
``n`` are therefore exactly the best ``n`` of the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from labeler.learning.fitting import confidence
from labeler.learning.strategies import (
    HIGHER_FIRST,
    DensityModel,
    _uncertainty_and_margin,
    committee_scores,
    content_keys,
    normalise_density,
)

Matrix = np.ndarray | sp.csr_matrix
# strategies whose candidates are the most uncertain rows (least-confident order)
BY_UNCERTAINTY = {"batch-diverse": "least-confident", "density": "least-confident"}


@dataclass(frozen=True)
class Partition:
    """Sample ids ``first..last`` (inclusive) of the pool, ``size`` of them."""

    index: int
    first: int
    last: int
    size: int


def plan_partitions(ids: np.ndarray, rows_per_partition: int) -> list[Partition]:
    """Cut the ascending sample ids into ranges of ``rows_per_partition`` samples."""
    ids = np.asarray(ids, dtype=np.int64)
    out = []
    for i, start in enumerate(range(0, len(ids), max(1, rows_per_partition))):
        chunk = ids[start : start + rows_per_partition]
        out.append(Partition(i, int(chunk[0]), int(chunk[-1]), len(chunk)))
    return out


@dataclass
class PartitionResult:
    """What one partition sends back (small: ``n`` candidates plus two numbers a row)."""

    index: int
    ids: np.ndarray  # the partition's unlabeled sample ids, ascending
    predicted: np.ndarray  # per unlabeled row: class index (uint16), or a bool row (multi-label)
    confidence: np.ndarray  # float32 per unlabeled row
    cand_ids: np.ndarray  # the partition's best candidates (unlabeled rows only)
    cand_scores: np.ndarray  # float64
    cand_margin: np.ndarray  # float64
    cand_keys: np.ndarray  # float64 content keys
    cand_X: Matrix | None = None  # candidate features (batch-diverse needs them)
    extra: dict = field(default_factory=dict)


def _order_key(scores: np.ndarray, higher_first: bool) -> np.ndarray:  # smaller is better; NaN last
    keyed = -scores if higher_first else scores.copy()
    return np.where(np.isnan(keyed), np.inf, keyed)


def best_rows(
    keyed: np.ndarray, margin: np.ndarray, keys_of: Callable[[np.ndarray], np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the ``n`` best rows by (keyed, margin, content key, position) and their
    content keys; keys are computed only for rows tied with the ``n``-th."""
    n = min(n, len(keyed))
    if n <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    if n < len(keyed):
        kth = np.partition(keyed, n - 1)[n - 1]
        cand = np.flatnonzero(keyed <= kth)
    else:
        cand = np.arange(len(keyed))
    keys = keys_of(cand)
    order = np.lexsort((cand, keys, margin[cand], keyed[cand]))[:n]
    return cand[order].astype(np.int64), keys[order]


def score_rows(
    strategy: str,
    estimator,
    X: Matrix,
    *,
    multi_label: bool,
    members: Sequence | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the strategy's score, the margin tie-break and the probabilities (float64)."""
    kind = BY_UNCERTAINTY.get(strategy, strategy)
    if kind == "committee":  # in process, committee ties go straight to the content key
        scores = committee_scores(members or [], X, multi_label=multi_label)
        margin = np.zeros(X.shape[0])
    elif kind == "random":
        scores = np.zeros(X.shape[0])
        margin = np.zeros(X.shape[0])
    else:
        scores, margin = _uncertainty_and_margin(kind, estimator, X, multi_label=multi_label)
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    return scores, margin, proba


def score_partition(
    part: Partition,
    ids: np.ndarray,
    X: Matrix,
    labeled: np.ndarray,
    *,
    strategy: str,
    estimator,
    class_order: np.ndarray | None,
    n: int,
    multi_label: bool,
    members: Sequence | None = None,
    with_features: bool = False,
    density: tuple[DensityModel, float] | None = None,
) -> PartitionResult:
    """Score the partition's rows ``X`` (sample ``ids``); ``labeled`` holds the project's
    labeled sample ids (sorted), which are left out of the candidates.

    ``class_order`` maps the estimator's columns to the project's class order (``None``:
    already in order, as for multi-label). ``density``: the density model and the largest
    raw density over the whole pool (strategy ``density``)."""
    scores, margin, proba = score_rows(
        strategy, estimator, X, multi_label=multi_label, members=members
    )
    if density is not None:
        model, top_value = density
        scores = scores * normalise_density(model.raw(X), top_value)
    if class_order is not None:
        proba = proba[:, class_order]
    is_labeled = np.isin(ids, labeled, assume_unique=False)
    unlabeled = ~is_labeled
    conf = confidence(proba[unlabeled], multi_label).astype(np.float32)
    if multi_label:
        predicted = proba[unlabeled] >= 0.5
    else:
        predicted = proba[unlabeled].argmax(axis=1).astype(np.uint16)
    kind = BY_UNCERTAINTY.get(strategy, strategy)
    keyed = _order_key(scores.copy(), HIGHER_FIRST.get(kind, True))
    keyed[is_labeled] = np.inf
    allowed = int((~is_labeled).sum())
    if strategy == "random":
        pos = np.empty(0, dtype=np.int64)
        keys = np.empty(0)
    else:
        pos, keys = best_rows(keyed, margin, lambda c: content_keys(X[c]), min(n, allowed))
    return PartitionResult(
        index=part.index,
        ids=np.asarray(ids, dtype=np.int64)[unlabeled],
        predicted=predicted,
        confidence=conf,
        cand_ids=np.asarray(ids, dtype=np.int64)[pos],
        cand_scores=scores[pos],
        cand_margin=margin[pos],
        cand_keys=keys,
        cand_X=X[pos] if with_features else None,
    )


def merge_candidates(
    results: Sequence[PartitionResult], n: int, higher_first: bool
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """The best ``n`` over every partition's candidates: sample ids, scores and, per pick,
    (partition index, position within that partition's candidates)."""
    if not results:
        return np.empty(0, dtype=np.int64), np.empty(0), []
    ids = np.concatenate([r.cand_ids for r in results])
    scores = np.concatenate([r.cand_scores for r in results])
    margin = np.concatenate([r.cand_margin for r in results])
    keys = np.concatenate([r.cand_keys for r in results])
    where = [(r.index, i) for r in results for i in range(len(r.cand_ids))]
    keyed = _order_key(scores.astype(np.float64), higher_first)
    order = np.lexsort((ids, keys, margin, keyed))[: min(n, len(ids))]
    return ids[order], scores[order], [where[i] for i in order]
