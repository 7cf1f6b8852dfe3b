"""What follows a recorded retrain, off the annotator's path: MLflow tracking of the run
(:mod:`labeler.learning.tracking`) and drift checks of import batches not checked yet
(:mod:`labeler.learning.batch_drift`; the features are in the cache the retrain just used).

:func:`after_retrain` runs in the process that trained (the app's retrain worker, after it has
sent the result, or ``labeler train``). It never raises: problems come back as warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeler.learning.tracking import TrackingOutcome, track_retrain, tracking_of

if TYPE_CHECKING:
    from labeler.learning.settings import TrainSettings
    from labeler.store.location import ProjectLocation
    from labeler.store.models import RunRecord


@dataclass(frozen=True)
class AfterRun:
    run_id: int
    tracking: TrackingOutcome | None  # None: the project has no tracking URI
    drift: list[dict[str, Any]] = field(default_factory=list)  # batches checked now
    warnings: list[str] = field(default_factory=list)

    @property
    def mlflow_run_id(self) -> str | None:
        return None if self.tracking is None else self.tracking.mlflow_run_id


def after_retrain(
    location: ProjectLocation | str | Path,
    settings: TrainSettings | None,
    run: RunRecord,
    *,
    check_drift: bool = True,
) -> AfterRun:
    """Track ``run`` (when the project, or ``settings.tracking``, names a tracking URI) and
    check import batches without a drift check. Never raises."""
    from labeler.store.project_store import Store

    warnings: list[str] = []
    outcome: TrackingOutcome | None = None
    drift: list[dict[str, Any]] = []
    try:
        with Store.open(location) as store:
            tracking = tracking_of(store, settings.tracking if settings is not None else None)
            if tracking:
                outcome = track_retrain(store, run, tracking)
                if outcome.warning:
                    warnings.append(outcome.warning)
            if check_drift and run.status == "ok":
                try:
                    from labeler.learning.batch_drift import check_unchecked_batches

                    drift = check_unchecked_batches(store)
                except Exception as exc:  # noqa: BLE001 - a drift check never fails a retrain
                    warnings.append(f"drift check failed: {' '.join(str(exc).split())[:300]}")
    except Exception as exc:  # noqa: BLE001 - e.g. the project could not be opened again
        warnings.append(f"after run {run.id}: {' '.join(str(exc).split())[:300]}")
    return AfterRun(run.id, outcome, drift, warnings)
