"""Review computations over a store: the numbers and figures review mode shows.

Plain functions (no Qt), used by the review view through a worker and by tests directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labeler.review import plots
from labeler.review.agreement import AgreementReport, agreement_report
from labeler.review.label_errors import find_label_issues, find_multilabel_issues
from labeler.review.metrics import (
    class_balance,
    confusion_matrix,
    evaluated,
    learning_curve,
    per_class_metrics,
    run_history,
)
from labeler.store import Store
from labeler.store.review_queries import replace_suspects

PLOT_NAMES = ("learning-curve", "confusion-matrix", "per-class", "class-balance", "run-history")


@dataclass(frozen=True)
class ReviewSummary:
    labels: list[str]
    labeled: int
    evaluated: int  # labeled samples with an out-of-fold prediction
    model_version: int | None
    agreement: AgreementReport
    confusion: pd.DataFrame
    per_class: pd.DataFrame
    balance: pd.Series
    curve: pd.DataFrame
    history: pd.DataFrame
    suspects: pd.DataFrame


def refresh_suspects(store: Store, current: pd.DataFrame | None = None) -> pd.DataFrame:
    """Find suspected label errors from the current out-of-fold predictions and store them
    (replacing the previous list); see :mod:`labeler.review.label_errors` (single-label,
    binary and multi-label, with the weak-model guard)."""
    info = store.info
    current = store.labels.current() if current is None else current
    run = store.models.latest_ok()
    preds = store.models.predictions(list(current["sample_id"])) if len(current) else {}
    ev = evaluated(current, preds)
    classes = info.label_names
    rows = [
        i
        for i, (g, p) in enumerate(zip(ev.given, ev.probabilities, strict=True))
        if p and (info.multi_label or len(g) == 1)
    ]
    probs = np.array([[ev.probabilities[i].get(c, 0.0) for c in classes] for i in rows])  # type: ignore[union-attr]
    ids = [ev.sample_ids[i] for i in rows]
    if not rows or run is None:
        frame = find_label_issues([], [], np.zeros((0, len(classes))), classes)
    elif info.multi_label:
        frame = find_multilabel_issues(ids, [ev.given[i] for i in rows], probs, classes)
    else:
        frame = find_label_issues(ids, [ev.given[i][0] for i in rows], probs, classes)
    version = run.model_version if run is not None and run.model_version is not None else 0
    replace_suspects(
        store,
        version,
        [
            (
                r.sample_id,
                _as_list(r.given),
                _as_list(r.suggested),
                r.p_given,
                r.p_suggested,
                r.score,
            )
            for r in frame.itertuples()
        ],
    )
    return frame


def _as_list(labels: str | tuple[str, ...]) -> list[str]:
    return [labels] if isinstance(labels, str) else list(labels)


def summarize(store: Store) -> ReviewSummary:
    """Everything review mode's statistics tabs show; refreshes the suspected errors."""
    info = store.info
    current = store.labels.current()
    preds = store.models.predictions(list(current["sample_id"])) if len(current) else {}
    ev = evaluated(current, preds)
    runs = store.models.runs()
    latest = store.models.latest_ok()
    return ReviewSummary(
        labels=info.label_names,
        labeled=len(current),
        evaluated=len(ev.sample_ids),
        model_version=latest.model_version if latest else None,
        agreement=agreement_report(store.labels.by_annotator()),
        confusion=confusion_matrix(ev.given, ev.predicted, info.label_names),
        per_class=per_class_metrics(ev.given, ev.predicted, info.label_names),
        balance=class_balance(current, info.label_names),
        curve=learning_curve(runs),
        history=run_history(runs),
        suspects=refresh_suspects(store, current),
    )


def figures(summary: ReviewSummary) -> dict[str, Figure]:
    return {
        "learning-curve": plots.learning_curve_figure(summary.curve),
        "confusion-matrix": plots.confusion_figure(summary.confusion),
        "per-class": plots.per_class_figure(summary.per_class),
        "class-balance": plots.class_balance_figure(summary.balance),
        "run-history": plots.run_history_figure(summary.history),
    }


def save_plots(summary: ReviewSummary, folder: str | Path, prefix: str = "") -> list[Path]:
    """Write every review plot as ``<folder>/<prefix><name>.png``."""
    return [
        plots.save_png(fig, Path(folder) / f"{prefix}{name}.png")
        for name, fig in figures(summary).items()
    ]
