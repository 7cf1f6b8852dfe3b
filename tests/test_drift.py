"""Drift checks on real data sets shipped with scikit-learn: no alarm (at most one in 20) on
random splits of one data set, an alarm on a shifted batch."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_digits

from labeler.learning.drift import check_drift, population_stability


def _halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[: n // 2], order[n // 2 :]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loader", "kind"), [(load_breast_cancer, "tabular"), (load_digits, "image")]
)
def test_at_most_one_false_alarm_over_20_random_splits(loader, kind):
    X = loader().data
    results = [
        check_drift(X[a], X[b], kind, seed=s) for s in range(20) for a, b in [_halves(len(X), s)]
    ]
    assert all(r.level in ("none", "moderate", "strong") for r in results)
    assert sum(r.level != "none" for r in results) <= 1, [r.line() for r in results]


def test_a_shifted_tabular_feature_is_named():
    data = load_breast_cancer()
    a, b = _halves(len(data.data), 0)
    batch = data.data[b].copy()
    batch[:, 3] *= 1.5  # mean area half as large again
    result = check_drift(data.data[a], batch, "tabular", names=list(data.feature_names))
    assert result.level == "strong" and result.feature == "mean area"
    assert result.line().startswith("drift: strong (PSI ") and "'mean area'" in result.line()


def test_a_batch_of_other_classes_alarms_in_a_domain_classifier():
    digits = load_digits()
    reference = digits.data[digits.target < 7][:600]
    batch = digits.data[digits.target >= 3][:600]
    result = check_drift(reference, batch, "image")
    assert result.method == "domain-auc" and result.level in ("moderate", "strong")
    assert result.line() == f"drift: {result.level} (AUC {result.score:.2f})"
    # the same check on sparse features (text: TF-IDF)
    sparse = check_drift(sp.csr_matrix(reference), sp.csr_matrix(batch), "text")
    assert sparse.level in ("moderate", "strong")


def test_psi_of_identical_samples_is_zero_and_small_batches_are_unknown():
    x = np.arange(100.0)
    assert population_stability(x, x) == pytest.approx(0.0)
    tiny = check_drift(np.zeros((5, 2)), np.zeros((5, 2)), "tabular")
    assert tiny.level == "unknown" and "fewer than" in tiny.line()
