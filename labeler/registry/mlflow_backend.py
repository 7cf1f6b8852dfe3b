"""MLflow as a registry back end (optional extra ``labeler[mlflow]``).

``push`` logs one run in the experiment ``labeler-<name>``: parameters, numeric metrics, the
dataset snapshot (as an artifact under ``labeler/dataset/`` and as the run's training input),
the model (``mlflow.sklearn`` flavour, skops format, with a signature), Labeler's own copy of
the skops file and the model card under ``labeler/`` (see :mod:`.mlflow_push`), then
registers it as a new version of ``<name>`` carrying the file's SHA-256 and Labeler's
metadata as tags, set at creation. Everything goes through one ``MlflowClient`` with this
registry's URIs: the process-global MLflow state (tracking/registry URI, active run) is never
read or changed. ``load`` downloads Labeler's copy, checks the SHA-256 and loads it with the
application's trusted types (never MLflow's recorded type list, never pickle).

URIs: ``mlflow:<tracking uri>``, e.g. ``mlflow:sqlite:////abs/path/mlflow.db`` or
``mlflow:http://host:5000``. For a SQLite tracking store, artifacts go to ``mlartifacts/``
next to the database file.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
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
from labeler.registry.mlflow_push import ARTIFACT_DIR, MODEL_FILE

PREFIX = "mlflow:"
TAG_SHA = "labeler.sha256"
TAG_META = "labeler.meta"
TAG_RUN = "labeler.run_id"


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise RegistryError(
            "the MLflow back end needs the 'mlflow' package (pip install labeler[mlflow])"
        ) from None
    return mlflow


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
        """Log a run and register it as a new version, all through this registry's own
        client (no process-global MLflow URI or active run is touched). Atomic: the registered
        model and the version are created last, the version with its tags, so nothing
        half-pushed is ever listed; on any failure the run is deleted (and a registered model
        created for it)."""
        from labeler.registry.mlflow_push import log_version_run

        _mlflow()
        sha = file_sha256(bundle.model_path)
        check_pushed_bytes(bundle, sha)
        run_id, created_model = None, False
        try:
            run = self._client.create_run(self._experiment_id(bundle.name))
            run_id = run.info.run_id
            source, meta = log_version_run(self._client, run, bundle, sha)
            created_model = self._ensure_registered_model(bundle.name)
            mv = self._client.create_model_version(
                bundle.name,
                source,
                run_id=run_id,
                tags={TAG_SHA: sha, TAG_META: json.dumps(meta, default=str), TAG_RUN: run_id},
            )
        except BaseException:
            self._roll_back(bundle.name, run_id, created_model)
            raise
        return self.get(bundle.name, int(mv.version))

    def _ensure_registered_model(self, name: str) -> bool:
        """Create the registered model if needed; True if this call created it."""
        from mlflow.exceptions import MlflowException

        try:
            self._client.get_registered_model(name)
            return False
        except MlflowException:
            pass
        try:
            self._client.create_registered_model(name)
        except MlflowException:  # another push created it meanwhile
            return False
        return True

    def _roll_back(self, name: str, run_id: str | None, created_model: bool) -> None:
        from mlflow.exceptions import MlflowException

        with contextlib.suppress(MlflowException):
            if run_id is not None:
                self._client.set_terminated(run_id, "FAILED")
                self._client.delete_run(run_id)
            if created_model and not self._versions_of(name):
                self._client.delete_registered_model(name)

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
        found = self._versions_of(name) if name is not None else self._all_versions()
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
        return list(self._search(None))

    def _versions_of(self, name: str) -> list[Any]:
        """Every version of ``name``. MLflow's filter language has no escape character: a
        name is quoted with the quote it does not contain; one holding both kinds is matched
        here instead of in the filter."""
        query = name_filter(name)
        return [mv for mv in self._search(query) if mv.name == name]

    def _search(self, query: str | None) -> Iterator[Any]:
        token = None
        while True:
            page = self._client.search_model_versions(query, page_token=token)
            yield from page
            token = page.token
            if not token:
                return

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


def name_filter(name: str) -> str | None:
    """``name = '...'`` for MLflow's search, safely quoted; None if no quote can hold it."""
    if "'" not in name:
        return f"name = '{name}'"
    if '"' not in name:
        return f'name = "{name}"'
    return None


def _iso(ms: int | None) -> str:
    from datetime import UTC, datetime

    if not ms:
        return ""
    return (
        datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        + "Z"
    )
