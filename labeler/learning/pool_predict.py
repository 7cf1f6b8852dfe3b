"""The retrain's prediction for every unlabeled sample, taken from the pass that ranks them.

Ranking the pool (least confident, margin, entropy, density, batch-diverse) computes every
row's probabilities anyway; :class:`PoolCollector` keeps each row's top class and
confidence from that pass (:func:`~labeler.learning.strategies.rank_pool`'s ``on_proba``),
so recording the whole pool costs no second pass. Strategies that do not score with the
model (random, committee) get one chunked pass in :meth:`PoolCollector.fill`.
"""

from __future__ import annotations

import numpy as np

from labeler.learning.blocks import predict_proba
from labeler.learning.fitting import Targets
from labeler.learning.strategies import SCORE_CHUNK
from labeler.progress import CancelToken
from labeler.store.pool_predictions import PoolPredictions


class PoolCollector:
    """Top class (as an index into ``targets.classes``) and confidence per row of a matrix
    of ``n_rows``, filled chunk by chunk from probabilities in ``estimator.classes_`` order."""

    def __init__(self, n_rows: int, estimator, targets: Targets) -> None:
        self.targets = targets
        k = len(targets.classes)
        if targets.multi_label:
            self.predicted = np.zeros((n_rows, k), dtype=bool)
            self._to_target = np.arange(k)
        else:
            self.predicted = np.zeros(n_rows, dtype=np.uint16)
            self._to_target = np.asarray(
                [targets.classes.index(c) for c in estimator.classes_], dtype=np.uint16
            )
        self.confidence = np.zeros(n_rows, dtype=np.float32)
        self.seen = np.zeros(n_rows, dtype=bool)

    def observe(self, start: int, proba: np.ndarray) -> None:
        """Rows ``start:start + len(proba)`` (the ``on_proba`` hook of the ranking pass)."""
        self._scatter(slice(start, start + proba.shape[0]), proba)

    def fill(self, estimator, X, rows: np.ndarray, cancel: CancelToken | None = None) -> None:
        """Predict the rows among ``rows`` the ranking pass did not score (in chunks)."""
        missing = rows[~self.seen[rows]]
        for start in range(0, len(missing), SCORE_CHUNK):
            if cancel is not None:
                cancel.check()
            chunk = missing[start : start + SCORE_CHUNK]
            proba = np.asarray(predict_proba(estimator, X, chunk), dtype=np.float64)
            self._scatter(chunk, proba)

    def _scatter(self, rows: np.ndarray | slice, proba: np.ndarray) -> None:
        if self.targets.multi_label:
            self.predicted[rows] = proba >= 0.5
            self.confidence[rows] = np.maximum(proba, 1 - proba).min(axis=1)
        else:
            best = proba.argmax(axis=1)
            self.predicted[rows] = self._to_target[best]
            self.confidence[rows] = proba[np.arange(len(best)), best]
        self.seen[rows] = True

    def result(self, sample_ids: np.ndarray, rows: np.ndarray) -> PoolPredictions:
        """The predictions of ``rows`` (whose sample ids are ``sample_ids[rows]``)."""
        return PoolPredictions.build(
            self.targets.classes,
            self.targets.multi_label,
            sample_ids[rows],
            self.predicted[rows],
            self.confidence[rows],
        )
