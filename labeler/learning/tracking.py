"""Experiment tracking: every retrain of a project with a tracking URI is logged as an MLflow
run, in one experiment per project (``labeler-<project>-retrains``).

The project setting ``learning.tracking`` (settings dialog, or ``labeler train --tracking
mlflow:URI`` for one run) holds ``mlflow:<tracking uri>``, e.g.
``mlflow:sqlite:////abs/path/mlflow.db`` or ``mlflow:http://host:5000``.

A run logs:

* parameters: model and estimator, the hyperparameters model selection chose
  (``chosen.<name>``), strategy, queue size, folds, seed, the feature settings
  (``features.<name>``), feature kind and width, labels per class (``labels.<class>``);
* metrics: cross-validated accuracy, macro-F1, F1 per class (``f1.<class>``), Brier score
  and calibration error, the number of labels, and the duration of each phase
  (``duration.<phase>``, seconds);
* tags: the label cut (``labeler.label_cut``, the newest label event the run saw), the hash
  of the label set (``labeler.label_set_sha256``), the project, run id and model version, the
  model file's SHA-256 and, for a failed run, its error.

Logging happens after the run is recorded, in the process that trained (the retrain worker
for the app, so the annotator never waits on it), through an explicit ``MlflowClient`` with the
project's URI: MLflow's process-global state (tracking URI, active run) is never read or set.
It never fails a retrain: any error becomes one warning (``TrackingOutcome.warning``) that
the app shows in its status bar and the command line prints on stderr. The MLflow run id is
stored with the run (``model_run.mlflow_run_id``) and shown in review mode's run history.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeler.errors import LabelerError

if TYPE_CHECKING:
    from labeler.store.models import RunRecord
    from labeler.store.project_store import Store

PREFIX = "mlflow:"
# MLflow takes at most 100 params and 100 tags (and 1000 metrics) per log_batch call
_BATCH = 100
# an unreachable tracking server must not hold the retrain worker for minutes
_HTTP_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


class TrackingError(LabelerError):
    """A tracking setting that cannot be used (wrong form)."""


@dataclass(frozen=True)
class TrackingOutcome:
    run_id: int  # the model run (store)
    mlflow_run_id: str | None  # None when logging failed
    warning: str | None  # one line, when logging failed


def parse_tracking(value: str | None) -> str | None:
    """The tracking URI in a setting ``mlflow:<uri>`` (None for an empty setting)."""
    value = (value or "").strip()
    if not value:
        return None
    if not value.startswith(PREFIX) or not value[len(PREFIX) :].strip():
        raise TrackingError(
            f"tracking must be 'mlflow:<tracking uri>' (e.g. mlflow:sqlite:////path/mlflow.db), "
            f"not {value!r}"
        )
    return value[len(PREFIX) :].strip()


def experiment_name(project: str) -> str:
    return f"labeler-{project}-retrains"


def track_retrain(store: Store, run: RunRecord, tracking: str) -> TrackingOutcome:
    """Log ``run`` as an MLflow run in the project's experiment and note its id with the run.
    Never raises: a failure is returned as ``warning``."""
    try:
        uri = parse_tracking(tracking)
        if uri is None:
            return TrackingOutcome(run.id, None, None)
        mlflow_id = _log(store, run, uri)
        from labeler.store.drift_records import set_mlflow_run_id

        set_mlflow_run_id(store, run.id, mlflow_id)
        return TrackingOutcome(run.id, mlflow_id, None)
    except Exception as exc:  # noqa: BLE001 - tracking never fails a retrain
        text = " ".join(str(exc).split())[:300] or type(exc).__name__
        if isinstance(exc, ImportError):
            text = "the 'mlflow' package is not installed (pip install labeler[mlflow])"
        return TrackingOutcome(
            run.id,
            None,
            f"MLflow tracking of run {run.id} failed ({text}); the retrain itself is recorded",
        )


@contextlib.contextmanager
def _http_limits() -> Iterator[None]:
    """Bound MLflow's HTTP retries while logging (restored afterwards; a value the user set
    is kept)."""
    saved = {k: os.environ.get(k) for k in _HTTP_LIMITS}
    for key, value in _HTTP_LIMITS.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)


def _experiment_id(client: Any, name: str, uri: str) -> str:
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    location = None
    if uri.startswith("sqlite:///"):  # artifacts next to the database, not in the cwd
        location = (Path(uri[len("sqlite:///") :]).parent / "mlartifacts").resolve().as_uri()
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException:  # another trainer created it meanwhile
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


def _log(store: Store, run: RunRecord, uri: str) -> str:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    params, metrics, tags = run_fields(store, run)
    with _http_limits():
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        exp_id = _experiment_id(client, experiment_name(store.info.name), uri)
        name = f"v{run.model_version}" if run.model_version is not None else f"run {run.id}"
        started = _millis(run.started_at)
        created = client.create_run(exp_id, start_time=started, run_name=name)
        mlflow_id = created.info.run_id
        try:
            stamp = _millis(run.finished_at) if run.finished_at else started
            p_list = [Param(k, v) for k, v in params.items()]
            m_list = [Metric(k, v, stamp, 0) for k, v in metrics.items()]
            t_list = [RunTag(k, v) for k, v in tags.items()]
            for i in range(0, max(len(p_list), len(m_list), len(t_list)), _BATCH):
                client.log_batch(
                    mlflow_id,
                    metrics=m_list[i : i + _BATCH],
                    params=p_list[i : i + _BATCH],
                    tags=t_list[i : i + _BATCH],
                )
            status = "FINISHED" if run.status == "ok" else "FAILED"
            client.set_terminated(mlflow_id, status, end_time=stamp)
        except BaseException:
            with contextlib.suppress(Exception):
                client.delete_run(mlflow_id)  # no half-logged run left behind
            raise
    return mlflow_id


def _millis(when: Any) -> int:
    from datetime import UTC

    return int(when.replace(tzinfo=UTC).timestamp() * 1000)


_KEY = re.compile(r"[^0-9A-Za-z_\-. /]")


def _key(text: Any) -> str:
    """A name MLflow accepts as a key (letters, digits, ``_-. /``)."""
    return _KEY.sub("_", str(text))[:250] or "_"


def _text(value: Any) -> str:
    import json

    return (value if isinstance(value, str) else json.dumps(value, default=str))[:6000]


def run_fields(store: Store, run: RunRecord) -> tuple[dict[str, str], dict[str, float], dict]:
    """``(params, metrics, tags)`` of ``run`` as logged (see the module docstring)."""
    p, m = run.params, run.metrics
    settings = p.get("settings") or {}
    params: dict[str, str] = {}
    for key in ("model", "estimator", "strategy", "queue_size", "cv_folds", "seed"):
        value = p.get(key, settings.get(key))
        if value is not None:
            params[key] = _text(value)
    for key in ("committee_size",):
        if key in settings:
            params[key] = _text(settings[key])
    for key in ("feature_kind", "n_features", "n_samples", "trainer"):
        if p.get(key) is not None:
            params[key] = _text(p[key])
    for key, value in (p.get("features") or settings.get("features") or {}).items():
        params[_key(f"features.{key}")] = _text(value)
    for key, value in (p.get("chosen") or {}).items():
        params[_key(f"chosen.{key}")] = _text(value)
    params["label_count"] = str(run.label_count)
    for name, count in labels_per_class(store, run).items():
        params[_key(f"labels.{name}")] = str(count)

    metrics: dict[str, float] = {}
    for key in ("accuracy", "macro_f1", "brier", "ece", "n_labels", "cv_folds"):
        value = m.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics[key] = float(value)
    for name, scores in (m.get("per_class") or {}).items():
        if isinstance(scores, dict) and isinstance(scores.get("f1"), int | float):
            metrics[_key(f"f1.{name}")] = float(scores["f1"])
    for phase, seconds in (run.durations or {}).items():
        if isinstance(seconds, int | float):
            metrics[_key(f"duration.{phase}")] = float(seconds)

    cut = p.get("training_labels") or {}
    tags = {
        "labeler.project": store.info.name,
        "labeler.run_id": str(run.id),
        "labeler.status": run.status,
    }
    optional = {
        "labeler.model_version": run.model_version,
        "labeler.label_cut": cut.get("as_of_event"),
        "labeler.label_policy": cut.get("label_policy"),
        "labeler.label_set_sha256": cut.get("sha256"),
        "labeler.artifact_sha256": run.artifact_sha256,
        "labeler.error": run.error,
    }
    tags.update({k: str(v)[:5000] for k, v in optional.items() if v is not None})
    return params, metrics, tags


def labels_per_class(store: Store, run: RunRecord) -> dict[str, int]:
    """How many labels of each class the run trained on: the cross-validation support when
    it was cross-validated, else counted at its label cut."""
    per_class = run.metrics.get("per_class") or {}
    support = {
        name: int(v["support"])
        for name, v in per_class.items()
        if isinstance(v, dict) and "support" in v
    }
    if support:
        return support
    cut = (run.params.get("training_labels") or {}).get("as_of_event")
    if cut is None:
        return {}
    from labeler.store.label_cut import labels_as_of

    counts = dict.fromkeys(store.info.label_names, 0)
    for labels in labels_as_of(store, int(cut))["labels"]:
        for name in labels:
            counts[name] = counts.get(name, 0) + 1
    return counts


def tracking_of(store: Store, tracking: str | None = None) -> str:
    """The tracking setting in force: ``tracking`` if given, else the project's."""
    if tracking is not None:
        return tracking
    return str((store.info.settings.get("learning") or {}).get("tracking") or "")
