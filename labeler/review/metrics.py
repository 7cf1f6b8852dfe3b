"""Model quality from the store's records: confusion matrix and per-class precision, recall
and F1 from out-of-fold predictions against the current labels; class balance; the learning
curve and run history from the run records (the experiment log)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SCORE_KEYS = ("accuracy", "macro_f1", "f1_macro", "macro-f1", "f1")


@dataclass(frozen=True)
class Evaluated:
    """Labeled samples that have an out-of-fold prediction."""

    sample_ids: list[int]
    given: list[tuple[str, ...]]
    predicted: list[tuple[str, ...]]
    probabilities: list[dict[str, float] | None]


def evaluated(current: pd.DataFrame, predictions: Mapping[int, Any]) -> Evaluated:
    """Join current labels (``store.labels.current()``) with out-of-fold predictions."""
    ids, given, pred, probs = [], [], [], []
    for sid, labels in zip(current["sample_id"], current["labels"], strict=True):
        p = predictions.get(int(sid))
        if p is None or not p.out_of_fold:
            continue
        ids.append(int(sid))
        given.append(tuple(labels))
        pred.append(tuple(p.labels))
        probs.append(p.probabilities)
    return Evaluated(ids, given, pred, probs)


def confusion_matrix(
    given: Sequence[tuple[str, ...]],
    predicted: Sequence[tuple[str, ...]],
    classes: Sequence[str],
    counts: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Single-label confusion counts: rows are the given label, columns the predicted one.
    ``counts`` weighs each (given, predicted) pair (one each by default): pairs aggregated in
    SQL come with how many samples have them."""
    idx = {c: i for i, c in enumerate(classes)}
    weights = [1] * len(given) if counts is None else counts
    m = np.zeros((len(classes), len(classes)), dtype=int)
    for g, p, n in zip(given, predicted, weights, strict=True):
        if len(g) == 1 and len(p) == 1 and g[0] in idx and p[0] in idx:
            m[idx[g[0]], idx[p[0]]] += n
    return pd.DataFrame(m, index=list(classes), columns=list(classes))


def per_class_metrics(
    given: Sequence[tuple[str, ...]],
    predicted: Sequence[tuple[str, ...]],
    classes: Sequence[str],
    counts: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (one-vs-rest; works for multi-label).
    ``counts`` weighs each pair, as in :func:`confusion_matrix`."""
    weights = [1] * len(given) if counts is None else counts
    triples = list(zip(given, predicted, weights, strict=True))
    rows = []
    for c in classes:
        tp = sum(n for g, p, n in triples if c in g and c in p)
        fp = sum(n for g, p, n in triples if c not in g and c in p)
        fn = sum(n for g, p, n in triples if c in g and c not in p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((c, precision, recall, f1, tp + fn))
    return pd.DataFrame(rows, columns=["label", "precision", "recall", "f1", "support"])


def class_balance(current: pd.DataFrame, classes: Sequence[str]) -> pd.Series:
    """Labeled samples per class (a multi-label sample counts once for each of its labels)."""
    return class_balance_from_counts(Counter(tuple(x) for x in current["labels"]), classes)


def class_balance_from_counts(
    label_sets: Mapping[tuple[str, ...], int], classes: Sequence[str]
) -> pd.Series:
    """:func:`class_balance` from how many samples carry each label set."""
    counts = dict.fromkeys(classes, 0)
    for labels, n in label_sets.items():
        for name in labels:
            counts[name] = counts.get(name, 0) + int(n)
    return pd.Series(counts, name="count", dtype=int)


def score_of(metrics: Mapping[str, Any]) -> tuple[str, float] | None:
    """The headline score of a run: the first of :data:`SCORE_KEYS` present."""
    for key in SCORE_KEYS:
        value = metrics.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return key, float(value)
    return None


def run_history(runs: Sequence[Any]) -> pd.DataFrame:
    """One row per run (``store.models.runs()``), oldest first."""
    rows = []
    for r in runs:
        score = score_of(r.metrics)
        seconds = (
            (r.finished_at - r.started_at).total_seconds() if r.finished_at is not None else None
        )
        rows.append(
            {
                "run": r.id,
                "model_version": r.model_version,
                "status": r.status,
                "started_at": r.started_at,
                "labels": r.label_count,
                "strategy": r.strategy,
                "metric": score[0] if score else None,
                "score": score[1] if score else None,
                "seconds": seconds,
                "error": r.error,
                "mlflow_run_id": getattr(r, "mlflow_run_id", None),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "run", "model_version", "status", "started_at", "labels", "strategy", "metric",
            "score", "seconds", "error", "mlflow_run_id",
        ],
    )  # fmt: skip


def learning_curve(runs: Sequence[Any]) -> pd.DataFrame:
    """Score against number of labels over the successful runs that recorded a score."""
    history = run_history(runs)
    ok = history[(history["status"] == "ok") & history["score"].notna()]
    return ok[["labels", "score", "metric", "model_version"]].reset_index(drop=True)
