"""One retrain: snapshot labels, fit, cross-validate, rank the pool, record everything.

:func:`train_once` is a plain function (progress + cancel) that a worker process runs. It
writes the new model version, the ranked queue, the predictions (out-of-fold for labeled
samples, full for queued ones, top class and confidence for every unlabeled sample) and the
run record in one transaction (``store.models.record_run``). When it fails (fewer than two
classes, NaN in the features, an estimator error) it records a failed run and leaves the
previous model, queue and predictions in place. Without any usable model yet it writes a cold-start queue instead.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from labeler.errors import Cancelled, LabelerError, LabelError
from labeler.hashing import file_sha256
from labeler.learning.artifact import MODELS_DIR
from labeler.learning.blocks import RowSubset
from labeler.learning.catalog import ModelError, make_estimator, resolve_model
from labeler.learning.coldstart import diverse_seeds
from labeler.learning.compute import parse_compute
from labeler.learning.features import Features, load_features
from labeler.learning.fitting import (
    Targets,
    TrainError,
    check_finite,
    check_trainable,
    confidence,
    fit_committee,
    make_targets,
    metrics_from,
    predicted_labels,
    proba_in_order,
)
from labeler.learning.pool_predict import PoolCollector
from labeler.learning.selection import Previous, select_model
from labeler.learning.settings import TrainSettings
from labeler.learning.strategies import check_strategy, rank_pool
from labeler.progress import CancelToken, ProgressFn, no_progress
from labeler.store.database import utcnow
from labeler.store.faults import store_problem
from labeler.store.label_cut import LabelCut, take_cut
from labeler.store.location import ProjectLocation
from labeler.store.models import Prediction, RunRecord
from labeler.store.pool_predictions import PoolPredictions
from labeler.store.project_store import Store


@dataclass
class LabelSnapshot:
    """Immutable view of the labels a run trains on; ``cut`` says exactly which (recorded in
    the run's params as ``training_labels``, so an export can reproduce them)."""

    sample_ids: np.ndarray
    labels: list[tuple[str, ...]]
    cut: LabelCut | None = None

    @classmethod
    def take(cls, store: Store) -> LabelSnapshot:
        cut, frame = take_cut(store)
        return cls(
            frame["sample_id"].to_numpy(dtype=np.int64),
            [tuple(x) for x in frame["labels"]],
            cut,
        )


# -- saving ----------------------------------------------------------------------------------


def save_model(estimator, path: Path) -> Path:
    """Save with skops (atomically: written under a temporary name, then renamed)."""
    import skops.io as sio

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    sio.dump(estimator, tmp)
    os.replace(tmp, path)
    return path


def save_pipeline(store: Store, pipeline, path: Path) -> str:
    """Save the model pipeline (raw-input step + estimator, :mod:`labeler.learning.pipeline`)
    and return its SHA-256; a PostgreSQL project keeps the bytes in the database too."""
    save_model(pipeline, path)
    sha = file_sha256(path)
    if store.models.versions.keeps_artifacts:
        store.models.versions.put_artifact(sha, path.read_bytes())
    return sha


def pipeline_info(store: Store, targets: Targets, version: int) -> dict[str, Any]:
    """What :func:`labeler.learning.pipeline.build_pipeline` records beside the steps."""
    info = store.info
    return {
        "multi_label": targets.multi_label,
        "project": info.name,
        "model_version": version,
        "modality": info.modality,
    }


# -- the job -----------------------------------------------------------------------------------


class _Phases:
    """Maps phase progress onto one 0..100 scale and times each phase."""

    def __init__(self, progress: ProgressFn, cancel: CancelToken | None) -> None:
        self.progress = progress
        self.cancel = cancel
        self.durations: dict[str, float] = {}
        self._t = time.perf_counter()

    def done(self, name: str, percent: int) -> None:
        now = time.perf_counter()
        self.durations[name] = round(now - self._t, 4)
        self._t = now
        self.progress(percent, 100)
        if self.cancel is not None:
            self.cancel.check()

    def sub(self, start: int, end: int) -> ProgressFn:
        def report(done: int, total: int | None) -> None:
            if total:
                self.progress(start + int((end - start) * min(done, total) / total), 100)

        return report


def default_trainer() -> str:
    """``user@host``: who trains when no annotator name is given."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def train_once(
    location: ProjectLocation | str | Path,
    settings: TrainSettings | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    trainer: str | None = None,
) -> RunRecord:
    """Retrain on the current labels and record the run (see the module docstring).

    ``trainer`` names who trained it (recorded with the model version; default
    ``user@host``).

    Returns the run record: status "ok" with a new model version, or "failed" with an error.
    Raises :class:`~labeler.errors.Cancelled` (nothing written) when cancelled.
    """
    store = Store.open(location)
    try:
        settings = settings or TrainSettings.from_project(store)
        return _train(store, settings, progress, cancel, trainer or default_trainer())
    finally:
        store.close()


def _train(
    store: Store,
    settings: TrainSettings,
    progress: ProgressFn | None,
    cancel: CancelToken | None,
    trainer: str,
) -> RunRecord:
    started = utcnow()
    t_start = time.perf_counter()
    phases = _Phases(progress or no_progress, cancel)
    try:
        snapshot = LabelSnapshot.take(store)
    except LabelError as exc:  # PostgreSQL: label events kept being written (a long import)
        return store.models.record_run(
            status="failed",
            started_at=started,
            finished_at=utcnow(),
            label_count=0,
            strategy=settings.strategy,
            error=_one_line(exc),
        )
    params: dict[str, Any] = {
        "settings": asdict(settings),
        "strategy": settings.strategy,
        "queue_size": settings.queue_size,
        "cv_folds": settings.cv_folds,
        "seed": settings.seed,
    }
    if snapshot.cut is not None:
        params["training_labels"] = snapshot.cut.to_json()
    try:
        check_strategy(settings.strategy)
        compute = parse_compute(settings.compute)
        if compute.uses_dask:
            from labeler.learning.dask_training import train_on_dask

            run = DaskRun(store, settings, snapshot, params, phases, started, t_start, trainer)
            return train_on_dask(run, compute)
        feats = load_features(store, settings.features, phases.sub(0, 40), cancel)
        phases.done("features", 40)
        params.update(
            feature_kind=feats.kind,
            feature_key=feats.key,
            n_features=feats.n_features,
            n_samples=len(feats.ids),
            features=asdict(settings.features),
        )
        model = params["model"] = choose_model(settings, feats.kind)
        info = store.info
        targets = make_targets(snapshot.labels, info.label_names, info.multi_label)
        try:
            check_trainable(targets)
        except TrainError:
            _cold_start_if_no_model(store, feats, snapshot, settings, cancel)
            raise
        return _fit_and_record(
            store,
            settings,
            feats,
            snapshot,
            targets,
            model,
            params,
            phases,
            started,
            t_start,
            trainer,
        )
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a recorded failed run
        message = _one_line(exc)
        return store.models.record_run(
            status="failed",
            started_at=started,
            finished_at=utcnow(),
            label_count=len(snapshot.sample_ids),
            strategy=settings.strategy,
            params=params,
            durations={**phases.durations, "total": round(time.perf_counter() - t_start, 4)},
            error=message,
        )


def choose_model(settings: TrainSettings, feature_kind: str) -> str:
    """The model family a retrain fits (``auto`` resolved for the features)."""
    model = resolve_model(settings.model, feature_kind)
    if (
        model == "naive-bayes"
        and feature_kind == "text"
        and "embedding" in settings.features.text_features
    ):
        raise ModelError("model 'naive-bayes' needs text features 'tfidf' (no embeddings)")
    return model


@dataclass
class DaskRun:
    """What a retrain has when it hands the work to a Dask cluster."""

    store: Store
    settings: TrainSettings
    snapshot: LabelSnapshot
    params: dict[str, Any]
    phases: _Phases
    started: Any
    t_start: float
    trainer: str


def _one_line(exc: BaseException) -> str:
    problem = store_problem(exc)  # the database server or disk failed: say so, no driver text
    if problem is not None:
        return problem
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, LabelerError):
        return text[:500]
    return f"{type(exc).__name__}: {text}"[:500]


def _cold_start_if_no_model(
    store: Store,
    feats: Features,
    snapshot: LabelSnapshot,
    settings: TrainSettings,
    cancel: CancelToken | None,
) -> None:
    """Without any trained model yet, queue diverse seeds so labeling can start."""
    if store.models.latest_ok() is not None:
        return
    labeled = np.zeros(len(feats.ids), dtype=bool)
    if len(snapshot.sample_ids):
        labeled[feats.rows(snapshot.sample_ids)] = True
    pool_rows = np.nonzero(~labeled)[0]
    if len(pool_rows) == 0:
        return
    X_pool = RowSubset(feats.X, pool_rows)  # rows read lazily: the pool may be 1M rows
    X_lab = feats.X[np.nonzero(labeled)[0]] if labeled.any() else None
    picks, scores = diverse_seeds(
        X_pool, settings.queue_size, X_labeled=X_lab, seed=settings.seed, cancel=cancel
    )
    items = [(int(feats.ids[pool_rows[p]]), float(s)) for p, s in zip(picks, scores, strict=True)]
    store.models.replace_queue(None, "cold-start", items)


@dataclass
class Fitted:
    """A fitted estimator with what its retrain learned about it."""

    estimator: Any
    members: list | None
    metrics: dict[str, Any]
    oof: np.ndarray | None


def fit_estimator(
    settings: TrainSettings,
    feature_kind: str,
    X_lab,
    snapshot: LabelSnapshot,
    targets: Targets,
    model: str,
    params: dict[str, Any],
    phases: _Phases,
    previous: Previous | None = None,
) -> Fitted:
    """Choose hyperparameters by cross-validation, fit on every label, and fit the committee
    when the strategy needs one (``params`` gains what was chosen). ``previous``: the last
    retrain's selection, whose winner may be re-validated instead of searching the grid."""
    check_finite(X_lab, snapshot.sample_ids)
    # Text embeddings alone are a dense matrix: the defaults for dense vectors suit them
    # (the text defaults are for the wide sparse TF-IDF).
    dense_text = feature_kind == "text" and not sp.issparse(X_lab)
    estimator = make_estimator(
        model,
        "vectors" if dense_text else feature_kind,
        multi_label=targets.multi_label,
        seed=settings.seed,
    )
    params["estimator"] = type(estimator).__name__
    params["classes"] = targets.classes

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        selection = select_model(
            estimator,
            model,
            X_lab,
            targets,
            settings.cv_folds,
            settings.seed,
            phases.cancel,
            previous=previous,
            feature_key=params.get("feature_key"),
        )
        estimator = selection.estimator
        oof, folds = selection.oof, selection.folds
        params["chosen"] = selection.chosen
        params["selection"] = selection.record()
        metrics: dict[str, Any] = {"cv_folds": folds, "n_labels": len(snapshot.sample_ids)}
        if oof is not None:
            if not np.isfinite(oof).all():
                raise TrainError("cross-validated probabilities contain NaN")
            metrics.update(metrics_from(oof, targets))
            metrics["calibration"] = selection.calibration
            metrics["brier"] = selection.calibration.get("brier")
            metrics["ece"] = selection.calibration.get("ece")
        else:
            metrics.update(accuracy=None, macro_f1=None, per_class={})
            metrics["note"] = "too few labels per class for cross-validation"
        phases.done("cross_validation", 60)

        estimator = selection.fit(X_lab, targets.y)
        members = None
        if settings.strategy == "committee":
            members = fit_committee(
                estimator, X_lab, targets, settings.committee_size, settings.seed
            )
    params["warnings"] = sorted({str(w.message).strip().splitlines()[0][:200] for w in caught})
    phases.done("fit", 70)
    return Fitted(estimator, members, metrics, oof)


def last_selection(store: Store) -> Previous | None:
    """The selection of the newest successful run that recorded one (runs by older versions
    of Labeler, which recorded none, may come in between)."""
    for run in reversed(store.models.runs(status="ok")):
        previous = Previous.from_params(run.params)
        if previous is not None:
            return previous
    return None


def _fit_and_record(
    store: Store,
    settings: TrainSettings,
    feats: Features,
    snapshot: LabelSnapshot,
    targets: Targets,
    model: str,
    params: dict[str, Any],
    phases: _Phases,
    started,
    t_start: float,
    trainer: str,
) -> RunRecord:
    lab_rows = feats.rows(snapshot.sample_ids)
    X_lab = feats.X[lab_rows]
    if not sp.issparse(X_lab):
        X_lab = np.ascontiguousarray(X_lab)
    fitted = fit_estimator(
        settings, feats.kind, X_lab, snapshot, targets, model, params, phases, last_selection(store)
    )
    estimator, members, metrics, oof = fitted.estimator, fitted.members, fitted.metrics, fitted.oof

    labeled_mask = np.zeros(len(feats.ids), dtype=bool)
    labeled_mask[lab_rows] = True
    collector = PoolCollector(len(feats.ids), estimator, targets)
    ranking = rank_pool(
        settings.strategy,
        estimator,
        feats.X,
        settings.queue_size,
        exclude=labeled_mask,
        X_labeled=X_lab,
        members=members,
        multi_label=targets.multi_label,
        seed=settings.seed,
        cancel=phases.cancel,
        on_proba=collector.observe,
    )
    scores = ranking.scores
    queue = [
        (int(feats.ids[r]), None if scores is None else float(scores[i]))
        for i, r in enumerate(ranking.indices)
    ]
    phases.done("score", 90)

    predictions = _predictions(estimator, feats, snapshot, targets, oof, ranking.indices)
    pool_rows = np.nonzero(~labeled_mask)[0]
    collector.fill(estimator, feats.X, pool_rows, phases.cancel)  # random, committee
    pool = collector.result(feats.ids, pool_rows)
    del collector
    phases.done("predict", 93)

    def make_pipeline(version: int):
        from labeler.learning.pipeline import build_pipeline

        return build_pipeline(
            feats,
            settings.features,
            estimator,
            targets.classes,
            **pipeline_info(store, targets, version),
        )

    return record_ok_run(
        store,
        settings,
        snapshot,
        make_pipeline,
        params=params,
        metrics=metrics,
        phases=phases,
        started=started,
        t_start=t_start,
        queue=queue,
        predictions=predictions,
        pool=pool,
        trainer=trainer,
    )


def record_ok_run(
    store: Store,
    settings: TrainSettings,
    snapshot: LabelSnapshot,
    make_pipeline,
    *,
    params: dict[str, Any],
    metrics: dict[str, Any],
    phases: _Phases,
    started,
    t_start: float,
    queue: list[tuple[int, float | None]],
    predictions: list[Prediction],
    pool: PoolPredictions | None,
    trainer: str,
) -> RunRecord:
    """Reserve a model version, save ``make_pipeline(version)`` and record the run."""
    models_dir = store.artifacts_dir / MODELS_DIR
    # the version is reserved in the store before the file is written: no other trainer
    # gets it, so no other trainer writes (or deletes) this file
    version = store.models.versions.reserve(trainer)
    path = models_dir / f"v{version}.skops"
    sha = None
    try:
        sha = save_pipeline(store, make_pipeline(version), path)
        record = store.models.record_run(
            status="ok",
            started_at=started,
            finished_at=utcnow(),
            label_count=len(snapshot.sample_ids),
            strategy=settings.strategy,
            params=params,
            metrics=metrics,
            durations={**phases.durations, "total": round(time.perf_counter() - t_start, 4)},
            artifact=f"{MODELS_DIR}/{path.name}",  # relative: the folder may move
            queue=queue,
            predictions=predictions,
            pool=pool,
            version=version,
            trainer=trainer,
            sha256=sha,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        store.models.versions.abandon(version)
        if sha is not None and store.models.versions.keeps_artifacts:
            store.models.versions.drop_artifact(sha)
        raise
    phases.progress(100, 100)
    return record


def _predictions(
    estimator,
    feats: Features,
    snapshot: LabelSnapshot,
    targets: Targets,
    oof: np.ndarray | None,
    queue_rows: np.ndarray,
) -> list[Prediction]:
    """Out-of-fold predictions for labeled samples, model predictions for the queue."""
    out: list[Prediction] = []

    def add(ids: np.ndarray, proba: np.ndarray, out_of_fold: bool) -> None:
        out.extend(prediction_rows(ids, proba, targets, out_of_fold))

    if oof is not None:
        add(snapshot.sample_ids, oof, True)
    else:
        add(
            snapshot.sample_ids,
            proba_in_order(estimator, feats.X[feats.rows(snapshot.sample_ids)], targets),
            False,
        )
    if len(queue_rows):
        rows = np.sort(queue_rows)
        add(feats.ids[rows], proba_in_order(estimator, feats.X[rows], targets), False)
    return out


def prediction_rows(
    ids: np.ndarray, proba: np.ndarray, targets: Targets, out_of_fold: bool
) -> list[Prediction]:
    """One :class:`Prediction` per sample id from its class probabilities (project order)."""
    labels = predicted_labels(proba, targets)
    conf = confidence(proba, targets.multi_label)
    return [
        Prediction(
            int(sid),
            0,  # replaced by the run's model version when recorded
            labels[i],
            float(conf[i]),
            {c: round(float(p), 6) for c, p in zip(targets.classes, proba[i], strict=True)},
            out_of_fold,
        )
        for i, sid in enumerate(ids)
    ]
