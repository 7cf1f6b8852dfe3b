"""Drift of an import batch: its samples against the labeled samples of earlier imports, in
the feature space the project's model is trained in (see :mod:`labeler.learning.drift`).

Every check is recorded per import batch (:mod:`labeler.store.drift_records`): ``labeler
import --json`` checks the new batch, ``labeler info`` the newest one (reusing the recorded
check while no label was given, no batch imported and the feature settings are the same), and
every retrain checks the batches that have no check yet, in the retrain worker, after the run
is recorded (:func:`check_unchecked_batches`). Review mode's Drift tab shows the records.

:func:`frame_drift` is the same check for data that is not in a project (``labeler predict``):
a reference and a batch, raw or already in feature space, with the model's fitted feature
transform.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
import scipy.sparse as sp

from labeler.errors import LabelerError
from labeler.learning.drift import MIN_ROWS, DriftResult, check_drift
from labeler.store.batch_samples import batch_split
from labeler.store.drift_records import (
    DriftRecord,
    drift_by_batch,
    latest_drift,
    newest_label_event,
    record_drift,
)
from labeler.store.project_store import Store


def batch_drift(
    store: Store, batch_id: int | None = None, *, record: bool = True, reuse: bool = True
) -> dict[str, Any]:
    """``{"batch": id, "level": ..., "line": "drift: ...", ...}`` for ``batch_id`` (default:
    the newest import); ``level`` is ``n/a`` when there is nothing to compare with.

    ``record``: store the check with the batch. ``reuse``: return the batch's recorded check
    instead of computing one when it is still true (see the module docstring)."""
    from labeler.learning.features import load_features
    from labeler.learning.settings import TrainSettings

    split = batch_split(store, batch_id)
    if split is None:
        return {"batch": None, "level": "n/a", "line": "drift: n/a (no import)"}
    settings = TrainSettings.from_project(store).features
    as_of = newest_label_event(store)
    # what a recorded check depends on besides the labels (as JSON gives it back)
    stamp = json.loads(
        json.dumps({"features": asdict(settings), "newest_batch": _newest_batch(store)})
    )
    if reuse:
        known = latest_drift(store, split.batch_id)
        if (
            known is not None
            and known.reference_event == as_of
            and all(known.details.get(k) == v for k, v in stamp.items())
        ):
            return {**known.to_json(), "recorded": True}
    if not split.batch or not split.reference:
        why = "no samples" if not split.batch else "no labeled samples from earlier imports"
        doc: dict[str, Any] = {
            "batch": split.batch_id,
            "level": "n/a",
            "line": f"drift: n/a ({why})",
            "n_batch": len(split.batch),
        }
    else:
        try:
            feats = load_features(store, settings)
        except LabelerError as exc:  # e.g. an image file gone: report, never fail the caller
            return {"batch": split.batch_id, "level": "n/a", "line": f"drift: n/a ({exc})"}
        tabular = feats.kind == "tabular"
        result: DriftResult = check_drift(
            feats.X[feats.rows(split.reference)],
            feats.X[feats.rows(split.batch)],
            feats.kind,
            names=list(feats.columns) if tabular else None,
        )
        doc = {"batch": split.batch_id, **result.to_json()}
    if record and not record_drift(store, split.batch_id, {**doc, **stamp}, as_of):
        doc["recorded"] = False  # e.g. a read-only copy: the check still stands
    return doc


def _newest_batch(store: Store) -> int | None:
    split = batch_split(store)
    return None if split is None else split.batch_id


def check_unchecked_batches(store: Store, limit: int = 5) -> list[dict[str, Any]]:
    """Check (and record) the newest ``limit`` import batches without a conclusive check:
    never checked (e.g. imported in the app), or ``n/a``/``unknown`` (nothing labeled to
    compare with, then) unless nothing changed since. Returns their results, oldest first."""
    todo = [r.batch_id for r in drift_by_batch(store) if _worth_checking(store, r)][-limit:]
    return [batch_drift(store, b) for b in todo]


def _worth_checking(store: Store, record: DriftRecord) -> bool:
    """Never checked, or inconclusive for want of labeled earlier samples that now exist
    (a batch too small to judge, or the first import, stays as it was: no row per retrain)."""
    if record.checked_at is None:
        return True
    if record.level not in ("n/a", "unknown") or record.n_reference >= MIN_ROWS:
        return False
    split = batch_split(store, record.batch_id)
    if split is None or len(split.batch) < MIN_ROWS:
        return False
    return len(split.reference) >= MIN_ROWS


# -- outside a project (labeler predict) -------------------------------------------------------


def frame_drift(
    reference: Any,
    batch: Any,
    *,
    transform: Callable[[Any], Any] | None = None,
    kind: str | None = None,
    names: list[str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Drift of ``batch`` against ``reference`` in a model's feature space, for rows that are
    not in a project (``labeler predict``).

    ``reference`` and ``batch``: feature matrices (dense or sparse), or raw rows (e.g. pandas
    frames of the model's input columns) together with ``transform``, the model's fitted
    feature step (e.g. ``pipeline[:-1].transform`` of a scikit-learn ``Pipeline``), which
    turns them into its feature space. Nothing is fitted here.

    ``kind``: ``"tabular"`` for the population stability index per feature, anything else
    (``"text"``, ``"image"``, ``"vectors"``) for the domain classifier's AUC; by default
    tabular for dense matrices of at most 200 columns, the domain classifier otherwise.
    ``names``: feature names for the PSI line (default: ``transform``'s
    ``get_feature_names_out`` when it has one, else ``x0, x1, ...``).

    Returns the dict of :meth:`DriftResult.to_json` (``level`` none|moderate|strong|unknown,
    ``method``, ``score``, ``line`` such as ``drift: moderate (AUC 0.71)``, ...).
    """
    if transform is not None:
        reference, batch = transform(reference), transform(batch)
        if names is None:
            names = _names_of(transform)
    reference, batch = _matrix(reference), _matrix(batch)
    if reference.shape[1] != batch.shape[1]:
        raise LabelerError(
            f"drift: the batch has {batch.shape[1]} features, the reference "
            f"{reference.shape[1]}: they are not in one feature space"
        )
    if kind is None:
        kind = "tabular" if not sp.issparse(reference) and reference.shape[1] <= 200 else "vectors"
    if names is not None and len(names) != reference.shape[1]:
        names = None
    return check_drift(reference, batch, kind, names=names, seed=seed).to_json()


def _matrix(x: Any) -> Any:
    if sp.issparse(x):
        return sp.csr_matrix(x)
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(-1, 1) if x.ndim == 1 else x


def _names_of(transform: Callable[[Any], Any]) -> list[str] | None:
    owner = getattr(transform, "__self__", None)
    get = getattr(owner, "get_feature_names_out", None)
    if get is None:
        return None
    try:
        return [str(n) for n in get()]
    except Exception:  # noqa: BLE001 - names are a nicety; the check works without them
        return None
