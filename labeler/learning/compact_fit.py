"""Fit a saga logistic regression on the columns its rows use.

scikit-learn's SAG/SAGA solver updates sparse rows lazily, but ends every epoch with a pass
over every coefficient (to catch up the lazy updates and test convergence): with 2^18 hashed
TF-IDF columns that pass is 2^18 x classes per epoch, whatever the rows hold. A labeled set
of a few thousand short texts uses a few thousand of those columns, so most of a retrain's
cross-validation went into coefficients that stay zero.

:func:`fit_compact` fits on the used columns only and puts the coefficients back at full
width, zeros elsewhere. With an L2 penalty that is the same model: a column that is zero in
every training row has zero gradient from the loss, so its coefficient starts and stays at
zero (the solver's steps and its stopping test, the largest coefficient change, are the
same). The fitted estimator is a plain ``LogisticRegression`` over all columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

USED_SHARE = 0.5  # compact only when the rows use at most this share of the columns


def fit_compact(est: Any, X: Any, y: Any) -> Any:
    """``est.fit(X, y)``; for sparse ``X`` and a sag/saga logistic regression with an L2
    penalty, fitted on the columns ``X`` uses (see the module docstring). A warm start's
    coefficients are narrowed the same way."""
    if not (
        sp.issparse(X)
        and type(est) is LogisticRegression
        and est.solver in ("sag", "saga")
        and est.penalty in ("l2", "deprecated")
        and getattr(est, "l1_ratio", None) in (None, 0, 0.0)
    ):
        return est.fit(X, y)
    X = sp.csr_matrix(X)
    width = X.shape[1]
    used = np.unique(X.indices)
    if len(used) > USED_SHARE * width:
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
