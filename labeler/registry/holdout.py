"""Held-out labels for promotion: labels given after the newest model took its labels
(after its run's label cut; for runs without one, after it started).

Neither the new model nor the current champion (which is older) has seen them, so both are
scored on the same unseen labels, given as raw rows: each version computes its own features
with its own pipeline. (A run of an older Labeler saved no pipeline: its held-out set is the
feature matrix rebuilt with its feature settings, and a champion trained on other features is
not replaced unless forced.)
"""

from __future__ import annotations

import numpy as np

from labeler.registry.promotion import Holdout
from labeler.store import Store
from labeler.store.label_cut import LabelCut, labels_after
from labeler.store.models import RunRecord
from labeler.store.review_queries import labels_since

MIN_HOLDOUT_LABELS = 20


def unseen_holdout(
    store: Store, run: RunRecord, min_labels: int = MIN_HOLDOUT_LABELS
) -> tuple[Holdout | None, str]:
    """The held-out set for ``run``'s model, or None and the reason there is none."""
    from labeler.learning.features import FeatureSettings, load_features

    cut = LabelCut.from_json(run.params.get("training_labels"))
    if cut is not None:  # exactly the labels given after the run's cut
        ids, labels = labels_after(store, cut.as_of_event)
    else:  # a run of an older Labeler: labels given after it started
        ids, labels = labels_since(store, run.started_at)
    if len(ids) < min_labels:
        return None, (
            f"only {len(ids)} labels were added after model v{run.model_version} was trained "
            f"(at least {min_labels} are needed to compare it with the champion)"
        )
    from labeler.learning.artifact import load_run_pipeline
    from labeler.learning.pipeline import is_pipeline, store_frame

    info = store.info
    pipeline = load_run_pipeline(store, run)
    raw = is_pipeline(pipeline)
    if raw:
        X = store_frame(store, ids, pipeline.labeler_info_)
    else:
        feats = load_features(store, FeatureSettings.from_dict(run.params.get("features")))
        X = feats.X[feats.rows(ids)]
    if info.multi_label:
        from sklearn.preprocessing import MultiLabelBinarizer

        y = MultiLabelBinarizer(classes=info.label_names).fit_transform(labels).astype(np.int64)
    else:
        y = np.asarray([lab[0] for lab in labels], dtype=object)
    description = f"{len(ids)} labels added after model v{run.model_version} was trained"
    settings = None if raw else run.params.get("features")
    return Holdout(X, y, "accuracy", description, feature_settings=settings), ""
