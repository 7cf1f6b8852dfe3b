"""MLflow as a registry back end (optional extra ``labeler[mlflow]``).

``push`` logs one run in the experiment ``labeler-<name>``: parameters, numeric metrics, the
dataset snapshot via ``log_input``, the model (``mlflow.sklearn`` flavour, skops format, with a
signature) registered as a new version of ``<name>``, plus Labeler's own copy of the skops file
and the model card under ``labeler/``. The version carries the file's SHA-256 and Labeler's
metadata as tags. ``load`` downloads Labeler's copy, checks the SHA-256 and loads it with the
application's trusted types (never MLflow's recorded type list, never pickle).

URIs: ``mlflow:<tracking uri>``, e.g. ``mlflow:sqlite:////abs/path/mlflow.db`` or
``mlflow:http://host:5000``. For a SQLite tracking store, artifacts go to ``mlartifacts/``
next to the database file.
"""

from __future__ import annotations

import importlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from labeler.hashing import file_sha256
from labeler.registry.base import (
    ModelBundle,
    ModelVersion,
    Registry,
    RegistryError,
    check_pushed_bytes,
)
from labeler.registry.trust import TRUSTED_TYPES

PREFIX = "mlflow:"
ARTIFACT_DIR = "labeler"
MODEL_FILE = "model.skops"
TAG_SHA = "labeler.sha256"
TAG_META = "labeler.meta"
# dataset tags on the logged input: the snapshot's full hashes (MLflow's digest holds 36 chars)
DATASET_TAGS = {
    "labeler.sha256": "sha256",
    "labeler.label_set_sha256": "label_set_sha256",
    "labeler.as_of_event": "as_of_event",
    "labeler.snapshot_version": "snapshot_version",
}


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise RegistryError(
            "the MLflow back end needs the 'mlflow' package (pip install labeler[mlflow])"
        ) from None
    return mlflow


def _flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[name] = float(value)
        elif isinstance(value, dict):
            out.update(_flat_metrics(value, name + "."))
    return out


def _param_values(params: dict[str, Any]) -> dict[str, str]:
    return {
        str(k)[:250]: (v if isinstance(v, str) else json.dumps(v, default=str))[:6000]
        for k, v in params.items()
    }


class MlflowRegistry(Registry):
    def __init__(self, tracking_uri: str) -> None:
        if not tracking_uri:
            raise RegistryError("an MLflow registry needs a tracking URI after 'mlflow:'")
        self.tracking_uri = tracking_uri
        self.uri = PREFIX + tracking_uri
        mlflow = _mlflow()
        self._client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    # -- writing -------------------------------------------------------------------------

    def _experiment_id(self, name: str) -> str:
        exp_name = f"labeler-{name}"
        exp = self._client.get_experiment_by_name(exp_name)
        if exp is not None:
            return str(exp.experiment_id)
        location = None
        if self.tracking_uri.startswith("sqlite:///"):
            db = Path(self.tracking_uri[len("sqlite:///") :])
            location = (db.parent / "mlartifacts").resolve().as_uri()
        return str(self._client.create_experiment(exp_name, artifact_location=location))

    def push(self, bundle: ModelBundle) -> ModelVersion:
        mlflow = _mlflow()
        mlflow_data = importlib.import_module("mlflow.data")
        mlflow_sklearn = importlib.import_module("mlflow.sklearn")
        import pandas as pd
        import sklearn
        import skops
        from mlflow.models import infer_signature

        from labeler.registry.trust import load_trusted

        sha = file_sha256(bundle.model_path)
        check_pushed_bytes(bundle, sha)
        model = load_trusted(bundle.model_path, sha)
        meta = {
            "label_set": list(bundle.label_set),
            "feature_settings": bundle.feature_settings,
            "lineage": bundle.lineage,
        }
        from mlflow.tracking._tracking_service.utils import is_tracking_uri_set

        # never resolve MLflow's default URIs (that would create ./mlflow.db): restore as found
        previous = mlflow.get_tracking_uri() if is_tracking_uri_set() else None
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        try:
            with mlflow.start_run(experiment_id=self._experiment_id(bundle.name)) as run:
                mlflow.log_params(_param_values(bundle.params))
                mlflow.log_metrics(_flat_metrics(bundle.metrics))
                if bundle.dataset_path is not None and bundle.dataset_path.suffix == ".parquet":
                    head = pd.read_parquet(bundle.dataset_path).head(1000)
                    dataset = mlflow_data.from_pandas(
                        head,
                        source=str(bundle.dataset_path),
                        name=bundle.dataset_path.name,
                        targets="label" if "label" in head.columns else None,
                        digest=str(bundle.lineage.get("sha256", ""))[:36] or None,
                    )
                    mlflow.log_input(
                        dataset,
                        context="training",
                        tags={
                            key: str(bundle.lineage[name])
                            for key, name in DATASET_TAGS.items()
                            if bundle.lineage.get(name) is not None
                        },
                    )
                signature = None
                if bundle.input_example is not None:
                    signature = infer_signature(
                        bundle.input_example, model.predict(bundle.input_example)
                    )
                info = mlflow_sklearn.log_model(
                    model,
                    name="model",
                    serialization_format=mlflow_sklearn.SERIALIZATION_FORMAT_SKOPS,
                    skops_trusted_types=list(TRUSTED_TYPES),
                    signature=signature,
                    registered_model_name=bundle.name,
                    pip_requirements=[
                        f"scikit-learn=={sklearn.__version__}",
                        f"skops=={skops.__version__}",
                    ],
                )
                with tempfile.TemporaryDirectory() as tmp:
                    card = Path(tmp) / "MODEL_CARD.md"
                    card.write_text(bundle.model_card, encoding="utf-8")
                    copy = Path(tmp) / MODEL_FILE
                    copy.write_bytes(bundle.model_path.read_bytes())
                    mlflow.log_artifact(str(card), ARTIFACT_DIR)
                    mlflow.log_artifact(str(copy), ARTIFACT_DIR)
                run_id = run.info.run_id
        finally:
            mlflow.set_tracking_uri(previous)
            mlflow.set_registry_uri(previous)
            if previous is None:
                from mlflow.environment_variables import MLFLOW_REGISTRY_URI

                MLFLOW_REGISTRY_URI.unset()
        version = int(info.registered_model_version)
        self._client.set_model_version_tag(bundle.name, str(version), TAG_SHA, sha)
        self._client.set_model_version_tag(
            bundle.name, str(version), TAG_META, json.dumps(meta, default=str)
        )
        self._client.set_model_version_tag(bundle.name, str(version), "labeler.run_id", run_id)
        return self.get(bundle.name, version)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self._client.set_registered_model_alias(name, alias, str(version))

    # -- reading -------------------------------------------------------------------------

    def aliases(self, name: str) -> dict[str, int]:
        from mlflow.exceptions import MlflowException

        try:
            model = self._client.get_registered_model(name)
        except MlflowException:
            return {}
        return {str(a): int(v) for a, v in (model.aliases or {}).items()}

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        query = f"name='{name}'" if name is not None else None
        found = self._client.search_model_versions(query) if query else self._all_versions()
        out = []
        alias_cache: dict[str, dict[str, int]] = {}
        for mv in found:
            tags = mv.tags or {}
            if TAG_SHA not in tags:
                continue  # not pushed by Labeler
            meta = json.loads(tags.get(TAG_META, "{}"))
            run = self._client.get_run(mv.run_id)
            if mv.name not in alias_cache:
                alias_cache[mv.name] = self.aliases(mv.name)
            aliases = sorted(a for a, v in alias_cache[mv.name].items() if v == int(mv.version))
            out.append(
                ModelVersion(
                    name=mv.name,
                    version=int(mv.version),
                    sha256=tags[TAG_SHA],
                    created_at=_iso(mv.creation_timestamp),
                    metrics=dict(run.data.metrics),
                    params=dict(run.data.params),
                    label_set=list(meta.get("label_set", [])),
                    feature_settings=meta.get("feature_settings", {}),
                    lineage=meta.get("lineage", {}),
                    aliases=aliases,
                    location=f"models:/{mv.name}/{mv.version}",
                )
            )
        return sorted(out, key=lambda v: (v.name, v.version))

    def _all_versions(self) -> list[Any]:
        out = []
        for model in self._client.search_registered_models():
            out.extend(self._client.search_model_versions(f"name='{model.name}'"))
        return out

    def model_file(self, name: str, version: int) -> tuple[Path, str]:
        """Download Labeler's copy of the model into a new temporary folder (the caller
        removes that folder: ``path.parent``)."""
        from mlflow.exceptions import MlflowException

        try:
            mv = self._client.get_model_version(name, str(version))
        except MlflowException:
            raise RegistryError(f"{self.uri}: model {name!r} has no version {version}") from None
        sha = (mv.tags or {}).get(TAG_SHA)
        if not sha:
            raise RegistryError(f"{self.uri}: {name} v{version} was not pushed by Labeler")
        dest = Path(tempfile.mkdtemp(prefix="labeler-mlflow-"))
        try:
            local = Path(
                self._client.download_artifacts(
                    mv.run_id, f"{ARTIFACT_DIR}/{MODEL_FILE}", str(dest)
                )
            )
            # keep the file directly in the folder we own, whatever layout MLflow used
            target = dest / f"{MODEL_FILE}.download"
            local.replace(target)
            final = dest / MODEL_FILE
            for leftover in dest.iterdir():
                if leftover != target:
                    shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
            target.replace(final)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        return final, sha

    def load(self, name: str, ref: int | str) -> Any:
        """Download Labeler's copy of the model, check its SHA-256, load with trusted types."""
        from labeler.registry.trust import load_trusted

        path, sha = self.model_file(name, self._resolve(name, ref))
        try:
            return load_trusted(path, sha)
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)


def _iso(ms: int | None) -> str:
    from datetime import UTC, datetime

    if not ms:
        return ""
    return (
        datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        + "Z"
    )
