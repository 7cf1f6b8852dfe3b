"""The model catalog: a few scikit-learn estimators with defaults that suit each modality.

Every estimator built here is plain scikit-learn (so skops can save and load it with a list of
trusted types) and gives ``predict_proba`` (the query strategies need probabilities).
Multi-label projects wrap the estimator in one-vs-rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import ComplementNB

from labeler.errors import LabelerError


class ModelError(LabelerError):
    """Unknown model name, or a model that does not fit the project's modality."""


@dataclass(frozen=True)
class ModelSpec:
    """A catalog entry. ``path`` is the regularisation grid each retrain cross-validates: one
    parameter and its values from the strongest regularisation to the weakest (the order warm
    starts follow). ``class_weight``: the estimator takes ``class_weight="balanced"``, tried
    when the labeled classes are imbalanced."""

    name: str
    description: str
    modalities: tuple[str, ...]
    build: Callable[[int, str], ClassifierMixin]
    path: tuple[str, tuple[float, ...]] | None = None
    class_weight: bool = False


def _logreg(seed: int, kind: str) -> ClassifierMixin:
    if kind == "text":
        # lbfgs on the columns the labeled rows use (compact_fit): on hashed TF-IDF beside
        # 256 dense embedding columns a few dozen full-batch steps, where saga needed tens of
        # per-row epochs over rows 14x denser than TF-IDF's (benchmarks/engine.py).
        return LogisticRegression(C=1.0, solver="lbfgs", max_iter=300, tol=1e-3, random_state=seed)
    return LogisticRegression(C=1.0, max_iter=1000, random_state=seed)


def _sgd(seed: int, kind: str) -> ClassifierMixin:
    return SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=50, tol=1e-3, random_state=seed)


def _forest(seed: int, kind: str) -> ClassifierMixin:
    return RandomForestClassifier(n_estimators=100, min_samples_leaf=1, n_jobs=1, random_state=seed)


def _naive_bayes(seed: int, kind: str) -> ClassifierMixin:
    return ComplementNB(alpha=0.3)


ALL_KINDS = ("text", "image", "tabular", "vectors")

CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "logreg",
            "logistic regression (L2)",
            ALL_KINDS,
            _logreg,
            path=("C", (0.1, 1.0, 10.0)),
            class_weight=True,
        ),
        ModelSpec(
            "sgd",
            "linear model trained by SGD on log-loss",
            ALL_KINDS,
            _sgd,
            path=("alpha", (1e-3, 1e-4, 1e-5)),
            class_weight=True,
        ),
        ModelSpec(
            "forest",
            "random forest, 100 trees",
            ("image", "tabular", "vectors"),
            _forest,
            class_weight=True,
        ),
        ModelSpec(
            "naive-bayes",
            "complement naive Bayes on TF-IDF",
            ("text",),
            _naive_bayes,
            path=("alpha", (1.0, 0.3, 0.1)),
        ),
    )
}

DEFAULTS = {"text": "logreg", "image": "logreg", "tabular": "logreg", "vectors": "logreg"}


def resolve_model(name: str, kind: str) -> str:
    """The catalog name ``name`` stands for on feature kind ``kind`` ("auto" -> default)."""
    if name == "auto":
        return DEFAULTS[kind]
    if name not in CATALOG:
        raise ModelError(f"unknown model {name!r}; choose one of auto, {', '.join(CATALOG)}")
    spec = CATALOG[name]
    if kind not in spec.modalities:
        raise ModelError(f"model {name!r} does not work on {kind} features")
    return name


def make_estimator(name: str, kind: str, *, multi_label: bool = False, seed: int = 0):
    """A fresh, unfitted estimator for feature kind ``kind`` (one-vs-rest when multi-label)."""
    base = CATALOG[resolve_model(name, kind)].build(seed, kind)
    if multi_label:
        return OneVsRestClassifier(base)
    return base
