"""Training settings: one frozen record per retrain, read from the project's settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from labeler.learning.featureset import (
    DEFAULT_TEXT_FEATURES,
    FeatureError,
    FeatureSettings,
    check_text_features,
)

if TYPE_CHECKING:
    from labeler.store.project_store import Store


@dataclass(frozen=True)
class TrainSettings:
    """What a retrain does. Stored per project under ``settings["learning"]``."""

    model: str = "auto"
    strategy: str = "margin"
    queue_size: int = 500
    cv_folds: int = 5
    seed: int = 0
    committee_size: int = 3
    compute: str = "local"  # local | dask-local[:N] | dask://HOST:PORT (labeler.learning.compute)
    partition_rows: int = 100_000  # Dask: samples per partition (a multiple of 20,000)
    compute_timeout_s: float = 3600.0  # Dask: the retrain fails when the cluster takes longer
    features: FeatureSettings = field(default_factory=FeatureSettings)
    # ``mlflow:<tracking uri>``: every retrain logs an MLflow run (labeler.learning.tracking)
    tracking: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TrainSettings:
        data = dict(data or {})
        names = {f.name for f in fields(cls)} - {"features"}
        known = {k: v for k, v in data.items() if k in names}
        return cls(**known, features=FeatureSettings.from_dict(data.get("features")))

    @classmethod
    def from_project(cls, store: Store) -> TrainSettings:
        """The project's settings (``store.info.settings["learning"]``), defaults elsewhere."""
        return cls.from_dict(store.info.settings.get("learning", {}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_(self, **changes: Any) -> TrainSettings:
        return replace(self, **changes)


def new_project_settings(modality: str, text_features: str | None = None) -> dict[str, Any]:
    """The settings a new project starts with: a text project records its text features
    (the default unless chosen), so a later change of the default leaves it as it was."""
    if modality != "text":
        if text_features is not None:
            raise FeatureError("text features apply to text projects only")
        return {}
    chosen = check_text_features(text_features or DEFAULT_TEXT_FEATURES)
    return {"learning": {"features": {"text_features": chosen}}}
