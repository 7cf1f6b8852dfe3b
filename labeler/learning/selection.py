"""Model selection inside every retrain: the regularisation (and, for imbalanced classes, the
class weighting) chosen by the cross-validation the retrain runs anyway, then a temperature
that calibrates the probabilities where it helps.

One pass over the folds fits the path: per fold the estimator walks its catalog path
(:attr:`ModelSpec.path`, strongest regularisation first) with warm starts, so each step
starts from the previous solution. With imbalanced classes a second pass fits balanced class
weights at the best value of the first. So a retrain fits at most 4 candidates per fold
(3 path values + 1), a bounded few times one plain cross-validation, most of it in warm-started
steps; ``benchmarks/engine.py`` measures it.

Between searches a retrain re-validates the previous winner only (:class:`Previous`): the
same folds, one candidate, its out-of-fold probabilities as the run's metrics. The whole grid
is searched again when there is no comparable previous search (another model, other features
or folds), when the labels grew by :data:`REGROW` since it, after :data:`FULL_EVERY` retrains,
or when the previous winner's class weighting no longer fits the labels (balanced weights on
balanced labels). An annotator's retrain usually adds a few labels to thousands, which moves
the best value of a grid a decade apart rarely; the record says which retrains searched.

The winner has the best out-of-fold macro-F1; candidates within :data:`TIE` of it are
decided by the lower out-of-fold log loss (a proper score, so better probabilities win).
Its out-of-fold probabilities become the run's cross-validated metrics. They are mildly
optimistic (the same folds chose the parameters; nested cross-validation would multiply the
cost by the number of folds).

Calibration: a single temperature ``T`` (probabilities ``p ** (1/T)``, renormalised) fitted
on the winner's out-of-fold probabilities, kept only when it lowers their log loss by at
least :data:`CALIBRATION_GAIN`. For logistic regression ``T`` folds into the model itself
(coefficients and intercepts divided by ``T``), so the saved model stays one plain
scikit-learn estimator and its ``predict_proba`` is the calibrated one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from threadpoolctl import threadpool_limits

from labeler.learning.catalog import CATALOG
from labeler.learning.compact_fit import fit_compact
from labeler.learning.fitting import Targets, make_folds, metrics_from
from labeler.progress import CancelToken

TIE = 0.005  # macro-F1 differences below this are decided by log loss
IMBALANCE = 2.0  # largest / smallest labeled class count from which balanced weights are tried
CALIBRATION_GAIN = 0.01  # relative log-loss improvement a temperature must bring to be kept
ECE_BINS = 10
EPS = 1e-12
FULL_EVERY = 5  # retrains from one full grid search to the next
REGROW = 0.25  # labels grown by this share since the last full search: search again


@dataclass(frozen=True)
class Previous:
    """The previous retrain's selection, as its run record holds it (``params``)."""

    chosen: dict[str, Any]
    model: str | None
    feature_key: str | None
    folds: int | None
    searched_labels: int  # labels the last full grid search ran on
    reuses: int  # retrains since that search

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> Previous | None:
        """From a run record's ``params``; None for runs without a selection record."""
        record = (params or {}).get("selection")
        if not isinstance(record, dict) or not isinstance(record.get("chosen"), dict):
            return None
        search = record.get("search") or {}
        return cls(
            chosen=dict(record["chosen"]),
            model=params.get("model"),
            feature_key=params.get("feature_key"),
            folds=params.get("cv_folds"),
            searched_labels=int(search.get("labels", 0)),
            reuses=int(search.get("reuses", 0)),
        )

    def fits(
        self, model: str, feature_key: str | None, folds: int, n_labels: int, path_name: str | None
    ) -> bool:
        """Whether a retrain like this may re-validate the previous winner instead of searching."""
        key = path_name.removeprefix("estimator__") if path_name else None
        return (
            self.model == model
            and self.feature_key is not None
            and self.feature_key == feature_key
            and self.folds == folds
            and self.searched_labels > 0
            and n_labels <= self.searched_labels * (1 + REGROW)
            and self.reuses + 1 < FULL_EVERY
            and (key is None or key in self.chosen)
        )


@dataclass
class Selection:
    """What :func:`select_model` found: the estimator to fit (unfitted, chosen parameters),
    its out-of-fold probabilities (calibrated), and the record for the run."""

    estimator: Any
    chosen: dict[str, Any]
    oof: np.ndarray | None
    folds: int
    temperature: float = 1.0
    candidates: list[dict[str, Any]] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)
    start: tuple[np.ndarray, np.ndarray] | None = None  # a fold's coefficients, chosen values
    search: dict[str, Any] = field(default_factory=dict)  # full grid or previous winner

    def record(self) -> dict[str, Any]:
        """The ``params["selection"]`` entry of the run record."""
        return {
            "chosen": self.chosen,
            "criterion": f"out-of-fold macro-F1; within {TIE} by log loss",
            "candidates": self.candidates,
            "search": self.search,
        }

    def fit(self, X: Any, y: Any) -> Any:
        """Fit the chosen estimator on all labels, starting a logistic regression from the
        coefficients a fold found with the same parameters (the solver then needs a few
        passes instead of a cold start: at C=10 on TF-IDF + embeddings about 5x fewer),
        and fold the temperature in."""
        est = self.estimator
        with threadpool_limits(1, user_api="blas"):  # see select_model
            if self.start is not None and isinstance(est, LogisticRegression):
                est.set_params(warm_start=True)
                est.coef_, est.intercept_ = (a.copy() for a in self.start)
                fit_compact(est, X, y)
                est.set_params(warm_start=False)
            else:
                fit_compact(est, X, y)
        return self.finish(est)

    def finish(self, fitted: Any) -> Any:
        """Fold the temperature into a fitted estimator (see the module docstring)."""
        if self.temperature != 1.0:
            fitted.coef_ = fitted.coef_ / self.temperature
            fitted.intercept_ = fitted.intercept_ / self.temperature
        return fitted


def select_model(
    estimator: Any,
    model: str,
    X: Any,
    targets: Targets,
    folds: int,
    seed: int,
    cancel: CancelToken | None = None,
    previous: Previous | None = None,
    feature_key: str | None = None,
) -> Selection:
    """Cross-validate the catalog grid of ``model`` around ``estimator`` (see module doc), or
    only ``previous``'s winner when it may be reused (:meth:`Previous.fits`; ``feature_key``
    names the features the retrain fits on).

    BLAS runs single-threaded meanwhile: the fits are many small products (a few thousand
    labeled rows), where extra BLAS threads only spin (on a loaded 2-core machine L-BFGS
    took 4x the CPU time with them)."""
    with threadpool_limits(1, user_api="blas"):
        return _select(estimator, model, X, targets, folds, seed, cancel, previous, feature_key)


def _select(
    estimator: Any,
    model: str,
    X: Any,
    targets: Targets,
    folds: int,
    seed: int,
    cancel: CancelToken | None,
    previous: Previous | None,
    feature_key: str | None,
) -> Selection:
    cv = make_folds(targets, folds, seed)
    path_name, path_values, weightings = _grid(estimator, model, targets)
    if cv is None:
        return Selection(estimator, _chosen(estimator, path_name, None), None, 0)
    n_labels = int(targets.y.shape[0])
    reuse = previous is not None and previous.fits(model, feature_key, folds, n_labels, path_name)
    if reuse:
        assert previous is not None
        weighting = previous.chosen.get("class_weight")
        if weighting not in weightings:  # balanced weights, labels no longer imbalanced
            reuse = False
        else:
            weightings = (weighting,)
            key = path_name.removeprefix("estimator__") if path_name else None
            path_values = (previous.chosen[key],) if key else path_values
    search = (
        {
            "mode": "previous winner",
            "labels": previous.searched_labels,
            "reuses": previous.reuses + 1,
        }
        if reuse and previous is not None
        else {"mode": "grid", "labels": n_labels, "reuses": 0}
    )
    k = cv.get_n_splits()
    n, m = targets.y.shape[0], len(targets.classes)
    split_y = None if targets.multi_label else targets.y
    oofs: dict[tuple[str | None, Any], np.ndarray] = {}
    starts: dict[tuple[str | None, Any], tuple[np.ndarray, np.ndarray]] = {}

    def run(weighting: str | None, values: tuple[Any, ...]) -> None:
        for v in values:
            oofs[(weighting, v)] = np.zeros((n, m))
        for train, test in cv.split(np.zeros(n), split_y):
            est = _with(clone(estimator), class_weight=weighting, warm_start=True)
            # the previous fold's solution at the same value: most of its training rows are
            # this fold's too, so the solver starts near the optimum (same optimum, fewer steps)
            carry = starts.get((weighting, values[0]))
            if (
                carry is not None
                and isinstance(est, LogisticRegression)
                and len(np.unique(targets.y[train])) == m
            ):
                est.coef_, est.intercept_ = (a.copy() for a in carry)
            for value in values:
                if cancel is not None:
                    cancel.check()
                if path_name is not None:
                    est = _with(est, **{path_name: value})
                fit_compact(est, X[train], targets.y[train])
                oofs[(weighting, value)][test] = proba_columns(est, X[test], targets)
                if isinstance(est, LogisticRegression) and len(est.classes_) == m:
                    starts[(weighting, value)] = (est.coef_.copy(), est.intercept_.copy())

    run(weightings[0], path_values)
    candidates = _score(oofs, targets, path_name)
    if weightings == (None, "balanced"):  # balanced weights at the best unweighted value only
        best = _pick(candidates).get(path_name) if path_name else None
        run("balanced", (best,))
        candidates = _score(oofs, targets, path_name)
    winner = _pick(candidates)
    value = winner.get(path_name) if path_name else None
    weighting = winner["class_weight"]
    chosen_est = _with(clone(estimator), class_weight=weighting)
    if path_name is not None:
        chosen_est = _with(chosen_est, **{path_name: value})
    oof = oofs[(weighting, value)]
    selection = Selection(
        chosen_est,
        _chosen(chosen_est, path_name, weighting),
        oof,
        k,
        candidates=candidates,
        start=starts.get((weighting, value)),
        search=search,
    )
    if isinstance(chosen_est, LogisticRegression) and not targets.multi_label:
        _calibrate(selection, targets)
    else:
        selection.calibration = {"method": "none", **calibration_scores(oof, targets)}
    return selection


def _score(
    oofs: dict[tuple[str | None, Any], np.ndarray], targets: Targets, path_name: str | None
) -> list[dict[str, Any]]:
    return [
        {
            **({path_name: value} if path_name else {}),
            "class_weight": weighting,
            "macro_f1": round(metrics_from(proba, targets)["macro_f1"], 6),
            "log_loss": round(log_loss(proba, targets), 6),
        }
        for (weighting, value), proba in oofs.items()
    ]


def _pick(candidates: list[dict[str, Any]]) -> dict[str, Any]:
    best = max(c["macro_f1"] for c in candidates)
    return min((c for c in candidates if c["macro_f1"] >= best - TIE), key=lambda c: c["log_loss"])


# -- the grid ------------------------------------------------------------------------------------


def _grid(
    estimator: Any, model: str, targets: Targets
) -> tuple[str | None, tuple[Any, ...], tuple[str | None, ...]]:
    spec = CATALOG[model]
    path_name, values = spec.path if spec.path else (None, (None,))
    weightings: tuple[str | None, ...] = (None,)
    if spec.class_weight and not targets.multi_label and is_imbalanced(targets):
        weightings = (None, "balanced")
    if isinstance(estimator, OneVsRestClassifier) and path_name is not None:
        path_name = f"estimator__{path_name}"
    return path_name, tuple(values), weightings


def is_imbalanced(targets: Targets) -> bool:
    counts = [int((targets.y == c).sum()) for c in targets.classes]
    return min(counts) > 0 and max(counts) / min(counts) >= IMBALANCE


def _with(est: Any, **params: Any) -> Any:
    """``est`` with those of ``params`` it takes (one-vs-rest: its inner estimator's)."""
    names = est.get_params(deep=True)
    usable = {}
    for key, value in params.items():
        if key in names:
            usable[key] = value
        elif f"estimator__{key}" in names and key != "warm_start":
            usable[f"estimator__{key}"] = value
    return est.set_params(**usable) if usable else est


def _chosen(est: Any, path_name: str | None, weighting: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if path_name is not None:
        out[path_name.removeprefix("estimator__")] = est.get_params()[path_name]
    out["class_weight"] = weighting
    return out


# -- probabilities and their scores ----------------------------------------------------------


def proba_columns(est: Any, X: Any, targets: Targets) -> np.ndarray:
    """``predict_proba`` in ``targets.classes`` order; a class the fold never saw gets 0."""
    proba = np.asarray(est.predict_proba(X), dtype=np.float64)
    if targets.multi_label:
        return proba
    out = np.zeros((proba.shape[0], len(targets.classes)))
    for j, c in enumerate(est.classes_):
        out[:, targets.classes.index(c)] = proba[:, j]
    return out


def _truth(targets: Targets) -> np.ndarray:
    if targets.multi_label:
        return np.asarray(targets.y, dtype=np.float64)
    return np.asarray(
        [[1.0 if y == c else 0.0 for c in targets.classes] for y in targets.y], dtype=np.float64
    )


def log_loss(proba: np.ndarray, targets: Targets) -> float:
    truth = _truth(targets)
    p = np.clip(proba, EPS, 1 - EPS)
    if targets.multi_label:
        return float(-np.mean(truth * np.log(p) + (1 - truth) * np.log(1 - p)))
    return float(-np.mean(np.log((p * truth).sum(axis=1))))


def calibration_scores(proba: np.ndarray | None, targets: Targets) -> dict[str, float | None]:
    """Brier score (multi-class: summed over classes, 0 best, 2 worst; multi-label: mean over
    labels) and expected calibration error (top-label confidence, equal-width bins)."""
    if proba is None:
        return {"brier": None, "ece": None}
    truth = _truth(targets)
    if targets.multi_label:
        brier = float(np.mean((proba - truth) ** 2))
        conf = np.maximum(proba, 1 - proba).ravel()
        correct = ((proba >= 0.5) == (truth >= 0.5)).ravel()
    else:
        brier = float(np.mean(((proba - truth) ** 2).sum(axis=1)))
        conf = proba.max(axis=1)
        correct = truth[np.arange(len(truth)), proba.argmax(axis=1)] == 1.0
    bins = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    ece = 0.0
    for b in range(ECE_BINS):
        inside = bins == b
        if inside.any():
            ece += inside.mean() * abs(conf[inside].mean() - correct[inside].mean())
    return {"brier": round(brier, 6), "ece": round(float(ece), 6)}


def scale(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling on probabilities: ``softmax(log p / T)``."""
    logp = np.log(np.clip(proba, EPS, 1.0)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=1, keepdims=True)


def _calibrate(selection: Selection, targets: Targets) -> None:
    oof = selection.oof
    assert oof is not None
    raw = calibration_scores(oof, targets)
    before = log_loss(oof, targets)
    fit = minimize_scalar(
        lambda t: log_loss(scale(oof, float(np.exp(t))), targets),
        bounds=(np.log(0.1), np.log(10.0)),
        method="bounded",
        options={"xatol": 1e-3},
    )
    temperature = float(np.exp(fit.x))
    after = float(fit.fun)
    keep = after <= before * (1 - CALIBRATION_GAIN)
    if keep:
        selection.temperature = round(temperature, 4)
        selection.oof = scale(oof, selection.temperature)
    selection.calibration = {
        "method": "temperature" if keep else "none",
        "temperature": selection.temperature,
        "log_loss_raw": round(before, 6),
        "log_loss": round(after if keep else before, 6),
        "brier_raw": raw["brier"],
        "ece_raw": raw["ece"],
        **calibration_scores(selection.oof, targets),
    }
