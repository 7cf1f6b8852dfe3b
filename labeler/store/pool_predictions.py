"""The newest model's prediction for every sample of the unlabeled pool, stored packed.

A retrain scores the whole pool anyway (to rank it); :class:`PoolPredictions` keeps the top
class and confidence of every unlabeled sample from that pass, and the store writes them in
the run's transaction as one ``pool_prediction`` row of three little-endian arrays (most
confident first). At 1M samples that is 7 bytes a sample (14 MB with 64-bit ids) and about
0.4 s to write on SQLite, where rewriting a 1M-row table costs ~20 s and rewrites its index
on every retrain. Readers take the arrays back in one row; the audit queue walks them in
order and checks each candidate's current state (labels that arrived since the run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.records import dumps

if TYPE_CHECKING:
    from labeler.store.project_store import Store


@dataclass(frozen=True)
class PoolPredictions:
    """Top class and confidence per unlabeled sample, most confident first.

    ``predicted``: single-label, the index into ``classes`` of each sample's top class
    (uint16); multi-label, a boolean ``(count, len(classes))`` matrix of the labels at
    probability >= 0.5. ``confidence`` (float32) is the top probability (multi-label: the
    least sure label's ``max(p, 1 - p)``), as :func:`labeler.learning.fitting.confidence`."""

    model_version: int
    classes: tuple[str, ...]
    multi_label: bool
    sample_ids: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.sample_ids)

    @classmethod
    def build(
        cls,
        classes: tuple[str, ...] | list[str],
        multi_label: bool,
        sample_ids: np.ndarray,
        predicted: np.ndarray,
        confidence: np.ndarray,
        model_version: int = 0,
    ) -> PoolPredictions:
        """Put the samples in order, most confident first (ties by sample id)."""
        ids = np.asarray(sample_ids, dtype=np.int64)
        conf = np.asarray(confidence, dtype=np.float32)
        order = np.lexsort((ids, -conf))
        pred = np.asarray(predicted)
        pred = pred.astype(bool) if multi_label else pred.astype(np.uint16)
        return cls(model_version, tuple(classes), multi_label, ids[order], pred[order], conf[order])

    def labels(self, i: int) -> tuple[str, ...]:
        """The predicted label(s) of the ``i``-th sample (in stored order)."""
        if self.multi_label:
            return tuple(c for c, on in zip(self.classes, self.predicted[i], strict=True) if on)
        return (self.classes[int(self.predicted[i])],)

    def class_counts(self) -> dict[str, int]:
        """How many pool samples the model puts in each class."""
        k = len(self.classes)
        if self.multi_label:
            counts = self.predicted.sum(axis=0) if len(self) else np.zeros(k, dtype=np.int64)
        else:
            counts = np.bincount(self.predicted.astype(np.int64), minlength=k)
        return {c: int(n) for c, n in zip(self.classes, counts, strict=True)}


def write_pool(
    conn: sa.Connection, project_id: int, model_version: int, pool: PoolPredictions
) -> None:
    """Replace the project's pool predictions (inside the caller's transaction)."""
    pool = replace(pool, model_version=model_version)
    if pool.multi_label:
        packed = np.packbits(pool.predicted.reshape(len(pool), len(pool.classes)), axis=1)
    else:
        packed = pool.predicted.astype("<u2")
    conn.execute(t.pool_prediction.delete().where(t.pool_prediction.c.project_id == project_id))
    conn.execute(
        t.pool_prediction.insert().values(
            project_id=project_id,
            model_version=model_version,
            classes=dumps(list(pool.classes)),
            multi_label=pool.multi_label,
            count=len(pool),
            sample_ids=pool.sample_ids.astype("<i8").tobytes(),
            predicted=packed.tobytes(),
            confidence=pool.confidence.astype("<f4").tobytes(),
        )
    )


def read_pool(store: Store) -> PoolPredictions | None:
    """The project's pool predictions (None before the first retrain that recorded them)."""
    pp = t.pool_prediction
    with store.read() as conn:
        row = conn.execute(sa.select(pp).where(pp.c.project_id == store.project_id)).first()
    if row is None:
        return None
    classes = tuple(json.loads(row.classes))
    n = int(row.count)
    if row.multi_label:
        bits = np.frombuffer(bytes(row.predicted), dtype=np.uint8).reshape(
            n, (len(classes) + 7) // 8
        )
        predicted = np.unpackbits(bits, axis=1, count=len(classes)).astype(bool)
    else:
        predicted = np.frombuffer(bytes(row.predicted), dtype="<u2")
    return PoolPredictions(
        int(row.model_version),
        classes,
        bool(row.multi_label),
        np.frombuffer(bytes(row.sample_ids), dtype="<i8"),
        predicted,
        np.frombuffer(bytes(row.confidence), dtype="<f4"),
    )
