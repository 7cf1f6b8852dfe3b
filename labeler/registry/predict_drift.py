"""The drift line of ``labeler predict --json``: the scored rows against the labeled samples
of the model's project, in the model's own feature space (see :mod:`labeler.learning.drift`).

A model loaded from a registry carries no training rows here (its snapshot holds labels, not
necessarily the raw inputs), so its line is ``drift: n/a``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from labeler.errors import LabelerError
from labeler.registry.model_ref import LoadedModel

REFERENCE_ROWS = 2_000


def _na(why: str) -> dict[str, Any]:
    return {"drift": {"level": "n/a", "line": f"drift: n/a ({why})"}}


def predict_drift(model: LoadedModel, sample: pd.DataFrame) -> dict[str, Any]:
    """``{"drift": {"level": ..., "line": "drift: none (PSI 0.03)", ...}}``."""
    from labeler.learning.drift import check_drift
    from labeler.learning.pipeline import store_frame
    from labeler.store import Store
    from labeler.store.label_cut import take_cut

    if model.project_location is None:
        return _na("no training data at hand for a registry model")
    info = model.info
    try:
        with Store.open(model.project_location) as store:
            _, labeled = take_cut(store)
            ids = labeled["sample_id"].to_numpy()
            if len(ids) > REFERENCE_ROWS:
                ids = np.sort(np.random.default_rng(0).choice(ids, REFERENCE_ROWS, replace=False))
            reference = store_frame(store, ids.tolist(), info)
        features = model.pipeline[:-1]
        X_ref, X_new = features.transform(reference), features.transform(sample)
    except LabelerError as exc:
        return _na(str(exc))
    kind = info["feature_kind"]
    names = None
    if kind == "tabular":
        step = model.pipeline.named_steps["features"]
        names = []
        for name, numeric, cats in zip(step.columns_, step.numeric_, step.categories_, strict=True):
            names += [name] if numeric else [f"{name}={c}" for c in cats] + [f"{name}=<other>"]
    return {"drift": check_drift(X_ref, X_new, kind, names=names).to_json()}
