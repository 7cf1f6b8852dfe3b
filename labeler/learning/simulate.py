"""``labeler simulate``: replay active learning on data whose labels are already known.

For each seed the table is split into a pool (75%) and a held-out test set (25%,
stratified). Every strategy starts from the same random initial labels, then repeatedly
fits, scores the test set, and asks its strategy for the next batch (batches grow by about
10% of the labels so far). Scores are macro-F1 by default (the mean of the per-class F1, so a
model that ignores a minority class scores low) or accuracy (``metric``). "Full score" is the
test score with the whole pool labeled, averaged over seeds.

The report gives, per strategy, the learning curve (mean and standard deviation over seeds)
and, for 95% and 98% of the full score:

* ``labels_to_95``/``labels_to_98``: the label count from which the mean curve stays at or
  above the target up to the end of the budget (``None`` if it ends below it). A curve that
  touches the target early and falls back does not count as having reached it.
* ``first_reach_95``/``first_reach_98``: the first label count at which the mean curve is at
  or above the target, whatever follows.

The per-seed lists apply the same two rules to each seed's curve and its own full score.

The model is the one a project's retrain fits: the same feature choice (text: the project
default, :data:`~labeler.learning.featureset.DEFAULT_TEXT_FEATURES`), the same catalog
estimator, and the retrain's model selection (:func:`~labeler.learning.selection.select_model`:
regularisation, class weighting for imbalanced labels, temperature, chosen by
cross-validation on the labels so far). A retrain selects every time; replaying that at every
step would multiply the cost by the grid's size, so the replay selects again only when the
labels have grown by :data:`RESELECT_GROWTH` since the last selection (and at the first step
with two classes) and in between refits the chosen parameters on the grown set. The full
score's model is selected on the whole pool. The report records every selection.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from labeler.errors import LabelerError
from labeler.learning.catalog import CATALOG, make_estimator, resolve_model
from labeler.learning.coldstart import diverse_seeds
from labeler.learning.compact_fit import fit_compact
from labeler.learning.features import FeatureSettings, tabular_matrix, text_matrix
from labeler.learning.fitting import Targets, fit_committee
from labeler.learning.selection import Selection, select_model
from labeler.learning.strategies import check_strategy, rank_pool
from labeler.progress import CancelToken

TARGETS = (0.95, 0.98)
METRICS = ("accuracy", "macro-f1")
RESELECT_GROWTH = 2.0  # select the model again once the labels grew by this factor
CV_FOLDS = 5  # as a retrain (TrainSettings.cv_folds)
Matrix = np.ndarray | sp.csr_matrix


class SimulateError(LabelerError):
    """The table cannot be simulated on (missing label column, one class, bad strategy...)."""


@dataclass
class Table:
    X: Matrix
    y: np.ndarray
    kind: str  # tabular | text
    source: str
    dropped: int  # rows without a label
    ignored: list[str] = field(default_factory=list)  # identifier columns left out


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV/TSV, Parquet or JSONL file as a DataFrame (one-line errors naming the file)."""
    path = Path(path)
    if not path.is_file():
        raise SimulateError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path)
        if suffix in (".tsv", ".tab"):
            return pd.read_csv(path, sep="\t")
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return pd.read_json(path, lines=suffix != ".json")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SimulateError(f"{path}: cannot read ({first})") from None
    raise SimulateError(f"{path}: unsupported file type {suffix!r}; use CSV, Parquet or JSONL")


def prepare(
    frame: pd.DataFrame,
    label_column: str,
    *,
    source: str = "table",
    text_column: str | None = None,
    settings: FeatureSettings | None = None,
) -> Table:
    """Features and labels from a table: a text column, or every other column as features."""
    settings = settings or FeatureSettings()
    if label_column not in frame.columns:
        cols = ", ".join(map(str, frame.columns[:20]))
        raise SimulateError(f"{source}: no column {label_column!r} (columns: {cols})")
    labels = frame[label_column]
    keep = labels.notna() & (labels.astype(str).str.strip() != "")
    dropped = int((~keep).sum())
    frame = frame[keep].reset_index(drop=True)
    y = frame[label_column].astype(str).to_numpy(dtype=object)
    classes = np.unique(y)
    if len(classes) < 2:
        only = f" ({classes[0]!r})" if len(classes) else ""
        raise SimulateError(
            f"{source}: column {label_column!r} has fewer than two classes{only}; "
            "simulate needs at least two"
        )
    features = frame.drop(columns=[label_column])
    ignored = [str(c) for c in features.columns if c != text_column and _is_identifier(features[c])]
    features = features.drop(columns=ignored)
    if text_column is None:
        text_like = [
            c
            for c in features.columns
            if not pd.api.types.is_numeric_dtype(features[c])
            and features[c].astype(str).str.contains(" ").mean() > 0.5
        ]
        if len(features.columns) == 1 and text_like:
            text_column = str(text_like[0])
    if text_column is not None:
        if text_column not in features.columns:
            raise SimulateError(f"{source}: no text column {text_column!r}")
        X: Matrix = text_matrix(features[text_column].fillna("").astype(str), settings)
        return Table(X, y, "text", source, dropped, ignored)
    if features.shape[1] == 0:
        raise SimulateError(f"{source}: no feature columns besides {label_column!r}")
    X, _ = tabular_matrix(features, settings)
    return Table(X, y, "tabular", source, dropped, ignored)


def _is_identifier(values: pd.Series) -> bool:
    """A column named "id", or words unique per row (a key, not text): no use as a feature."""
    if str(values.name).strip().lower() == "id":
        return True
    if pd.api.types.is_numeric_dtype(values) or len(values) < 2:
        return False
    as_text = values.astype(str)
    return bool(values.is_unique) and not (as_text.str.contains(" ").mean() > 0.5)


def schedule(start: int, budget: int, min_step: int, growth: float = 0.1) -> list[int]:
    """Label counts at which the learners are evaluated: start, then steps of ~10%."""
    counts = [start]
    while counts[-1] < budget:
        counts.append(min(budget, counts[-1] + max(min_step, int(math.ceil(counts[-1] * growth)))))
    return counts


def check_metric(name: str) -> str:
    if name not in METRICS:
        raise SimulateError(f"unknown metric {name!r}; choose one of {', '.join(METRICS)}")
    return name


def score_predictions(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Accuracy, or macro-F1 over the classes in the test set or the predictions (a test class
    the model never predicts counts with F1 0; a class with a row or two that the stratified
    split left out of the test set does not count)."""
    if metric == "accuracy":
        return float((y_pred == y_true).mean())
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0.0))


class StepModel:
    """The retrain's model for one replay: fitted on a growing label set, with the retrain's
    model selection run again whenever the labels have grown by ``growth`` since the last one
    (see the module docstring). ``selections`` lists ``[labels, chosen parameters]``."""

    def __init__(
        self,
        model: str,
        kind: str,
        seed: int,
        *,
        growth: float = RESELECT_GROWTH,
        folds: int = CV_FOLDS,
        cancel: CancelToken | None = None,
    ) -> None:
        self.model, self.kind, self.seed = model, kind, seed
        self.growth, self.folds, self.cancel = growth, folds, cancel
        self.selection: Selection | None = None
        self.selected_at = 0
        self.selections: list[list[Any]] = []

    def fit(self, X: Matrix, y: np.ndarray) -> Any:
        """A fitted estimator for labels ``y`` of rows ``X`` (two or more classes)."""
        classes = sorted(set(y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)  # a class with fewer rows than folds
            if self.selection is None or len(y) >= self.growth * self.selected_at:
                # as fit_estimator: text embeddings alone are dense vectors (lbfgs, not saga)
                kind = "vectors" if self.kind == "text" and not sp.issparse(X) else self.kind
                base = make_estimator(self.model, kind, seed=self.seed)
                self.selection = select_model(
                    base,
                    self.model,
                    X,
                    Targets(y, classes, False),
                    self.folds,
                    self.seed,
                    self.cancel,
                )
                self.selected_at = len(y)
                self.selections.append([len(y), self.selection.chosen])
                return self.selection.fit(X, y)
            estimator = fit_compact(clone(self.selection.estimator), X, y)
            return self.selection.finish(estimator)


def _next_batch(
    strategy: str,
    estimator,
    X_pool: Matrix,
    y_pool: np.ndarray,
    labeled: np.ndarray,
    k: int,
    seed: int,
    committee_size: int = 3,
) -> np.ndarray:
    exclude = np.zeros(X_pool.shape[0], dtype=bool)
    exclude[labeled] = True
    if estimator is None:  # fewer than two classes so far: cold start on what is left
        rest = np.nonzero(~exclude)[0]
        picks, _ = diverse_seeds(X_pool[rest], k, X_labeled=X_pool[labeled], seed=seed)
        return rest[picks]
    members = None
    if strategy == "committee":
        classes = sorted(set(y_pool[labeled]))
        members = fit_committee(
            estimator,
            X_pool[labeled],
            Targets(y_pool[labeled], classes, False),
            committee_size,
            seed,
        )
    ranking = rank_pool(
        strategy,
        estimator,
        X_pool,
        k,
        exclude=exclude,
        X_labeled=X_pool[labeled],
        members=members,
        seed=seed,
    )
    return ranking.indices


def simulate(
    table: Table,
    strategies: Sequence[str],
    *,
    seeds: int = 5,
    budget: int | None = None,
    model: str = "auto",
    metric: str = "macro-f1",
    initial: int | None = None,
    test_size: float = 0.25,
    log: Callable[[str], None] | None = None,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Run the replay and return the report document (see the module docstring)."""
    names = list(dict.fromkeys(["random", *strategies]))
    for name in names:
        check_strategy(name)
    check_metric(metric)
    if seeds < 1:
        raise SimulateError("--seeds must be at least 1")
    model_name = resolve_model(model, table.kind)
    classes = np.unique(table.y)
    counts_per_class = pd.Series(table.y).value_counts()
    if counts_per_class.min() < 2:
        raise SimulateError(
            f"{table.source}: class {counts_per_class.idxmin()!r} has only one row; "
            "each class needs at least two"
        )
    say = log or (lambda _msg: None)
    n = len(table.y)
    pool_size = n - int(math.ceil(n * test_size))
    budget = min(budget or min(pool_size, 2000), pool_size)
    start = initial or max(10, 2 * len(classes))
    if start >= budget:
        raise SimulateError(f"--budget {budget} must exceed the {start} initial labels")
    counts = schedule(start, budget, min_step=max(5, len(classes)))
    curves = {name: np.full((seeds, len(counts)), np.nan) for name in names}
    selections: dict[str, list[list[list[Any]]]] = {name: [] for name in names}
    full_scores: list[float] = []
    full_chosen: list[dict[str, Any]] = []
    for seed in range(seeds):
        idx = np.arange(n)
        pool_idx, test_idx = train_test_split(
            idx, test_size=test_size, stratify=table.y, random_state=seed
        )
        X_pool, y_pool = table.X[pool_idx], table.y[pool_idx]
        X_test, y_test = table.X[test_idx], table.y[test_idx]
        whole = StepModel(model_name, table.kind, seed, cancel=cancel)
        full = whole.fit(X_pool, y_pool)
        full_chosen.append(whole.selections[0][1])
        full_scores.append(score_predictions(metric, y_test, full.predict(X_test)))
        rng = np.random.default_rng(seed)
        init = rng.choice(len(y_pool), size=start, replace=False)
        for name in names:
            if cancel is not None:
                cancel.check()
            labeled = np.sort(init)
            fitted = None
            step_model = StepModel(model_name, table.kind, seed, cancel=cancel)
            for j, target in enumerate(counts):
                if len(labeled) < target:
                    batch = _next_batch(
                        name, fitted, X_pool, y_pool, labeled, target - len(labeled), seed
                    )
                    labeled = np.union1d(labeled, batch)
                fitted = None
                if len(set(y_pool[labeled])) >= 2:
                    fitted = step_model.fit(X_pool[labeled], y_pool[labeled])
                    predicted = fitted.predict(X_test)
                else:  # one class seen so far: that class is all a model could say
                    predicted = np.full(len(y_test), y_pool[labeled][0], dtype=object)
                curves[name][seed, j] = score_predictions(metric, y_test, predicted)
            selections[name].append(step_model.selections)
            stays = stays_above(curves[name][seed], counts, 0.98 * full_scores[-1])
            say(
                f"seed {seed + 1}/{seeds} {name}: full {metric} {full_scores[-1]:.3f}, "
                f"at or above 98% of it from {stays if stays is not None else 'never'} labels"
            )
    doc = _report(
        table, names, counts, curves, full_scores, model_name, metric, seeds, budget, start
    )
    doc["model_selection"] = {
        "rule": (
            "the retrain's select_model (cross-validated regularisation, class weighting, "
            f"temperature), run again when the labels grew by {RESELECT_GROWTH}x since the "
            "last selection; chosen parameters refitted in between"
        ),
        "full_pool_chosen_per_seed": full_chosen,
    }
    for name in names:
        doc["strategies"][name]["selections_per_seed"] = selections[name]
    return doc


def stays_above(curve: np.ndarray, counts: Sequence[int], target: float) -> int | None:
    """The label count from which ``curve`` stays at or above ``target`` to its end."""
    below = np.flatnonzero(~(np.asarray(curve, dtype=float) >= target))  # NaN counts as below
    if len(below) == 0:
        return int(counts[0])
    last = int(below[-1])
    return int(counts[last + 1]) if last + 1 < len(counts) else None


def first_reach(curve: np.ndarray, counts: Sequence[int], target: float) -> int | None:
    """The first label count at which ``curve`` is at or above ``target``."""
    hits = np.flatnonzero(np.asarray(curve, dtype=float) >= target)
    return int(counts[hits[0]]) if len(hits) else None


def _report(
    table: Table,
    names: list[str],
    counts: list[int],
    curves: dict[str, np.ndarray],
    full_scores: list[float],
    model_name: str,
    metric: str,
    seeds: int,
    budget: int,
    start: int,
) -> dict[str, Any]:
    full = float(np.mean(full_scores))
    strategies: dict[str, Any] = {}
    for name in names:
        c = curves[name]
        mean = c.mean(axis=0)
        entry: dict[str, Any] = {}
        for f in TARGETS:
            pct = int(round(f * 100))
            entry[f"labels_to_{pct}"] = stays_above(mean, counts, f * full)
            entry[f"first_reach_{pct}"] = first_reach(mean, counts, f * full)
        for f in TARGETS:
            pct = int(round(f * 100))
            entry[f"per_seed_labels_to_{pct}"] = [
                stays_above(c[s], counts, f * full_scores[s]) for s in range(seeds)
            ]
            entry[f"per_seed_first_reach_{pct}"] = [
                first_reach(c[s], counts, f * full_scores[s]) for s in range(seeds)
            ]
        entry["final_score"] = round(float(mean[-1]), 5)
        entry["curve"] = [
            [int(k), round(float(c[:, j].mean()), 5), round(float(c[:, j].std()), 5)]
            for j, k in enumerate(counts)
        ]
        strategies[name] = entry
    return {
        "source": table.source,
        "kind": table.kind,
        "model": model_name,
        "model_description": CATALOG[model_name].description,
        "metric": metric,
        "target_rule": (
            "labels_to_N: label count from which the mean curve stays at or above N% of "
            "full_score to the end of the budget; first_reach_N: its first crossing"
        ),
        "rows": int(len(table.y)),
        "rows_without_label": table.dropped,
        "classes": sorted(map(str, np.unique(table.y))),
        "seeds": seeds,
        "budget": budget,
        "initial_labels": start,
        "full_score": round(full, 5),
        "full_score_per_seed": [round(s, 5) for s in full_scores],
        "strategies": strategies,
    }


def write_json(doc: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
