"""The run behind an MLflow model version, logged through an explicit ``MlflowClient``.

Nothing here uses MLflow's fluent API (``mlflow.start_run``, ``mlflow.log_*``,
``mlflow.sklearn.log_model``): those read and set process-global state (the tracking and
registry URIs, the active run), which would leak into the rest of the app. The model is
saved locally with ``mlflow.sklearn.save_model`` and uploaded with the client.

Artifacts of the run::

    model/                          the pipeline as an MLflow pyfunc model (from code, skops
                                    inside, raw-input signature and example; see .pyfunc);
                                    a bare estimator of an older Labeler: mlflow.sklearn
    labeler/model.skops             Labeler's copy, checked against its SHA-256 on load
    labeler/MODEL_CARD.md
    labeler/dataset/<snapshot>      the training-data snapshot and its manifest
"""

from __future__ import annotations

import importlib
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from labeler.registry.base import ModelBundle
from labeler.registry.trust import TRUSTED_TYPES, load_trusted

ARTIFACT_DIR = "labeler"
MODEL_FILE = "model.skops"
DATASET_DIR = f"{ARTIFACT_DIR}/dataset"
# dataset tags on the logged input: the snapshot's full hashes (MLflow's digest holds 36 chars)
DATASET_TAGS = {
    "labeler.sha256": "sha256",
    "labeler.label_set_sha256": "label_set_sha256",
    "labeler.as_of_event": "as_of_event",
    "labeler.snapshot_version": "snapshot_version",
}


def flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric metrics, nested dicts flattened to ``a.b`` keys."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[name] = float(value)
        elif isinstance(value, dict):
            out.update(flat_metrics(value, name + "."))
    return out


def param_values(params: dict[str, Any]) -> dict[str, str]:
    """Parameters as MLflow takes them: strings, within its length limits."""
    return {
        str(k)[:250]: (v if isinstance(v, str) else json.dumps(v, default=str))[:6000]
        for k, v in params.items()
    }


def log_version_run(
    client: Any, run: Any, bundle: ModelBundle, sha256: str
) -> tuple[str, dict[str, Any]]:
    """Log everything of a new version into ``run`` (created by the caller, who registers
    the version, or deletes the run if this raises); returns ``(model source, metadata)``."""
    from mlflow.entities import Metric, Param

    model = load_trusted(bundle.model_path, sha256)
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, now, 0) for k, v in flat_metrics(bundle.metrics).items()],
        params=[Param(k, v) for k, v in param_values(bundle.params).items()],
    )
    lineage = dict(bundle.lineage)
    with tempfile.TemporaryDirectory(prefix="labeler-mlflow-push-") as tmp:
        staging = Path(tmp)
        _save_flavour(model, bundle, sha256, staging / "model")
        client.log_artifacts(run_id, str(staging / "model"), "model")
        labeler_dir = staging / ARTIFACT_DIR
        labeler_dir.mkdir()
        (labeler_dir / "MODEL_CARD.md").write_text(bundle.model_card, encoding="utf-8")
        shutil.copyfile(bundle.model_path, labeler_dir / MODEL_FILE)
        client.log_artifacts(run_id, str(labeler_dir), ARTIFACT_DIR)
        if bundle.dataset_path is not None:
            dataset = _dataset_files(bundle.dataset_path)
            for path in dataset:
                client.log_artifact(run_id, str(path), DATASET_DIR)
            lineage["dataset_path"] = f"{DATASET_DIR}/{bundle.dataset_path.name}"
            _log_dataset_input(client, run, bundle, lineage)
    client.set_terminated(run_id, "FINISHED")
    meta = {
        "label_set": list(bundle.label_set),
        "feature_settings": bundle.feature_settings,
        "lineage": lineage,
    }
    return f"{run.info.artifact_uri}/model", meta


def _dataset_files(path: Path) -> list[Path]:
    from labeler.export.snapshot import manifest_path_for

    manifest = manifest_path_for(path)
    return [path, manifest] if manifest.is_file() else [path]


def _save_flavour(model: Any, bundle: ModelBundle, sha256: str, target: Path) -> None:
    from labeler.learning.pipeline import is_pipeline

    if is_pipeline(model):
        from labeler.registry.pyfunc import save_pyfunc

        save_pyfunc(model, bundle.model_path, sha256, target, bundle.input_example)
        return
    import sklearn
    import skops
    from mlflow.models import infer_signature

    mlflow_sklearn = importlib.import_module("mlflow.sklearn")
    signature = None
    if bundle.input_example is not None:
        signature = infer_signature(bundle.input_example, model.predict(bundle.input_example))
    mlflow_sklearn.save_model(
        model,
        str(target),
        serialization_format=mlflow_sklearn.SERIALIZATION_FORMAT_SKOPS,
        skops_trusted_types=list(TRUSTED_TYPES),
        signature=signature,
        pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"],
    )


def _log_dataset_input(client: Any, run: Any, bundle: ModelBundle, lineage: dict) -> None:
    """The snapshot as the run's training input, its source the copy logged with the run."""
    assert bundle.dataset_path is not None
    if bundle.dataset_path.suffix != ".parquet":
        return
    import pandas as pd
    from mlflow.entities import DatasetInput, InputTag

    mlflow_data = importlib.import_module("mlflow.data")
    head = pd.read_parquet(bundle.dataset_path).head(1000)
    dataset = mlflow_data.from_pandas(
        head,
        source=f"{run.info.artifact_uri}/{lineage['dataset_path']}",
        name=bundle.dataset_path.name,
        targets="label" if "label" in head.columns else None,
        digest=str(lineage.get("sha256", ""))[:36] or None,
    )
    tags = [InputTag("mlflow.data.context", "training")]
    tags += [
        InputTag(key, str(lineage[name]))
        for key, name in DATASET_TAGS.items()
        if lineage.get(name) is not None
    ]
    client.log_inputs(run.info.run_id, datasets=[DatasetInput(dataset._to_mlflow_entity(), tags)])
