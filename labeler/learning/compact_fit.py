"""Fit a logistic regression on the columns its rows use.

Every solver pays per iteration for every coefficient, whatever the rows hold: SAG/SAGA ends
each epoch with a pass over all of them (to catch up the lazy updates and test convergence),
L-BFGS updates and stores its vectors at full width. With 2^18 hashed TF-IDF columns that is
2^18 x classes per iteration, while a labeled set of a few thousand short texts uses a few
thousand of those columns, so most of a retrain's cross-validation went into coefficients
that stay zero.

:func:`fit_compact` fits on the used columns only and puts the coefficients back at full
width, zeros elsewhere. With an L2 penalty that is the same model: a column that is zero in
every training row has zero gradient from the loss, so its coefficient starts and stays at
zero (the solver's steps and its stopping test, the largest coefficient change, are the
same; for L-BFGS the gradient and its history are zero there too). The fitted estimator is a plain ``LogisticRegression`` over all columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

USED_SHARE = 0.5  # saga: compact only when the rows use at most this share of the columns
SOLVERS = ("sag", "saga", "lbfgs")


def fit_compact(est: Any, X: Any, y: Any) -> Any:
    """``est.fit(X, y)``; for sparse ``X`` and a sag/saga/lbfgs logistic regression with an
    L2 penalty, fitted on the columns ``X`` uses (see the module docstring). A warm start's
    coefficients are narrowed the same way. lbfgs is always compacted (its iterations cost
    about the nonzeros plus the width, so narrowing never loses); saga only when the rows
    leave most columns empty (the copy of the used columns costs about one epoch)."""
    if not (
        sp.issparse(X)
        and type(est) is LogisticRegression
        and est.solver in SOLVERS
        and est.penalty in ("l2", "deprecated")
        and getattr(est, "l1_ratio", None) in (None, 0, 0.0)
    ):
        return est.fit(X, y)
    X = sp.csr_matrix(X)
    width = X.shape[1]
    used = np.unique(X.indices)
    if len(used) == width or (est.solver != "lbfgs" and len(used) > USED_SHARE * width):
        return est.fit(X, y)
    if est.warm_start and getattr(est, "coef_", None) is not None:
        if est.coef_.shape[1] == width:
            est.coef_ = np.ascontiguousarray(est.coef_[:, used])
        else:
            del est.coef_  # from another width: start cold, as scikit-learn would refuse it
    est.fit(X[:, used], y)
    full = np.zeros((est.coef_.shape[0], width), dtype=est.coef_.dtype)
    full[:, used] = est.coef_
    est.coef_ = full
    est.n_features_in_ = width
    return est
