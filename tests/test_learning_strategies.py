"""Query strategies on in-memory data, and pins of every modAL path the engine uses."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from modAL.batch import uncertainty_batch_sampling
from modAL.disagreement import KL_max_disagreement
from modAL.models import ActiveLearner, Committee
from modAL.uncertainty import classifier_entropy, classifier_margin, classifier_uncertainty
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler

from labeler.learning.coldstart import diverse_seeds
from labeler.learning.strategies import (
    STRATEGIES,
    StrategyError,
    committee_scores,
    density_weights,
    rank_pool,
    ranked_batch,
    top,
    uncertainty_scores,
)
from tests.learning_data import blobs


@pytest.fixture(scope="module")
def fitted():
    X, y = blobs(n=300, n_classes=3, n_features=4, seed=1)
    X = X + np.random.default_rng(2).normal(scale=3.0, size=X.shape)  # overlapping classes
    est = LogisticRegression(max_iter=500).fit(X[:60], y[:60])
    members = [
        LogisticRegression(C=c, max_iter=500).fit(X[s : s + 60], y[s : s + 60])
        for c, s in ((0.05, 0), (1.0, 30), (20.0, 60))
    ]
    return X, y, est, members


# -- modAL pins: the scoring functions compute what the engine assumes -------------------------


def test_modal_uncertainty_functions_on_fresh_learner(fitted) -> None:
    X, _, est, _ = fitted
    learner = ActiveLearner(estimator=est)  # built around a fitted estimator; never taught
    proba = est.predict_proba(X)
    ranked = np.sort(proba, axis=1)
    np.testing.assert_allclose(classifier_uncertainty(learner, X), 1 - proba.max(axis=1))
    np.testing.assert_allclose(classifier_margin(learner, X), ranked[:, -1] - ranked[:, -2])
    np.testing.assert_allclose(
        classifier_entropy(learner, X), -(proba * np.log(proba)).sum(axis=1), atol=1e-12
    )
    # ... and the engine's chunked wrapper returns exactly modAL's values.
    for kind, fn in (
        ("least-confident", classifier_uncertainty),
        ("margin", classifier_margin),
        ("entropy", classifier_entropy),
    ):
        np.testing.assert_allclose(uncertainty_scores(kind, est, X), fn(learner, X))


def test_modal_kl_max_disagreement_on_fresh_committee(fitted) -> None:
    X, _, _, members = fitted
    committee = Committee(learner_list=[ActiveLearner(estimator=m) for m in members])
    p = np.stack([m.predict_proba(X) for m in members], axis=1)  # (n, members, classes)
    consensus = p.mean(axis=1, keepdims=True)
    expected = (p * np.log(p / consensus)).sum(axis=2).max(axis=1)
    np.testing.assert_allclose(KL_max_disagreement(committee, X), expected, rtol=1e-8)
    np.testing.assert_allclose(committee_scores(members, X), expected, rtol=1e-8)


def test_ranked_batch_matches_modal_uncertainty_batch_sampling(fitted) -> None:
    X, _, est, _ = fitted
    pool = X[60:260]
    learner = ActiveLearner(estimator=est)
    learner.X_training = X[:60]  # what modAL's ranked batch measures distances to
    modal_idx, _ = uncertainty_batch_sampling(learner, pool, n_instances=15)
    unc = classifier_uncertainty(learner, pool)
    ours, _ = ranked_batch(pool, unc, X[:60], 15)
    np.testing.assert_array_equal(ours, modal_idx)


def test_top_orders_best_first_and_skips_nan() -> None:
    scores = np.array([0.2, np.nan, 0.9, 0.5, 0.9])
    np.testing.assert_array_equal(top(scores, 3, True), [2, 4, 3])
    np.testing.assert_array_equal(top(scores, 2, False), [0, 3])


# -- every strategy through rank_pool ----------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_ranks_only_allowed_rows(fitted, strategy: str) -> None:
    X, _, est, members = fitted
    exclude = np.zeros(len(X), dtype=bool)
    exclude[:60] = True  # the labeled rows
    ranking = rank_pool(
        strategy, est, X, 25, exclude=exclude, X_labeled=X[:60], members=members, seed=3
    )
    assert ranking.strategy == strategy
    assert len(ranking.indices) == 25
    assert len(set(ranking.indices.tolist())) == 25
    assert not exclude[ranking.indices].any()
    if strategy == "random":
        assert ranking.scores is None
    else:
        assert ranking.scores is not None and np.isfinite(ranking.scores).all()


def test_margin_and_entropy_pick_the_most_uncertain_rows(fitted) -> None:
    X, _, est, _ = fitted
    proba = np.sort(est.predict_proba(X), axis=1)
    margins = proba[:, -1] - proba[:, -2]
    chosen = rank_pool("margin", est, X, 20).indices
    assert margins[chosen].max() <= np.sort(margins)[19] + 1e-12
    np.testing.assert_array_equal(np.argsort(margins[chosen], kind="stable"), np.arange(20))
    random = rank_pool("random", est, X, 20, seed=0).indices
    assert margins[chosen].mean() < margins[random].mean()


def test_density_prefers_crowded_regions() -> None:
    rng = np.random.default_rng(0)
    crowd = rng.normal(size=(400, 2))
    outliers = rng.normal(size=(10, 2)) * 0.3 + np.array([25.0, 25.0])
    X = np.vstack([crowd, outliers])
    weights = density_weights(X, seed=0, n_clusters=8)
    assert weights[:400].mean() > 5 * weights[400:].mean()
    assert weights.max() == pytest.approx(1.0)


def test_batch_diverse_spreads_the_batch(fitted) -> None:
    X, _, est, _ = fitted
    plain = rank_pool("least-confident", est, X, 20).indices
    diverse = rank_pool("batch-diverse", est, X, 20, X_labeled=X[:60]).indices

    def min_gap(idx: np.ndarray) -> float:
        d = euclidean_distances(X[idx])
        return float(d[np.triu_indices(len(idx), 1)].min())

    assert min_gap(diverse) > min_gap(plain)


def test_batch_diverse_uses_a_candidate_subsample_at_scale() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30_000, 8)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    est = LogisticRegression().fit(X[:200], y[:200])
    ranking = rank_pool("batch-diverse", est, X, 50, X_labeled=X[:200], candidates=1_000)
    unc = uncertainty_scores("least-confident", est, X)
    # Every pick comes from the 1,000 most uncertain rows.
    assert unc[ranking.indices].min() >= np.sort(unc)[-1000] - 1e-9


def test_committee_needs_two_members(fitted) -> None:
    X, _, est, _ = fitted
    with pytest.raises(StrategyError, match="at least two"):
        rank_pool("committee", est, X, 5, members=[est])


def test_unknown_strategy_is_a_one_line_error(fitted) -> None:
    X, _, est, _ = fitted
    with pytest.raises(StrategyError, match="unknown strategy 'smart'"):
        rank_pool("smart", est, X, 5)


def test_strategies_on_sparse_text_like_features() -> None:
    rng = np.random.default_rng(0)
    X = sp.random(400, 50, density=0.1, format="csr", random_state=1, dtype=np.float32)
    y = rng.integers(0, 2, size=400)
    est = LogisticRegression().fit(X[:80], y[:80])
    for strategy in ("margin", "density", "batch-diverse"):
        ranking = rank_pool(strategy, est, X, 10, X_labeled=X[:80])
        assert len(set(ranking.indices.tolist())) == 10


def test_multi_label_scores_treat_each_label_as_binary() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(int)
    est = OneVsRestClassifier(LogisticRegression()).fit(X, Y)
    p = est.predict_proba(X)
    np.testing.assert_allclose(
        uncertainty_scores("margin", est, X, multi_label=True), np.abs(2 * p - 1).min(axis=1)
    )
    chosen = rank_pool("margin", est, X, 10, multi_label=True).indices
    # the chosen rows sit near one of the two decision boundaries
    assert np.minimum(np.abs(X[chosen, 0]), np.abs(X[chosen, 1])).max() < 0.5


# -- cold start ---------------------------------------------------------------------------------


def test_cold_start_seeds_cover_every_cluster() -> None:
    X, y = blobs(n=500, n_classes=5, n_features=3, seed=4)
    picks, scores = diverse_seeds(X, 5, seed=0, n_centres=5)
    assert sorted(set(y[picks])) == ["c0", "c1", "c2", "c3", "c4"]
    assert len(scores) == 5


def test_cold_start_with_one_class_labeled_goes_elsewhere_first() -> None:
    X, y = blobs(n=500, n_classes=4, n_features=3, seed=5)
    labeled = X[y == "c0"][:10]
    picks, _ = diverse_seeds(X, 40, X_labeled=labeled, seed=0, n_centres=8)
    assert y[picks[0]] != "c0"
    assert set(y[picks[:8]]) >= {"c1", "c2", "c3"}
    assert len(set(picks.tolist())) == 40  # k-center fills the rest without repeats


def test_two_class_pool_ranks_the_same_by_margin_entropy_and_least_confident() -> None:
    # float32 features give float32 probabilities: many exact ties, which used to be broken
    # by pool position, so margin and entropy disagreed on a two-class pool.
    data = load_breast_cancer()
    X = StandardScaler().fit_transform(data.data).astype(np.float32)
    est = LogisticRegression(max_iter=1000).fit(X[:40], data.target[:40])
    pool = np.vstack([X[40:], X[40:200]])  # real data repeats itself: exact duplicates tie
    assert est.predict_proba(pool).dtype == np.float32
    ranks = {
        s: rank_pool(s, est, pool, len(pool)).indices
        for s in ("least-confident", "margin", "entropy")
    }
    np.testing.assert_array_equal(pool[ranks["margin"]], pool[ranks["entropy"]])
    np.testing.assert_array_equal(pool[ranks["margin"]], pool[ranks["least-confident"]])
    # the same rows in another order are ranked the same (ties do not follow position)
    perm = np.random.default_rng(0).permutation(len(pool))
    for strategy, base in ranks.items():
        shuffled = rank_pool(strategy, est, pool[perm], len(pool)).indices
        np.testing.assert_array_equal(pool[perm][shuffled], pool[base])
    scores = rank_pool("margin", est, pool, len(pool)).scores
    assert scores.dtype == np.float64 and (np.diff(scores) >= 0).all()


def test_top_breaks_ties_by_keys_not_position() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1])
    keys = np.array([3.0, 0.0, 1.0, 2.0, 0.0])
    np.testing.assert_array_equal(top(scores, 3, True, (keys,)), [1, 2, 3])
    np.testing.assert_array_equal(top(scores[::-1], 3, True, (keys[::-1],)), [3, 2, 1])
    asked = []

    def lazy(cand: np.ndarray) -> list[np.ndarray]:  # keys for the rows in the tie-break only
        asked.append(list(cand))
        return [keys[cand]]

    np.testing.assert_array_equal(top(scores, 3, True, lazy), [1, 2, 3])
    assert asked == [[0, 1, 2, 3]]  # the best one and the three tied at the cut, not row 4
