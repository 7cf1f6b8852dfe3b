"""Promotion: a new version becomes ``champion`` only if it scores better than the current
champion on the same held-out labels, unless forced (a tie keeps the champion: pushing the
same model again must not move the alias). Every push becomes ``candidate``.

The held-out samples are raw rows (:func:`labeler.learning.pipeline.store_frame`): each
version scores them with its own pipeline, so a champion trained before an import (other
vocabulary statistics, other scaling) is judged on the features it would really compute."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from labeler.registry.base import ModelVersion, Registry


@dataclass(frozen=True)
class Holdout:
    """Held-out labels to compare versions on: ``X`` raw rows (a DataFrame of the input
    columns, scored by each version's own pipeline) or a feature matrix (scored by bare
    estimators, as older Labeler versions pushed them), labels ``y``."""

    X: Any
    y: Any
    metric: str = "accuracy"  # or "macro_f1"
    description: str = ""
    feature_settings: dict[str, Any] | None = None  # what a feature matrix X was built with

    def score(self, model: Any) -> float:
        from labeler.learning.pipeline import is_pipeline, predict_frame

        if isinstance(self.X, pd.DataFrame):
            if not is_pipeline(model):
                raise ValueError("it holds no feature pipeline (pushed by an older Labeler)")
            labels, proba = predict_frame(model, self.X)
            if model.labeler_info_["multi_label"]:
                predicted = (proba >= 0.5).astype(np.int64)
            else:
                predicted = np.asarray([lab[0] for lab in labels], dtype=object)
        else:
            estimator = model.steps[-1][1] if is_pipeline(model) else model
            predicted = estimator.predict(self.X)
        if self.metric == "macro_f1":
            return float(f1_score(self.y, predicted, average="macro", zero_division=0))
        return float(accuracy_score(np.asarray(self.y), np.asarray(predicted)))


@dataclass(frozen=True)
class Promotion:
    version: int
    promoted: bool
    reason: str
    new_score: float | None = None
    champion_version: int | None = None
    champion_score: float | None = None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def promote(
    registry: Registry,
    new: ModelVersion,
    *,
    holdout: Holdout | None = None,
    force: bool = False,
    no_holdout_reason: str = "",
) -> Promotion:
    """Mark ``new`` as candidate, and as champion when it earns it (see the module doc)."""
    registry.set_alias(new.name, "candidate", new.version)
    current = registry.alias_target(new.name, "champion")
    if force:
        registry.set_alias(new.name, "champion", new.version)
        return Promotion(new.version, True, "forced", champion_version=current)
    if current is None:
        registry.set_alias(new.name, "champion", new.version)
        return Promotion(new.version, True, "first champion")
    if current == new.version:
        return Promotion(new.version, True, "already champion", champion_version=current)
    if holdout is None:
        why = no_holdout_reason or "no held-out labels to compare with"
        return Promotion(
            new.version,
            False,
            f"{why}; kept as candidate of champion v{current} (force to promote)",
            champion_version=current,
        )
    champion = registry.get(new.name, current)
    if holdout.feature_settings is not None and champion.feature_settings != (
        holdout.feature_settings
    ):
        return Promotion(
            new.version,
            False,
            f"champion v{current} uses other feature settings, so the two cannot be scored on "
            "the same inputs; kept as candidate (force to promote)",
            champion_version=current,
        )
    new_score = holdout.score(registry.load(new.name, new.version))
    try:
        champ_score = holdout.score(registry.load(new.name, current))
    except ValueError as exc:  # e.g. a different number of features
        return Promotion(
            new.version,
            False,
            f"champion v{current} cannot be scored on these features ({exc}); kept as candidate",
            new_score,
            current,
        )
    if new_score > champ_score:
        registry.set_alias(new.name, "champion", new.version)
        reason = f"{holdout.metric} {new_score:.4f} > champion v{current} {champ_score:.4f}"
        promoted = True
    else:
        relation = "=" if new_score == champ_score else "<"
        reason = (
            f"{holdout.metric} {new_score:.4f} {relation} champion v{current} "
            f"{champ_score:.4f}; kept as candidate"
        )
        promoted = False
    return Promotion(new.version, promoted, reason, new_score, current, champ_score)
