"""Drift of an import batch: its samples against the labeled samples of earlier imports, in
the feature space the project's model is trained in (see :mod:`labeler.learning.drift`)."""

from __future__ import annotations

from typing import Any

from labeler.errors import LabelerError
from labeler.learning.drift import DriftResult, check_drift
from labeler.store.batch_samples import batch_split
from labeler.store.project_store import Store


def batch_drift(store: Store, batch_id: int | None = None) -> dict[str, Any]:
    """``{"batch": id, "line": "drift: ...", ...}`` for ``batch_id`` (default: the newest
    import); ``level`` is ``n/a`` when there is nothing to compare with."""
    from labeler.learning.features import load_features
    from labeler.learning.settings import TrainSettings

    split = batch_split(store, batch_id)
    if split is None or not split.batch or not split.reference:
        why = "no import" if split is None else "no labeled samples from earlier imports"
        return {
            "batch": None if split is None else split.batch_id,
            "level": "n/a",
            "line": f"drift: n/a ({why})",
        }
    try:
        feats = load_features(store, TrainSettings.from_project(store).features)
    except LabelerError as exc:  # e.g. an image file gone: report, never fail the caller
        return {"batch": split.batch_id, "level": "n/a", "line": f"drift: n/a ({exc})"}
    result: DriftResult = check_drift(
        feats.X[feats.rows(split.reference)],
        feats.X[feats.rows(split.batch)],
        "tabular" if feats.kind == "tabular" else feats.kind,
        names=list(feats.columns) if feats.kind == "tabular" else None,
    )
    return {"batch": split.batch_id, **result.to_json()}
