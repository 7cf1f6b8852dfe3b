"""Scoring a linear model on TF-IDF + embedding blocks without building the joined rows."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, SGDClassifier

from labeler.learning.blocks import HStack, predict_proba


def blocks(n: int = 300, seed: int = 0) -> tuple[HStack, sp.csr_matrix]:
    rng = np.random.default_rng(seed)
    A = sp.random(n, 2000, density=0.01, format="csr", dtype=np.float32, random_state=seed)
    D = rng.normal(size=(n, 16)).astype(np.float16)  # float16, as the embedding cache holds
    return HStack([A, D]), sp.hstack([A, sp.csr_matrix(D.astype(np.float32))], format="csr")


@pytest.mark.parametrize("n_classes", [2, 4])
def test_block_scores_equal_the_estimator_on_joined_rows(n_classes: int) -> None:
    X, joined = blocks()
    y = (np.asarray(joined[:, -16:].sum(axis=1)).ravel() * 3).astype(int) % n_classes
    est = LogisticRegression(C=10.0, max_iter=500).fit(joined, y)
    for rows in (slice(None), slice(17, 170), np.array([250, 3, 3, 99])):
        expected = est.predict_proba(joined[rows])
        got = predict_proba(est, X, rows)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)  # sklearn: float32
    np.testing.assert_allclose(X.dot(est.coef_.T), joined @ est.coef_.T, atol=1e-5)


def test_other_estimators_and_matrices_score_as_before() -> None:
    X, joined = blocks()
    y = np.arange(joined.shape[0]) % 3
    sgd = SGDClassifier(loss="log_loss", random_state=0).fit(joined, y)
    np.testing.assert_array_equal(
        predict_proba(sgd, X, slice(0, 50)), sgd.predict_proba(joined[:50])
    )
    lr = LogisticRegression(max_iter=500).fit(joined, y)
    np.testing.assert_array_equal(
        predict_proba(lr, joined, slice(0, 50)), lr.predict_proba(joined[:50])
    )


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("solver", ["lbfgs", "saga"])
def test_a_compact_fit_is_the_fit_on_every_column(n_classes: int, solver: str) -> None:
    from labeler.learning.catalog import make_estimator as make_text_estimator
    from labeler.learning.compact_fit import fit_compact

    X, joined = blocks(n=200, seed=3)
    used = joined[:120]  # these rows leave most of the 2,016 columns empty
    y = np.arange(120) % n_classes
    # lbfgs (the text default) sums its float32 dot products over other lengths: the same
    # iterates up to float32 rounding; saga's steps are the same numbers
    atol = 1e-6 if solver == "lbfgs" else 1e-8

    def make_estimator(name: str, kind: str):
        return make_text_estimator(name, kind).set_params(solver=solver)

    plain = make_estimator("logreg", "text").set_params(C=10.0).fit(used, y)
    compact = fit_compact(make_estimator("logreg", "text").set_params(C=10.0), used, y)
    assert type(compact).__name__ == "LogisticRegression"
    assert compact.coef_.shape == plain.coef_.shape and compact.n_features_in_ == 2016
    np.testing.assert_allclose(compact.coef_, plain.coef_, atol=atol)
    np.testing.assert_allclose(compact.intercept_, plain.intercept_, atol=atol)
    np.testing.assert_array_equal(compact.predict(joined), plain.predict(joined))
    # a warm start from full-width coefficients (as the selection path walks C) is narrowed
    # to the used columns and gives the same path as the plain warm-started fits
    warm = make_estimator("logreg", "text").set_params(C=1.0, warm_start=True)
    path = make_estimator("logreg", "text").set_params(C=1.0, warm_start=True)
    fit_compact(warm, used, y)
    path.fit(used, y)
    fit_compact(warm.set_params(C=10.0), used, y)
    path.set_params(C=10.0).fit(used, y)
    np.testing.assert_allclose(warm.coef_, path.coef_, atol=atol)
