"""Query strategies: rank the unlabeled pool by how much labeling each sample should help.

Uncertainty and committee scores come from modAL's scoring functions, applied to learners
built fresh around already fitted estimators (``ActiveLearner(estimator=fitted)``; modAL's
``teach`` is never called). Scores are computed in chunks so a 1M pool needs no n x n matrix.
Density weighting and batch diversity use k-means on a sample and distances to a few hundred
points instead of modAL's all-pairs paths.

Every :class:`Ranking` carries the strategy's own score per chosen sample (what the queue
stores as "why"): uncertainty ``1 - max p`` (least-confident), margin ``p1 - p2`` (margin;
smaller is chosen first), entropy, committee KL disagreement, density-weighted uncertainty,
the ranked-batch score (batch-diverse), or none (random).

Scores are float64, computed from probabilities cast to float64. Ties are broken without
looking at a sample's position in the pool, so reordering the pool reorders nothing: the
uncertainty strategies break ties by the margin between the two likeliest classes (smaller
first; it also separates rows whose top probability is equal), then every strategy by
:func:`content_keys`, a fixed random projection of the sample's features. On a
two-class pool least-confident, margin and entropy are monotone in the same quantity, so
all three rank it identically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from modAL.disagreement import KL_max_disagreement
from modAL.models import ActiveLearner, Committee
from modAL.uncertainty import classifier_entropy, classifier_margin, classifier_uncertainty
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.metrics.pairwise import euclidean_distances

from labeler.errors import LabelerError
from labeler.learning.blocks import predict_proba
from labeler.progress import CancelToken

STRATEGIES = (
    "random",
    "least-confident",
    "margin",
    "entropy",
    "committee",
    "density",
    "batch-diverse",
)
HIGHER_FIRST = {
    "least-confident": True,
    "margin": False,
    "entropy": True,
    "committee": True,
    "density": True,
    "batch-diverse": True,
}
SCORE_MEANING = {
    "random": "none (uniform random order)",
    "least-confident": "uncertainty 1 - max p (higher first)",
    "margin": "margin p1 - p2 between the two likeliest labels (lower first)",
    "entropy": "entropy of the predicted distribution (higher first)",
    "committee": "max KL divergence of a committee member from the consensus (higher first)",
    "density": "uncertainty x estimated density of the sample's neighbourhood (higher first)",
    "batch-diverse": "ranked-batch score: uncertainty traded against distance to chosen samples",
    "cold-start": "k-means seed: cluster share; k-center pick: distance to nearest chosen sample",
    "search": "number of query matches",
}
SCORE_CHUNK = 65_536
TIE_SEED = 20_240_917  # fixes the projection behind content_keys: the same row, the same key
Matrix = np.ndarray | sp.csr_matrix
ProbaObserver = Callable[[int, np.ndarray], None]


class StrategyError(LabelerError):
    """Unknown strategy, or a strategy that cannot run with what it was given."""


def check_strategy(name: str) -> str:
    if name not in STRATEGIES:
        raise StrategyError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return name


@dataclass(frozen=True)
class Ranking:
    """Pool positions best first, with the strategy's score for each."""

    strategy: str
    indices: np.ndarray
    scores: np.ndarray | None


# -- per-sample scores -------------------------------------------------------------------------


def _chunked(
    fn: Callable[[Matrix], np.ndarray], X: Matrix, cancel: CancelToken | None = None
) -> np.ndarray:
    n = X.shape[0]
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, SCORE_CHUNK):
        if cancel is not None:
            cancel.check()
        out[start : start + SCORE_CHUNK] = fn(X[start : start + SCORE_CHUNK])
    return out


def _multilabel_scores(kind: str, proba: np.ndarray) -> np.ndarray:
    """Multi-label (one-vs-rest) probabilities: each label is a binary question."""
    p = np.clip(proba, 1e-12, 1 - 1e-12)
    if kind == "least-confident":
        return (1.0 - np.maximum(p, 1 - p)).max(axis=1)
    if kind == "margin":
        return np.abs(2 * p - 1).min(axis=1)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p)).sum(axis=1)


class _Fixed:
    """What modAL's scoring functions read from a classifier: probabilities already computed."""

    def __init__(self, proba: np.ndarray) -> None:
        self.proba = proba

    def predict_proba(self, X: Matrix) -> np.ndarray:
        return self.proba


_UNCERTAINTY = {
    "least-confident": classifier_uncertainty,
    "margin": classifier_margin,
    "entropy": classifier_entropy,
}


def _uncertainty_and_margin(
    kind: str,
    estimator,
    X: Matrix,
    *,
    multi_label: bool = False,
    cancel: CancelToken | None = None,
    on_proba: ProbaObserver | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``kind`` score of every row and its margin, the tie-breaker (float64): ``p1 - p2``
    of the two likeliest classes, or for multi-label the smallest ``|2p - 1|`` of any label.
    ``on_proba(start, proba)`` sees each chunk's probabilities (the estimator's class order)."""
    n = X.shape[0]
    scores = np.empty(n, dtype=np.float64)
    margin = np.empty(n, dtype=np.float64)
    for start in range(0, n, SCORE_CHUNK):
        if cancel is not None:
            cancel.check()
        proba = np.asarray(
            predict_proba(estimator, X, slice(start, start + SCORE_CHUNK)), np.float64
        )
        end = start + proba.shape[0]
        if on_proba is not None:
            on_proba(start, proba)
        if multi_label:
            scores[start:end] = _multilabel_scores(kind, proba)
            margin[start:end] = scores[start:end] if kind == "margin" else _multilabel_margin(proba)
        else:
            scores[start:end] = _UNCERTAINTY[kind](_Fixed(proba), None)
            margin[start:end] = scores[start:end] if kind == "margin" else _top_two_gap(proba)
    return scores, margin


def _top_two_gap(proba: np.ndarray) -> np.ndarray:
    """p1 - p2 of the two likeliest classes (modAL's margin, without a second pass)."""
    if proba.shape[1] < 2:
        return proba[:, 0].copy()
    part = np.partition(proba, -2, axis=1)
    return part[:, -1] - part[:, -2]


def _multilabel_margin(proba: np.ndarray) -> np.ndarray:
    return _multilabel_scores("margin", proba)


def uncertainty_scores(
    kind: str,
    estimator,
    X: Matrix,
    *,
    multi_label: bool = False,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """``least-confident``/``margin``/``entropy`` score (float64) of every row of ``X``."""
    return _uncertainty_and_margin(kind, estimator, X, multi_label=multi_label, cancel=cancel)[0]


def content_keys(X: Matrix, cancel: CancelToken | None = None) -> np.ndarray:
    """A float64 key per row that depends only on the row's features (a fixed random
    projection): breaks ties between equal scores the same way wherever a row sits."""
    w = np.random.default_rng(TIE_SEED).standard_normal(X.shape[1])
    return _chunked(lambda c: np.asarray(c @ w, dtype=np.float64).ravel(), X, cancel)


class _Float64Proba:
    """A fitted estimator whose probabilities are handed on as float64 (the committee's KL
    divergence is then computed in float64 even for a model that predicts in float32)."""

    def __init__(self, estimator) -> None:
        self.estimator = estimator
        self.classes_ = estimator.classes_

    def predict_proba(self, X: Matrix) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(X), dtype=np.float64)

    def predict(self, X: Matrix) -> np.ndarray:
        return self.estimator.predict(X)


def committee_scores(
    members: Sequence, X: Matrix, *, multi_label: bool = False, cancel: CancelToken | None = None
) -> np.ndarray:
    """Disagreement of a committee of fitted estimators (modAL's KL max disagreement)."""
    if len(members) < 2:
        raise StrategyError("query by committee needs at least two fitted members")
    if multi_label:

        def spread(c: Matrix) -> np.ndarray:
            stack = np.stack([np.asarray(m.predict_proba(c), dtype=np.float64) for m in members])
            return stack.std(axis=0).mean(axis=1)

        return _chunked(spread, X, cancel)
    committee = Committee(learner_list=[ActiveLearner(estimator=_Float64Proba(m)) for m in members])
    return _chunked(lambda c: KL_max_disagreement(committee, c), X, cancel)


def top(
    scores: np.ndarray,
    n: int,
    higher_first: bool,
    tie_keys: Sequence[np.ndarray] | Callable[[np.ndarray], Sequence[np.ndarray]] = (),
) -> np.ndarray:
    """Positions of the ``n`` best scores, best first.

    Equal scores are ordered by ``tie_keys`` (each ascending, the first one first), then by
    position. ``tie_keys`` may be a function of the positions that take part in the
    tie-break (the ``n`` best and every row tied with the ``n``-th), so keys are computed for
    those rows only. NaN scores come last."""
    n = min(n, len(scores))
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    keyed = -np.asarray(scores, dtype=np.float64) if higher_first else np.asarray(scores, float)
    keyed = np.where(np.isnan(keyed), np.inf, keyed)
    if n < len(keyed):  # every row tied with the n-th best takes part in the tie-break
        kth = np.partition(keyed, n - 1)[n - 1]
        cand = np.flatnonzero(keyed <= kth)
    else:
        cand = np.arange(len(keyed))
    if callable(tie_keys):
        extra = [np.asarray(k) for k in tie_keys(cand)]
    else:
        extra = [np.asarray(k)[cand] for k in tie_keys]
    order = np.lexsort((*reversed(extra), keyed[cand]))
    return cand[order[:n]].astype(np.int64)


# -- density -----------------------------------------------------------------------------------


DENSITY_SAMPLE = 20_000
DENSITY_CLUSTERS = 50


def density_sample(n: int, seed: int = 0, sample_size: int = DENSITY_SAMPLE) -> np.ndarray:
    """Positions (sorted) of the pool rows the density's k-means is fitted on."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=min(n, sample_size), replace=False))


@dataclass(frozen=True)
class DensityModel:
    """A Gaussian kernel density over k-means centres weighted by cluster size."""

    centres: np.ndarray
    weights: np.ndarray
    sigma2: float

    @classmethod
    def fit(cls, sub: Matrix, seed: int = 0, n_clusters: int = DENSITY_CLUSTERS) -> DensityModel:
        k = max(1, min(n_clusters, sub.shape[0]))
        km = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=2048).fit(sub)
        centres = km.cluster_centers_.astype(np.float32)
        weights = np.bincount(km.labels_, minlength=k) / sub.shape[0]
        d2_sub = euclidean_distances(sub, centres, squared=True).min(axis=1)
        return cls(centres, weights, float(np.median(d2_sub)) or 1.0)

    def raw(self, X: Matrix, cancel: CancelToken | None = None) -> np.ndarray:
        """Unnormalised density of every row (chunked)."""

        def dens(c: Matrix) -> np.ndarray:
            d2 = euclidean_distances(c, self.centres, squared=True)
            return np.exp(-d2 / (2 * self.sigma2)) @ self.weights

        return _chunked(dens, X, cancel)


def normalise_density(raw: np.ndarray, top_value: float) -> np.ndarray:
    """Densities in (0, 1] given the largest over the whole pool."""
    return raw / top_value if top_value > 0 else np.ones(len(raw))


def density_weights(
    X: Matrix,
    *,
    seed: int = 0,
    n_clusters: int = DENSITY_CLUSTERS,
    sample_size: int = DENSITY_SAMPLE,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """How crowded each row's neighbourhood is, in (0, 1].

    A Gaussian kernel density over k-means centres (fitted on a sample, weighted by cluster
    size) approximates the average similarity to the whole pool in O(n k) instead of O(n^2).
    """
    sub = X[density_sample(X.shape[0], seed, sample_size)]
    raw = DensityModel.fit(sub, seed, n_clusters).raw(X, cancel)
    return normalise_density(raw, float(raw.max()))


# -- ranked batch ------------------------------------------------------------------------------


def ranked_batch(
    X_candidates: Matrix,
    uncertainty: np.ndarray,
    X_labeled: Matrix | None,
    n: int,
    *,
    n_unlabeled: int | None = None,
    n_labeled: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cardoso et al.'s ranked batch selection (the rule modAL's ``ranked_batch`` uses).

    Each step picks ``argmax alpha * (1 - 1/(1+d)) + (1 - alpha) * uncertainty`` where ``d``
    is the distance to the nearest labeled or already picked sample and
    ``alpha = unlabeled / (unlabeled + labeled)``. Distances are kept incrementally, so a step
    costs O(candidates) instead of modAL's O(pool x labeled). ``n_unlabeled``/``n_labeled``
    give the true pool sizes when the candidates (or the labeled reference) are a subsample.
    """
    m = X_candidates.shape[0]
    n = min(n, m)
    if X_labeled is not None and X_labeled.shape[0] > 0:
        _, min_dist = pairwise_distances_argmin_min(X_candidates, X_labeled)
        min_dist = min_dist.astype(np.float64)
        ref = X_labeled.shape[0]
    else:
        min_dist = np.full(m, np.inf)
        ref = 0
    n_unl = m if n_unlabeled is None else n_unlabeled
    n_lab = ref if n_labeled is None else n_labeled
    chosen = np.zeros(m, dtype=bool)
    picks: list[int] = []
    scores: list[float] = []
    for step in range(n):
        alpha = (n_unl - step) / ((n_unl - step) + (n_lab + step))
        similarity = np.where(np.isinf(min_dist), 0.0, 1.0 / (1.0 + min_dist))
        score = alpha * (1.0 - similarity) + (1.0 - alpha) * uncertainty
        score[chosen] = -np.inf
        best = int(np.argmax(score))
        picks.append(best)
        scores.append(float(score[best]))
        chosen[best] = True
        d = euclidean_distances(X_candidates, X_candidates[best : best + 1]).ravel()
        min_dist = np.minimum(min_dist, d)
    return np.asarray(picks, dtype=np.int64), np.asarray(scores)


# -- the entry point ---------------------------------------------------------------------------


def rank_pool(
    strategy: str,
    estimator,
    X_pool: Matrix,
    n: int,
    *,
    exclude: np.ndarray | None = None,
    X_labeled: Matrix | None = None,
    members: Sequence | None = None,
    multi_label: bool = False,
    seed: int = 0,
    candidates: int = 5_000,
    labeled_reference: int = 10_000,
    cancel: CancelToken | None = None,
    on_proba: ProbaObserver | None = None,
) -> Ranking:
    """Rank the rows of ``X_pool`` with ``strategy``; return the best ``n`` positions.

    ``exclude`` (a boolean mask) leaves rows out of the ranking (labeled samples) while the
    matrix is scored in place, so the caller never copies a large pool.

    ``on_proba(start, proba)`` is handed the estimator's probabilities of rows
    ``start:start + len(proba)`` as the scoring pass computes them (every row, once), for
    strategies that score with the estimator (not ``random`` or ``committee``).
    """
    check_strategy(strategy)
    size = X_pool.shape[0]
    allowed = np.ones(size, dtype=bool) if exclude is None else ~np.asarray(exclude, dtype=bool)
    n_allowed = int(allowed.sum())
    n = min(n, n_allowed)
    if n <= 0:  # nothing left to rank (every sample labeled): an empty ranking, not an error
        return Ranking(
            strategy, np.empty(0, dtype=np.int64), None if strategy == "random" else np.empty(0)
        )
    rng = np.random.default_rng(seed)
    if strategy == "random":
        idx = rng.permutation(np.nonzero(allowed)[0])[:n]
        return Ranking(strategy, idx.astype(np.int64), None)

    def masked(scores: np.ndarray) -> np.ndarray:
        scores[~allowed] = np.nan
        return scores

    def keys_of(cand: np.ndarray) -> np.ndarray:  # computed for the tie-break's rows only
        return content_keys(X_pool[cand])

    def margin_then_keys(margin: np.ndarray) -> Callable[[np.ndarray], list[np.ndarray]]:
        return lambda cand: [margin[cand], keys_of(cand)]

    if strategy in ("least-confident", "margin", "entropy"):
        scores, margin = _uncertainty_and_margin(
            strategy, estimator, X_pool, multi_label=multi_label, cancel=cancel, on_proba=on_proba
        )
        scores = masked(scores)
        idx = top(scores, n, HIGHER_FIRST[strategy], margin_then_keys(margin))
        return Ranking(strategy, idx, scores[idx])
    if strategy == "committee":
        scores = masked(
            committee_scores(members or [], X_pool, multi_label=multi_label, cancel=cancel)
        )
        idx = top(scores, n, True, lambda cand: [keys_of(cand)])
        return Ranking(strategy, idx, scores[idx])
    unc, margin = _uncertainty_and_margin(
        "least-confident",
        estimator,
        X_pool,
        multi_label=multi_label,
        cancel=cancel,
        on_proba=on_proba,
    )
    unc = masked(unc)
    if strategy == "density":
        scores = unc * density_weights(X_pool, seed=seed, cancel=cancel)
        idx = top(scores, n, True, margin_then_keys(margin))
        return Ranking(strategy, idx, scores[idx])
    # batch-diverse: ranked batch over the most uncertain candidates.
    cand = top(unc, min(n_allowed, max(candidates, 4 * n)), True, margin_then_keys(margin))
    cand.sort()
    ref = None
    n_labeled = 0
    if X_labeled is not None and X_labeled.shape[0] > 0:
        n_labeled = X_labeled.shape[0]
        keep = rng.choice(n_labeled, size=min(n_labeled, labeled_reference), replace=False)
        ref = X_labeled[np.sort(keep)]
    picks, scores = ranked_batch(
        X_pool[cand], unc[cand], ref, n, n_unlabeled=n_allowed, n_labeled=n_labeled
    )
    return Ranking(strategy, cand[picks], scores)
