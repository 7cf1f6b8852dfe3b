"""Fitting an estimator to labels and judging it: training targets, cross-validated
out-of-fold probabilities, accuracy/F1 metrics and bootstrap committees.

Plain functions on arrays (no store, no files): :mod:`labeler.learning.training` runs them for a
retrain and :mod:`labeler.learning.simulate` for the replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils import resample

from labeler.errors import LabelerError
from labeler.learning.compact_fit import fit_compact
from labeler.learning.retrain_phases import NO_VARYING_LABEL, TOO_FEW_CLASSES


class TrainError(LabelerError):
    """A retrain cannot produce a model from the current labels (recorded as a failed run)."""


@dataclass
class Targets:
    """Training targets: ``y`` (class names) or ``Y`` (multi-label indicator matrix)."""

    y: np.ndarray
    classes: list[str]
    multi_label: bool


def make_targets(
    labels: list[tuple[str, ...]], label_names: list[str], multi_label: bool
) -> Targets:
    if multi_label:
        mlb = MultiLabelBinarizer(classes=label_names)
        Y = mlb.fit_transform(labels).astype(np.int64)
        return Targets(Y, list(label_names), True)
    y = np.asarray([lab[0] if lab else "" for lab in labels], dtype=object)
    present = [name for name in label_names if (y == name).any()]
    return Targets(y, present, False)


def check_trainable(targets: Targets) -> None:
    if targets.multi_label:
        Y = targets.y
        varying = [n for j, n in enumerate(targets.classes) if 0 < Y[:, j].sum() < len(Y)]
        if not varying:
            raise TrainError(f"{NO_VARYING_LABEL} among labeled samples")
        return
    if len(targets.classes) < 2:
        have = ", ".join(targets.classes) or "none"
        raise TrainError(f"{TOO_FEW_CLASSES} to train (have: {have})")


def check_finite(X: np.ndarray | sp.csr_matrix, ids: np.ndarray) -> None:
    data = X.data if sp.issparse(X) else X
    if np.isfinite(data).all():
        return
    if sp.issparse(X):
        bad_rows = np.unique(X.nonzero()[0][~np.isfinite(X.data)])
    else:
        bad_rows = np.nonzero(~np.isfinite(X).all(axis=1))[0]
    raise TrainError(f"features of sample {int(ids[bad_rows[0]])} contain NaN or infinity")


# -- cross-validation and metrics --------------------------------------------------------------


def make_folds(targets: Targets, folds: int, seed: int) -> KFold | StratifiedKFold | None:
    """The cross-validation splitter for ``targets`` (None: too few labels to cross-validate)."""
    if targets.multi_label:
        k = min(folds, len(targets.y))
        if k < 2:
            return None
        return KFold(n_splits=k, shuffle=True, random_state=seed)
    # Every class with two or more examples lands in at least two test folds, so each
    # training fold still holds it; a class seen once is predicted by folds that never saw
    # it (honestly wrong), instead of switching cross-validation off for every class.
    counts = [int((targets.y == c).sum()) for c in targets.classes]
    if sum(c >= 2 for c in counts) < 2:
        return None
    k = min(folds, max(counts))
    return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)


def predicted_labels(proba: np.ndarray, targets: Targets) -> list[tuple[str, ...]]:
    if targets.multi_label:
        return [
            tuple(c for c, p in zip(targets.classes, row, strict=True) if p >= 0.5) for row in proba
        ]
    best = proba.argmax(axis=1)
    return [(targets.classes[i],) for i in best]


def confidence(proba: np.ndarray, multi_label: bool) -> np.ndarray:
    if multi_label:
        return np.maximum(proba, 1 - proba).min(axis=1)
    return proba.max(axis=1)


def metrics_from(proba: np.ndarray, targets: Targets) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support."""
    names = targets.classes
    if targets.multi_label:
        truth = targets.y
        pred = (proba >= 0.5).astype(np.int64)
        accuracy = float(accuracy_score(truth, pred))  # subset accuracy
        macro = float(f1_score(truth, pred, average="macro", zero_division=0))
        p, r, f, s = precision_recall_fscore_support(truth, pred, zero_division=0)
    else:
        truth = targets.y
        pred = np.asarray([names[i] for i in proba.argmax(axis=1)], dtype=object)
        accuracy = float(accuracy_score(truth, pred))
        macro = float(f1_score(truth, pred, labels=names, average="macro", zero_division=0))
        p, r, f, s = precision_recall_fscore_support(truth, pred, labels=names, zero_division=0)
    per_class = {
        name: {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(s[i]),
        }
        for i, name in enumerate(names)
    }
    return {"accuracy": accuracy, "macro_f1": macro, "per_class": per_class}


def proba_in_order(estimator, X, targets: Targets) -> np.ndarray:
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    if targets.multi_label:
        return proba
    order = [list(estimator.classes_).index(c) for c in targets.classes]
    return proba[:, order]


def fit_committee(estimator, X, targets: Targets, size: int, seed: int) -> list:
    """Bootstrap members (stratified, so every member knows every class)."""
    members = []
    strat = None if targets.multi_label else targets.y
    for k in range(size):
        rows = resample(
            np.arange(X.shape[0]), replace=True, stratify=strat, random_state=seed + 1 + k
        )
        member = clone(estimator)
        if hasattr(member, "random_state"):
            member.set_params(random_state=seed + 1 + k)
        members.append(fit_compact(member, X[rows], targets.y[rows]))
    return members
