"""Suspected label errors, confident-learning style, from out-of-fold predicted probabilities.

For each class j a threshold t_j is the mean out-of-fold probability of j over the samples
*labeled* j (how confident the model typically is when j is right). A sample labeled y is
suspected when

* some other class j reaches its threshold (p_j >= t_j) and is the most probable of the
  classes that do: the confident joint counts it as "labeled y, truly j"; or
* no class reaches its threshold but the most probable class is not y (what cleanlab calls
  ``predicted_neq_given``): the model disagrees, without being sure of anything.

Suspects are ranked by the margin p_j - p_y, largest first (the clearest contradictions),
so confident-joint suspects, whose p_j is high, come first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

COLUMNS = ["sample_id", "given", "suggested", "p_given", "p_suggested", "score"]


def class_thresholds(given: np.ndarray, probs: np.ndarray, n_classes: int) -> np.ndarray:
    """t_j = mean p_j over samples labeled j (inf for a class nobody was labeled with)."""
    out = np.full(n_classes, np.inf)
    for j in range(n_classes):
        mask = given == j
        if mask.any():
            out[j] = probs[mask, j].mean()
    return out


def find_label_issues(
    sample_ids: Sequence[int],
    given: Sequence[str],
    probs: np.ndarray,
    classes: Sequence[str],
) -> pd.DataFrame:
    """Suspects among samples with labels ``given`` and out-of-fold ``probs`` (n x K, columns
    in ``classes`` order). Returns a frame with :data:`COLUMNS`, most suspicious first."""
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    keep = [i for i, g in enumerate(given) if g in index]
    if not keep:
        return pd.DataFrame(columns=COLUMNS)
    ids = np.asarray(sample_ids)[keep]
    y = np.array([index[given[i]] for i in keep])
    p = np.asarray(probs, dtype=float)[keep]
    t = class_thresholds(y, p, len(classes))
    confident = p >= t[None, :]
    masked = np.where(confident, p, -np.inf)
    has = confident.any(axis=1)
    best = np.where(has, masked.argmax(axis=1), p.argmax(axis=1))
    suspect = best != y
    rows = np.flatnonzero(suspect)
    p_given = p[rows, y[rows]]
    p_sugg = p[rows, best[rows]]
    frame = pd.DataFrame(
        {
            "sample_id": ids[rows].astype(int),
            "given": [classes[k] for k in y[rows]],
            "suggested": [classes[k] for k in best[rows]],
            "p_given": p_given,
            "p_suggested": p_sugg,
            "score": p_sugg - p_given,
        },
        columns=COLUMNS,
    )
    return frame.sort_values(["score", "sample_id"], ascending=[False, True]).reset_index(drop=True)
