"""Review computations over a store: the numbers and figures review mode shows.

Plain functions (no Qt), used by the review view through a worker and by tests directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labeler.review import plots
from labeler.review.agreement import AgreementReport, agreement_report
from labeler.review.label_errors import find_label_issues, find_multilabel_issues
from labeler.review.metrics import (
    class_balance_from_counts,
    confusion_matrix,
    learning_curve,
    per_class_metrics,
    run_history,
)
from labeler.store import Store
from labeler.store.review_stats import (
    given_vs_predicted,
    label_set_counts,
    oof_probabilities,
    shared_labels,
)
from labeler.store.review_suspects import replace_suspects

StageFn = Callable[[int, int, str], None]  # (stages done, stages in all, the stage starting)

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


def refresh_suspects(store: Store) -> pd.DataFrame:
    """Find suspected label errors from the current out-of-fold predictions and store them
    (replacing the previous list); see :mod:`labeler.review.label_errors` (single-label,
    binary and multi-label, with the weak-model guard)."""
    info = store.info
    run = store.models.latest_ok()
    classes = info.label_names
    frame = find_label_issues([], [], np.zeros((0, len(classes))), classes)
    if run is not None:
        oof = oof_probabilities(store, classes, multi_label=info.multi_label)
        ids = [int(i) for i in oof.sample_ids]
        if ids and info.multi_label:
            frame = find_multilabel_issues(ids, oof.given, oof.probs, classes)
        elif ids:
            frame = find_label_issues(ids, [g[0] for g in oof.given], oof.probs, classes)
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


STAGES = ("class balance", "model quality", "agreement", "suspected errors")


def summarize(store: Store, progress: StageFn | None = None) -> ReviewSummary:
    """Everything review mode's statistics tabs show; refreshes the suspected errors.

    Counts are aggregated in the database (grouped by label set), agreement reads only the
    samples several annotators labeled. ``progress(done, total, stage)`` is called before
    each of :data:`STAGES` and once at the end."""
    report = progress or (lambda done, total, stage: None)
    info = store.info
    classes = info.label_names
    report(0, len(STAGES), STAGES[0])
    label_sets = label_set_counts(store)
    report(1, len(STAGES), STAGES[1])
    pairs = given_vs_predicted(store)
    given = [g for g, _ in pairs]
    predicted = [p for _, p in pairs]
    counts = list(pairs.values())
    runs = store.models.runs()
    latest = store.models.latest_ok()
    report(2, len(STAGES), STAGES[2])
    shared = shared_labels(store)
    report(3, len(STAGES), STAGES[3])
    suspects = refresh_suspects(store)
    report(len(STAGES), len(STAGES), "done")
    return ReviewSummary(
        labels=classes,
        labeled=sum(label_sets.values()),
        evaluated=sum(counts),
        model_version=latest.model_version if latest else None,
        agreement=agreement_report(shared.frame, shared.annotators),
        confusion=confusion_matrix(given, predicted, classes, counts),
        per_class=per_class_metrics(given, predicted, classes, counts),
        balance=class_balance_from_counts(label_sets, classes),
        curve=learning_curve(runs),
        history=run_history(runs),
        suspects=suspects,
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
