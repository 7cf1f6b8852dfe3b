"""Push a project's latest trained model to a registry, with lineage and a model card."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeler.export import ExportResult, export_dataset
from labeler.learning.artifact import ModelFileError, RunArtifact, run_artifact
from labeler.progress import CancelToken, ProgressFn
from labeler.registry.base import ModelBundle, ModelVersion, Registry, RegistryError
from labeler.registry.card import model_card
from labeler.registry.promotion import Holdout, Promotion, promote
from labeler.registry.trust import load_trusted
from labeler.store import Store
from labeler.store.label_cut import LabelCut


@dataclass(frozen=True)
class PushResult:
    version: ModelVersion
    promotion: Promotion
    snapshot: ExportResult

    def to_json(self) -> dict[str, Any]:
        return {
            "registry_version": self.version.to_json(),
            "promotion": self.promotion.to_json(),
            "snapshot": {"path": str(self.snapshot.path), **self.snapshot.manifest},
        }


def model_artifact(store: Store) -> tuple[Any, RunArtifact]:
    """The latest successful run and its model file (with the SHA-256 it must have)."""
    run = store.models.latest_ok()
    if run is None or not run.artifact:
        raise RegistryError(
            f"project {store.info.name!r} has no trained model yet; run 'labeler train' first"
        )
    try:
        return run, run_artifact(store, run)
    except ModelFileError as exc:
        raise RegistryError(str(exc)) from None


def refuse_duplicate(registry: Registry, name: str, sha256: str, model_version: int) -> None:
    """Refuse to push a model file the registry holds already (same SHA-256)."""
    try:
        versions = registry.versions(name)
    except RegistryError:
        return  # no such model in the registry yet
    for v in versions:
        if v.sha256 == sha256:
            raise RegistryError(
                f"model version {model_version} is already in the registry as {name} "
                f"v{v.version} (same file, SHA-256 {sha256[:12]}); nothing was pushed"
            )


def push_project_model(
    store: Store,
    registry: Registry,
    *,
    holdout: Holdout | None | str = "unseen",
    force: bool = False,
    snapshot: ExportResult | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> PushResult:
    """Push the latest model of ``store``: snapshot the labels it learned from (unless given),
    write the model card, push, and promote (see :mod:`labeler.registry.promotion`).

    Lineage is exact: the run records which labels it trained on (``training_labels``: a
    label event cut, see :mod:`labeler.store.label_cut`), the snapshot is exported as of
    that cut, and its label-set hash must equal the run's (else :class:`RegistryError`). The
    registry entry's lineage holds the snapshot's manifest (file SHA-256, label-set hash,
    cut). A run recorded before cuts existed gets a snapshot of the current labels, marked
    ``"exact": false``.

    ``holdout="unseen"`` compares with the champion on the labels added since this model
    was trained (see :mod:`labeler.registry.holdout`); pass a :class:`Holdout` to choose the
    labels, or None for no comparison."""
    run, artifact = model_artifact(store)
    path, sha = artifact.path, artifact.sha256
    # the file must hold the bytes trained (hash recorded at training), and trusted types only
    estimator = load_trusted(path, sha)
    refuse_duplicate(registry, store.info.name, sha, run.model_version)
    cut = LabelCut.from_json(run.params.get("training_labels"))
    if snapshot is None:
        snapshot = export_dataset(
            store,
            "parquet",
            policy=cut.label_policy if cut else "latest",
            as_of=cut.as_of_event if cut else None,
            progress=progress,
            cancel=cancel,
        )
    if cut is not None and snapshot.manifest.get("label_set_sha256") != cut.sha256:
        raise RegistryError(
            f"{snapshot.path}: holds other labels than model version {run.model_version} was "
            f"trained on (label set hash differs; export it with as_of={cut.as_of_event})"
        )
    info = store.info
    lineage = {
        **snapshot.manifest,
        "model_version": run.model_version,
        "run_id": run.id,
        "run_label_count": run.label_count,
        "training_labels": cut.to_json() if cut else None,
        "exact": cut is not None,
        "model_sha256": sha,
        "model_sha256_recorded": artifact.recorded,
    }
    feature_settings = dict(run.params.get("features") or info.settings.get("features") or {})
    estimator_name = type(estimator).__name__
    if hasattr(estimator, "steps"):
        estimator_name = " > ".join(type(step).__name__ for _, step in estimator.steps)
    card = model_card(
        name=info.name,
        modality=info.modality,
        task_type=info.task_type,
        label_set=info.label_names,
        model_version=run.model_version,
        estimator=estimator_name,
        metrics=run.metrics,
        params=run.params,
        feature_settings=feature_settings,
        lineage=lineage,
        label_count=run.label_count,
    )
    example = _input_example(store, estimator)
    bundle = ModelBundle(
        name=info.name,
        model_path=path,
        metrics=run.metrics,
        params={**run.params, "strategy": run.strategy, "project_model_version": run.model_version},
        label_set=info.label_names,
        feature_settings=feature_settings,
        lineage=lineage,
        model_card=card,
        dataset_path=snapshot.path,
        input_example=example,
        model_sha256=sha,
    )
    version = registry.push(bundle)
    reason = ""
    if isinstance(holdout, str):
        holdout, reason = (None, "") if force else _auto_holdout(store, registry, run, version)
    decision = promote(registry, version, holdout=holdout, force=force, no_holdout_reason=reason)
    return PushResult(registry.get(info.name, version.version), decision, snapshot)


def _input_example(store: Store, model: Any) -> Any:
    """A few raw rows of the project for a pipeline (the MLflow signature and input example
    are the raw input columns); zeros of the feature width for an older bare estimator."""
    from labeler.learning.pipeline import is_pipeline, store_frame

    if is_pipeline(model):
        first = next(store.samples.iter_frames(3, columns=()), None)
        if first is None or first.empty:
            return None
        return store_frame(store, first["id"].tolist(), model.labeler_info_)
    n_features = getattr(model, "n_features_in_", None)
    return np.zeros((1, int(n_features))) if n_features else None


def _auto_holdout(
    store: Store, registry: Registry, run: Any, version: ModelVersion
) -> tuple[Holdout | None, str]:
    """Held-out labels only when there is a champion to compare with."""
    current = registry.alias_target(version.name, "champion")
    if current is None or current == version.version:
        return None, ""
    from labeler.registry.holdout import unseen_holdout

    return unseen_holdout(store, run)
