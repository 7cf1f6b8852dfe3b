"""Drift of an import batch against the labeled samples of earlier imports, in the project's
feature space (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer

from labeler.learning.batch_drift import batch_drift
from tests.learning_data import add_tabular


def test_a_shifted_import_alarms_and_a_like_one_does_not(make_store):
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :8]
    order = np.random.default_rng(0).permutation(len(X))
    first, second, third = order[:250], order[250:400], order[400:]
    store = make_store(modality="tabular", labels=("malignant", "benign"))
    assert batch_drift(store)["line"] == "drift: n/a (no import)"
    names = ("malignant", "benign")
    add_tabular(store, X[first], [(names[int(k)],) for k in y[first]])
    assert batch_drift(store)["level"] == "n/a"  # nothing earlier to compare with

    add_tabular(store, X[second])  # unlabeled, same distribution
    like = batch_drift(store)
    assert like["level"] == "none", like["line"]

    shifted = X[third].copy()
    shifted[:, 3] *= 1.6  # mean area
    add_tabular(store, shifted)
    alarm = batch_drift(store)
    assert alarm["level"] == "strong", alarm["line"]
    assert alarm["line"].startswith("drift: strong (PSI ")
    assert alarm["batch"] == like["batch"] + 1
    assert batch_drift(store, like["batch"])["level"] == "none"  # an earlier batch, by id
