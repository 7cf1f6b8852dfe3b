"""A retrain whose pool work runs on a Dask cluster (``compute = dask-local[:N]`` or
``dask://HOST:PORT``).

The retrain process keeps what is small: the labels, the labeled samples' features, the fit
and the cross-validation. What grows with the pool runs per partition on the workers:

1. the unsupervised feature statistics (TF-IDF document frequencies; tabular column types,
   categories, means and scales), merged into the pipeline's raw-input step
   (:mod:`labeler.learning.partition_stats`);
2. after the fit, scoring: each partition computes its features with the shipped pipeline
   (cached in the project's ``features/partitions`` folder for the next retrain with the
   same step), the strategy's scores, its best candidates and every row's top class and
   confidence (:mod:`labeler.learning.partition_scoring`).

The candidates merge into the same ranked queue, with the same scores and provenance, as the
in-process ranking of the same model; batch-diverse selection runs on the gathered
candidates. The run is recorded exactly as an in-process one (``params["compute"]`` says
where it ran). Any cluster failure fails the retrain with one line naming the scheduler;
the previous model and queue stay in use.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from labeler.hashing import file_sha256
from labeler.learning.coldstart import diverse_seeds
from labeler.learning.compute import Compute, ComputeError
from labeler.learning.dask_pool import DaskPool
from labeler.learning.dask_tasks import (
    TaskSpec,
    close_stores,
    density_peak,
    score,
    store_key,
    tabular_stats,
    tabular_types,
    text_frequency,
)
from labeler.learning.features import feature_key, feature_kind, matrix_key, project_identity
from labeler.learning.featureset import TABULAR_CHUNK, FeatureError
from labeler.learning.fitting import TrainError, check_trainable, make_targets, proba_in_order
from labeler.learning.partition_scoring import (
    Partition,
    PartitionResult,
    merge_candidates,
    plan_partitions,
)
from labeler.learning.partition_stats import idf_from_frequency, merge_moments, merge_verdicts
from labeler.learning.strategies import (
    HIGHER_FIRST,
    DensityModel,
    density_sample,
    ranked_batch,
)
from labeler.progress import ProgressFn
from labeler.store.models import RunRecord
from labeler.store.pool_predictions import PoolPredictions

CANDIDATES = 5_000  # batch-diverse: candidates gathered from the partitions (as in process)
LABELED_REFERENCE = 10_000
COLD_START_SAMPLE = 20_000


def train_on_dask(run: Any, compute: Compute) -> RunRecord:
    """The retrain of ``run`` (a :class:`labeler.learning.training.DaskRun`) on ``compute``."""
    from labeler.learning.pipeline import input_columns, pipeline_of
    from labeler.learning.training import (
        choose_model,
        fit_estimator,
        last_selection,
        pipeline_info,
        prediction_rows,
        record_ok_run,
    )

    store, settings, snapshot, params, phases = (
        run.store,
        run.settings,
        run.snapshot,
        run.params,
        run.phases,
    )
    rows = settings.partition_rows
    kind = feature_kind(store, settings.features)
    if rows <= 0 or (kind == "tabular" and rows % TABULAR_CHUNK):
        # tabular column types are decided per chunk of rows, as in process
        raise ComputeError(
            f"partition_rows must be a positive multiple of {TABULAR_CHUNK:,} in tabular projects"
        )
    ids = store.samples.id_array()
    if len(ids) == 0:
        raise FeatureError("the project has no samples")
    parts = plan_partitions(ids, rows)
    location = _shippable(store.location.to_json())
    params.update(
        compute=str(compute),
        partitions=len(parts),
        partition_rows=rows,
        feature_kind=kind,
        n_samples=len(ids),
        features=dict(settings.features.__dict__),
    )
    base = TaskSpec(location=location, kind=kind, settings=settings.features)
    with DaskPool.open(compute, time_limit_s=settings.compute_timeout_s) as pool:
        # the workers open the project store to read partitions: closed when the retrain ends
        pool.at_close(close_stores, [store_key(location)])
        params["dask_workers"] = pool.workers()
        phases.done("cluster", 5)
        identity = project_identity(store)
        stats_key = feature_key(kind, settings.features, ids, identity)
        # the key an in-process retrain gives the same features: the next retrain (here or in
        # process) may then re-validate this one's model choice instead of searching the grid
        params["feature_key"] = matrix_key(kind, settings.features, ids, identity)
        stats_dir = store.artifacts_dir / "features" / "partitions"
        step = _cached_step(stats_dir, stats_key)
        if step is None:
            step = _fit_input_step(pool, base, store, ids, parts, phases.sub(5, 40), phases.cancel)
            _cache_step(stats_dir, stats_key, step)
        phases.done("features", 40)
        params["n_features"] = int(getattr(step, "n_features_out_", 0)) or None
        model = params["model"] = choose_model(settings, kind)
        info = store.info
        targets = make_targets(snapshot.labels, info.label_names, info.multi_label)
        step_info = {"feature_kind": kind, "inputs": input_columns(step)}
        try:
            check_trainable(targets)
        except TrainError:
            _cold_start(store, step, step_info, ids, snapshot, settings, phases.cancel)
            raise
        X_lab = _transform(store, step, step_info, snapshot.sample_ids)
        fitted = fit_estimator(
            settings, kind, X_lab, snapshot, targets, model, params, phases, last_selection(store)
        )
        estimator = fitted.estimator
        pipeline = pipeline_of(
            step, kind, estimator, targets.classes, **pipeline_info(store, targets, None)
        )
        labeled = np.unique(np.asarray(snapshot.sample_ids, dtype=np.int64))
        n_allowed = int(len(ids) - np.isin(ids, labeled).sum())
        n = min(settings.queue_size, n_allowed)
        diverse = settings.strategy == "batch-diverse"
        spec = TaskSpec(
            location=location,
            kind=kind,
            pipeline=pipeline,
            members=fitted.members,
            strategy=settings.strategy,
            n=min(n_allowed, max(CANDIDATES, 4 * n)) if diverse else n,
            labeled=labeled,
            class_order=None if targets.multi_label else _class_order(estimator, targets),
            multi_label=targets.multi_label,
            with_features=False,
            cache_dir=str(store.artifacts_dir / "features" / "partitions" / _fingerprint(step)),
            fingerprint=_fingerprint(step),
        )
        if settings.strategy == "density":
            spec.density = _density(
                pool, spec, store, step, step_info, ids, parts, settings, phases
            )
        scoring = phases.sub(80, 90) if spec.density is not None else phases.sub(70, 90)
        results = pool.map(score, parts, shared=spec, progress=scoring, cancel=phases.cancel)
    _prune_partition_cache(stats_dir, keep_folder=spec.fingerprint, keep_step=stats_key)
    features_of = lambda sample_ids: _transform(store, step, step_info, sample_ids)  # noqa: E731
    queue = _queue(settings, results, ids, labeled, X_lab, n, n_allowed, features_of)
    phases.done("score", 90)
    queue_ids = np.asarray([sid for sid, _ in queue], dtype=np.int64)
    predictions = prediction_rows(
        snapshot.sample_ids,
        fitted.oof if fitted.oof is not None else proba_in_order(estimator, X_lab, targets),
        targets,
        fitted.oof is not None,
    )
    if len(queue_ids):
        order = np.sort(queue_ids)
        X_queue = _transform(store, step, step_info, order)
        predictions += prediction_rows(
            order, proba_in_order(estimator, X_queue, targets), targets, False
        )
    pool_predictions = _pool_predictions(results, targets)
    phases.done("predict", 93)

    def make_pipeline(version: int):
        pipeline.labeler_info_["model_version"] = version
        return pipeline

    return record_ok_run(
        store,
        settings,
        snapshot,
        make_pipeline,
        params=params,
        metrics=fitted.metrics,
        phases=phases,
        started=run.started,
        t_start=run.t_start,
        queue=queue,
        predictions=predictions,
        pool=pool_predictions,
        trainer=run.trainer,
    )


# -- features -----------------------------------------------------------------------------------


def _fit_input_step(
    pool: DaskPool,
    base: TaskSpec,
    store: Any,
    ids: np.ndarray,
    parts: list[Partition],
    progress: ProgressFn,
    cancel: Any,
) -> Any:
    """The pipeline's raw-input step with statistics merged over every partition."""
    from labeler.learning.pipeline import (
        IMAGE_COLUMN,
        TEXT_COLUMN,
        VECTOR_COLUMN,
        ImageInput,
        TabularInput,
        TextInput,
        VectorInput,
    )

    settings = base.settings
    kind = base.kind
    if kind == "text":
        step = TextInput(
            TEXT_COLUMN, settings.text_features, settings.hash_features, settings.text_ngrams
        )
        if "tfidf" in settings.text_features.split("+"):
            counts = pool.map(text_frequency, parts, shared=base, progress=progress, cancel=cancel)
            df = np.sum([c for c, _ in counts], axis=0)
            step.idf_ = idf_from_frequency(df, sum(n for _, n in counts))
        step.n_features_out_ = step._width()
        return step
    if kind == "tabular":
        half = _halves(progress)
        verdicts = pool.map(tabular_types, parts, shared=base, progress=half[0], cancel=cancel)
        columns = merge_verdicts(verdicts)
        if not columns:
            raise FeatureError("tabular samples carry no data columns")
        spec = TaskSpec(
            location=base.location,
            kind=kind,
            max_categories=settings.max_categories,
            columns=columns,
        )
        moments = pool.map(tabular_stats, parts, shared=spec, progress=half[1], cancel=cancel)
        step = TabularInput(settings.max_categories)
        step._set_state(merge_moments(columns, moments, settings.max_categories))
        return step
    if kind == "image":
        return ImageInput(IMAGE_COLUMN, settings.image_size)
    first = store.samples.get(int(ids[0])).vector
    return VectorInput(VECTOR_COLUMN, int(first.size))


def _shippable(location: dict[str, str]) -> dict[str, str]:
    """The project's address for the workers, without a password (a worker reads it from its
    own libpq passfile or environment; nothing secret crosses the cluster's network)."""
    from labeler.store.partition_rows import without_password

    return {**location, "url": without_password(location["url"])}


def _prune_partition_cache(folder: Path, keep_folder: str, keep_step: str) -> None:
    """Drop the partition features and fitted steps of earlier sample sets or settings (each
    is a copy of the pool's features), keeping this retrain's."""
    import shutil

    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != keep_folder:
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith("step-") and entry.name != f"step-{keep_step}.skops":
            entry.unlink(missing_ok=True)


def _cached_step(folder: Path, key: str) -> Any:
    """The raw-input step fitted to this sample set by an earlier Dask retrain, if any
    (samples are immutable, so their statistics are too)."""
    from labeler.registry.trust import load_trusted

    path = folder / f"step-{key}.skops"
    if not path.is_file():
        return None
    try:
        return load_trusted(path, file_sha256(path))
    except Exception:  # noqa: BLE001 - a damaged cache entry is computed again
        return None


def _cache_step(folder: Path, key: str, step: Any) -> None:
    from labeler.learning.training import save_model

    with contextlib.suppress(OSError):
        save_model(step, folder / f"step-{key}.skops")


def _halves(progress: ProgressFn) -> tuple[ProgressFn, ProgressFn]:
    def first(done: int, total: int | None) -> None:
        if total:
            progress(done, 2 * total)

    def second(done: int, total: int | None) -> None:
        if total:
            progress(total + done, 2 * total)

    return first, second


def _fingerprint(step: Any) -> str:
    """A hash of the fitted raw-input step: partition features computed with it are reused."""
    import joblib

    return joblib.hash(step)[:24]


def _transform(store: Any, step: Any, info: dict[str, Any], sample_ids: Any) -> Any:
    """Features of a few samples (the labeled set, the queue) in this process."""
    from labeler.learning.pipeline import store_frame

    X = step.transform(store_frame(store, list(map(int, sample_ids)), info))
    return X if sp.issparse(X) else np.ascontiguousarray(X)


def _density(
    pool: DaskPool,
    spec: TaskSpec,
    store: Any,
    step: Any,
    info: dict[str, Any],
    ids: np.ndarray,
    parts: list[Partition],
    settings: Any,
    phases: Any,
) -> tuple[DensityModel, float]:
    """The density model (k-means on the same sample of the pool as in process, its features
    computed here) and the largest raw density over every partition."""
    sample = ids[density_sample(len(ids), settings.seed)]
    model = DensityModel.fit(_transform(store, step, info, sample), settings.seed)
    spec.density = (model, None)
    peaks = pool.map(
        density_peak, parts, shared=spec, progress=phases.sub(70, 80), cancel=phases.cancel
    )
    return model, float(max(peaks))


def _class_order(estimator: Any, targets: Any) -> np.ndarray:
    classes = [str(c) for c in estimator.classes_]
    return np.asarray([classes.index(c) for c in targets.classes], dtype=np.int64)


# -- the queue ----------------------------------------------------------------------------------


def _queue(
    settings: Any,
    results: list[PartitionResult],
    ids: np.ndarray,
    labeled: np.ndarray,
    X_lab: Any,
    n: int,
    n_allowed: int,
    features_of: Any,
) -> list[tuple[int, float | None]]:
    strategy = settings.strategy
    if n <= 0:
        return []
    rng = np.random.default_rng(settings.seed)
    if strategy == "random":  # the same draw as in process: positions among the unlabeled
        allowed = ~np.isin(ids, labeled)
        picks = rng.permutation(np.nonzero(allowed)[0])[:n]
        return [(int(ids[p]), None) for p in picks]
    if strategy != "batch-diverse":
        chosen, scores, _ = merge_candidates(results, n, HIGHER_FIRST[strategy])
        return [(int(s), float(v)) for s, v in zip(chosen, scores, strict=True)]
    count = min(n_allowed, max(CANDIDATES, 4 * n))
    cand_ids, cand_unc, _ = merge_candidates(results, count, True)
    order = np.argsort(cand_ids, kind="stable")  # in process the candidates go by position
    # the candidates' features are computed here (a few thousand rows), not shipped back by
    # every partition: that would grow with the number of partitions
    X_cand = features_of(cand_ids[order])
    ref = None
    n_labeled = X_lab.shape[0]
    if n_labeled:
        keep = rng.choice(n_labeled, size=min(n_labeled, LABELED_REFERENCE), replace=False)
        ref = X_lab[np.sort(keep)]
    picks, scores = ranked_batch(
        X_cand, cand_unc[order], ref, n, n_unlabeled=n_allowed, n_labeled=n_labeled
    )
    cand_sorted = cand_ids[order]
    return [(int(cand_sorted[p]), float(s)) for p, s in zip(picks, scores, strict=True)]


def _pool_predictions(results: list[PartitionResult], targets: Any) -> PoolPredictions:
    """Every unlabeled sample's top class and confidence, gathered from the partitions."""
    k = len(targets.classes)
    empty = np.zeros((0, k), dtype=bool) if targets.multi_label else np.zeros(0, np.uint16)
    return PoolPredictions.build(
        targets.classes,
        targets.multi_label,
        np.concatenate([r.ids for r in results] or [np.zeros(0, np.int64)]),
        np.concatenate([r.predicted for r in results] or [empty]),
        np.concatenate([r.confidence for r in results] or [np.zeros(0, np.float32)]),
    )


# -- cold start ---------------------------------------------------------------------------------


def _cold_start(
    store: Any,
    step: Any,
    info: dict[str, Any],
    ids: np.ndarray,
    snapshot: Any,
    settings: Any,
    cancel: Any,
) -> None:
    """Without any model yet, queue diverse seeds picked from a sample of the pool (its
    features computed here: a sample keeps the memory bounded whatever the pool's size)."""
    if store.models.latest_ok() is not None:
        return
    pool_ids = ids[~np.isin(ids, np.asarray(snapshot.sample_ids, dtype=np.int64))]
    if len(pool_ids) == 0:
        return
    rng = np.random.default_rng(settings.seed)
    if len(pool_ids) > COLD_START_SAMPLE:
        pool_ids = np.sort(rng.choice(pool_ids, size=COLD_START_SAMPLE, replace=False))
    X_pool = _transform(store, step, info, pool_ids)
    X_lab = _transform(store, step, info, snapshot.sample_ids) if len(snapshot.sample_ids) else None
    picks, scores = diverse_seeds(
        X_pool, settings.queue_size, X_labeled=X_lab, seed=settings.seed, cancel=cancel
    )
    items = [(int(pool_ids[p]), float(s)) for p, s in zip(picks, scores, strict=True)]
    store.models.replace_queue(None, "cold-start", items)
