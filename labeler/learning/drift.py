"""Drift checks: is a new batch of samples distributed like the labeled training data, in the
model's feature space?

* Tabular features: the population stability index (PSI) per feature, on ten quantile bins of
  the reference. PSI has a sampling floor (about ``(bins - 1) * (1/n_ref + 1/n_new)`` for two
  samples of one distribution), so a feature alarms only when its PSI is both large
  (``>= 0.1`` moderate, ``>= 0.25`` strong, the usual rule of thumb) and significant: PSI is
  then approximately ``chi2(bins - 1) * (1/n_ref + 1/n_new)``, tested at 1% over all
  features (Bonferroni).
* Text, images and embeddings (many sparse or entangled dimensions): a domain classifier.
  Logistic regression tells reference rows from batch rows; its cross-validated ROC AUC is
  0.5 when they cannot be told apart. It alarms when the AUC is both large (``>= 0.65``
  moderate, ``>= 0.75`` strong) and three standard errors above 0.5.

Both are plain functions on feature matrices (no store, no Qt); :func:`check_drift` picks one
by feature kind and returns a :class:`DriftResult` with a one-line summary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.stats import chi2

PSI_MODERATE, PSI_STRONG = 0.1, 0.25
AUC_MODERATE, AUC_STRONG = 0.65, 0.75
ALPHA = 0.01
MAX_ROWS = 5000  # per side: enough to see a shift, bounded cost
MIN_ROWS = 20


@dataclass(frozen=True)
class DriftResult:
    level: str  # none | moderate | strong | unknown (too few rows)
    method: str  # psi | domain-auc
    score: float | None  # the largest significant PSI, or the AUC
    n_reference: int
    n_batch: int
    feature: str | None = None  # PSI: the feature with the largest significant shift
    per_feature: dict[str, float] = field(default_factory=dict)
    # the scores at which this check alarms, its sampling floor included (None: unknown)
    moderate_at: float | None = None
    strong_at: float | None = None

    def line(self) -> str:
        """``drift: moderate (AUC 0.71)``, ``drift: strong (PSI 0.41, feature 'age')``."""
        if self.score is None:
            return f"drift: {self.level} (fewer than {MIN_ROWS} rows on a side)"
        if self.method == "psi":
            where = f", feature {self.feature!r}" if self.feature else ""
            return f"drift: {self.level} (PSI {self.score:.2f}{where})"
        return f"drift: {self.level} (AUC {self.score:.2f})"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "line": self.line()}


def _subsample(X: Any, rng: np.random.Generator) -> Any:
    if X.shape[0] <= MAX_ROWS:
        return X
    return X[np.sort(rng.choice(X.shape[0], MAX_ROWS, replace=False))]


def population_stability(reference: np.ndarray, batch: np.ndarray, bins: int = 10) -> float:
    """PSI of one feature: ``sum((b - r) * ln(b / r))`` over quantile bins of ``reference``."""
    reference = np.asarray(reference, dtype=np.float64)
    batch = np.asarray(batch, dtype=np.float64)
    reference, batch = reference[np.isfinite(reference)], batch[np.isfinite(batch)]
    if not len(reference) or not len(batch):
        return 0.0
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    r = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    b = np.bincount(np.searchsorted(edges, batch, side="right"), minlength=len(edges) + 1)
    r = np.maximum(r / r.sum(), 1e-4)
    b = np.maximum(b / b.sum(), 1e-4)
    return float(np.sum((b - r) * np.log(b / r)))


def psi_drift(
    reference: np.ndarray, batch: np.ndarray, names: list[str] | None = None, bins: int = 10
) -> DriftResult:
    """PSI per column, judged as the module doc says."""
    n_ref, n_new = reference.shape[0], batch.shape[0]
    if min(n_ref, n_new) < MIN_ROWS:
        return DriftResult("unknown", "psi", None, n_ref, n_new)
    names = names or [f"x{j}" for j in range(reference.shape[1])]
    per = {
        name: population_stability(reference[:, j], batch[:, j], bins)
        for j, name in enumerate(names)
    }
    scale = 1.0 / n_ref + 1.0 / n_new
    critical = chi2.ppf(1 - ALPHA / max(1, len(per)), bins - 1) * scale
    at = (round(max(PSI_MODERATE, critical), 4), round(max(PSI_STRONG, critical), 4))
    significant = {k: v for k, v in per.items() if v >= critical}
    if not significant:
        top = max(per.values(), default=0.0)
        return DriftResult("none", "psi", round(top, 4), n_ref, n_new, None, per, *at)
    feature, score = max(significant.items(), key=lambda kv: kv[1])
    level = "strong" if score >= PSI_STRONG else "moderate" if score >= PSI_MODERATE else "none"
    return DriftResult(level, "psi", round(score, 4), n_ref, n_new, feature, per, *at)


def domain_auc(reference: Any, batch: Any, seed: int = 0) -> float:
    """Cross-validated ROC AUC of a logistic regression telling ``batch`` rows from
    ``reference`` rows (0.5: indistinguishable)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.preprocessing import StandardScaler

    if sp.issparse(reference) or sp.issparse(batch):
        X = sp.vstack([sp.csr_matrix(reference), sp.csr_matrix(batch)]).tocsr()
    else:
        X = StandardScaler().fit_transform(
            np.vstack([np.asarray(reference), np.asarray(batch)]).astype(np.float64)
        )
    y = np.r_[np.zeros(reference.shape[0]), np.ones(batch.shape[0])]
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    model = LogisticRegression(C=0.1, max_iter=1000)
    proba = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def auc_drift(reference: Any, batch: Any, seed: int = 0) -> DriftResult:
    n_ref, n_new = reference.shape[0], batch.shape[0]
    if min(n_ref, n_new) < MIN_ROWS:
        return DriftResult("unknown", "domain-auc", None, n_ref, n_new)
    auc = domain_auc(reference, batch, seed)
    # standard error of the AUC of two indistinguishable samples (Mann-Whitney)
    se = np.sqrt((n_ref + n_new + 1) / (12.0 * n_ref * n_new))
    significant = auc - 0.5 >= 3 * se
    level = "none"
    if significant and auc >= AUC_STRONG:
        level = "strong"
    elif significant and auc >= AUC_MODERATE:
        level = "moderate"
    floor = 0.5 + 3 * se
    at = (round(max(AUC_MODERATE, floor), 4), round(max(AUC_STRONG, floor), 4))
    return DriftResult(level, "domain-auc", round(auc, 4), n_ref, n_new, None, {}, *at)


def check_drift(
    reference: Any,
    batch: Any,
    kind: str,
    names: list[str] | None = None,
    seed: int = 0,
) -> DriftResult:
    """Compare a batch with the reference (labeled training rows) in feature space:
    PSI per feature for ``kind == "tabular"``, a domain classifier otherwise."""
    rng = np.random.default_rng(seed)
    reference, batch = _subsample(reference, rng), _subsample(batch, rng)
    if kind == "tabular" and not sp.issparse(reference):
        return psi_drift(np.asarray(reference), np.asarray(batch), names)
    return auc_drift(reference, batch, seed)
