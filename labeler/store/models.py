"""Model runs (the experiment log), the ranked queue and the current model's predictions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.model_versions import (
    ModelVersions,
    VersionTaken,
    complete_in,
    lock_models,
    reserve_in,
)
from labeler.store.pool_predictions import PoolPredictions, read_pool, write_pool
from labeler.store.records import dumps, loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store


QueueItem = tuple[int, float | None] | tuple[int, float | None, str]


__all__ = [
    "ModelRecords",
    "PoolPredictions",
    "Prediction",
    "QueueEntry",
    "RunRecord",
    "VersionTaken",
]


@dataclass(frozen=True)
class RunRecord:
    id: int
    model_version: int | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    label_count: int
    strategy: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    durations: dict[str, Any]
    artifact: str | None  # model file, relative to the project folder (older runs: absolute)
    error: str | None
    artifact_sha256: str | None = None  # recorded when the file was saved (older runs: None)
    mlflow_run_id: str | None = None  # the run logged in the project's tracking experiment


@dataclass(frozen=True)
class QueueEntry:
    sample_id: int
    rank: int
    score: float | None
    strategy: str
    model_version: int | None


@dataclass(frozen=True)
class Prediction:
    sample_id: int
    model_version: int
    labels: tuple[str, ...]
    confidence: float
    probabilities: dict[str, float] | None
    out_of_fold: bool


class ModelRecords:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.versions = ModelVersions(store)

    # -- runs ----------------------------------------------------------------------------

    def next_version(self) -> int:
        """The version the next model would get if no one reserves one meanwhile (a hint:
        ``versions.reserve`` is what allocates a version)."""
        pid = self._store.project_id
        with self._store.read() as conn:
            top = conn.execute(
                sa.select(sa.func.max(t.model_run.c.model_version)).where(
                    t.model_run.c.project_id == pid
                )
            ).scalar_one()
            reserved = conn.execute(
                sa.select(sa.func.max(t.model_version.c.version)).where(
                    t.model_version.c.project_id == pid
                )
            ).scalar_one()
        return max(int(top or 0), int(reserved or 0)) + 1

    def record_run(
        self,
        *,
        status: str,
        started_at: datetime,
        finished_at: datetime | None,
        label_count: int,
        strategy: str | None = None,
        params: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        durations: dict[str, Any] | None = None,
        artifact: str | None = None,
        error: str | None = None,
        queue: Sequence[QueueItem] | None = None,
        predictions: Sequence[Prediction] | None = None,
        pool: PoolPredictions | None = None,
        version: int | None = None,
        trainer: str | None = None,
        sha256: str | None = None,
    ) -> RunRecord:
        """Record a run. A successful run records its model ``version`` (reserved with
        ``versions.reserve`` before its model file was written; one is reserved here when
        None) and, in the same transaction, replaces the queue (``(sample_id, score)`` best
        first), predictions and ``pool`` (the prediction for every unlabeled sample), unless a
        newer version is recorded already (a slower trainer never replaces a newer model's
        ranking). ``trainer``: who trained it.

        ``sha256``: of the model file ``artifact``, computed when it was saved (kept with
        the version and the run); push and every load check the file against it.

        Raises :class:`VersionTaken` (nothing written) if ``version`` was not reserved."""
        pid = self._store.project_id
        with self._store.write() as conn:
            lock_models(conn, pid)
            current = True
            if status == "ok":
                if version is None:
                    version = reserve_in(conn, pid, trainer)
                current = complete_in(conn, pid, version, sha256)
            else:
                version = None
            run_id = conn.execute(
                t.model_run.insert().values(
                    project_id=pid,
                    model_version=version,
                    status=status,
                    started_at=started_at,
                    finished_at=finished_at,
                    label_count=label_count,
                    strategy=strategy,
                    params=dumps({**(params or {}), **({"trainer": trainer} if trainer else {})}),
                    metrics=dumps(metrics or {}),
                    durations=dumps(durations or {}),
                    artifact=artifact,
                    error=error,
                    artifact_sha256=sha256,
                )
            ).inserted_primary_key[0]
            if version is not None and current and queue is not None:
                self._replace_queue(conn, version, strategy or "unknown", queue)
            if version is not None and current and predictions is not None:
                self._replace_predictions(conn, version, predictions)
            if version is not None and current and pool is not None:
                write_pool(conn, pid, version, pool)
        return self.run(int(run_id))

    def run(self, run_id: int) -> RunRecord:
        with self._store.read() as conn:
            row = conn.execute(sa.select(t.model_run).where(t.model_run.c.id == run_id)).one()
        return _to_run(row)

    def runs(self, status: str | None = None) -> list[RunRecord]:
        q = sa.select(t.model_run).where(t.model_run.c.project_id == self._store.project_id)
        if status is not None:
            q = q.where(t.model_run.c.status == status)
        with self._store.read() as conn:
            return [_to_run(r) for r in conn.execute(q.order_by(t.model_run.c.id)).all()]

    def latest_run_id(self) -> int:
        """Id of the newest run (0 if none): a cheap counter other apps poll to see that
        someone recorded a new model, ranking or failure."""
        mr = t.model_run
        with self._store.read() as conn:
            top = conn.execute(
                sa.select(sa.func.max(mr.c.id)).where(mr.c.project_id == self._store.project_id)
            ).scalar_one()
        return int(top or 0)

    def latest_ok(self) -> RunRecord | None:
        ok = self.runs(status="ok")
        return ok[-1] if ok else None

    # -- queue ---------------------------------------------------------------------------

    def replace_queue(
        self, model_version: int | None, strategy: str, items: Sequence[QueueItem]
    ) -> None:
        """Atomically replace the ranked queue with ``(sample_id, score)`` pairs, best first.

        An item may be ``(sample_id, score, strategy)`` to name its own strategy."""
        with self._store.write() as conn:
            lock_models(conn, self._store.project_id)
            self._replace_queue(conn, model_version, strategy, items)

    def queue(self, limit: int | None = None, unlabeled_only: bool = True) -> list[QueueEntry]:
        """The ranked queue, best first; by default without samples labeled since it was built,
        and with skipped samples after the others (as ``labels.unlabeled_ids`` orders them), so a
        skipped sample does not come straight back at the head of the queue."""
        q = t.queue_item
        st = t.sample_state
        query = sa.select(q).where(q.c.project_id == self._store.project_id)
        if unlabeled_only:
            query = (
                query.select_from(q.outerjoin(st, st.c.sample_id == q.c.sample_id))
                .where(sa.or_(st.c.status.is_(None), st.c.status != "labeled"))
                .order_by(sa.case((st.c.status == "skipped", 1), else_=0))
            )
        query = query.order_by(q.c.rank)
        if limit is not None:
            query = query.limit(limit)
        with self._store.read() as conn:
            return [
                QueueEntry(r.sample_id, r.rank, r.score, r.strategy, r.model_version)
                for r in conn.execute(query).all()
            ]

    def _replace_queue(
        self,
        conn: sa.Connection,
        model_version: int | None,
        strategy: str,
        items: Sequence[QueueItem],
    ) -> None:
        pid = self._store.project_id
        conn.execute(t.queue_item.delete().where(t.queue_item.c.project_id == pid))
        if items:
            conn.execute(
                t.queue_item.insert(),
                [
                    {
                        "project_id": pid,
                        "sample_id": int(item[0]),
                        "rank": rank,
                        "score": None if item[1] is None else float(item[1]),
                        "strategy": item[2] if len(item) > 2 else strategy,
                        "model_version": model_version,
                    }
                    for rank, item in enumerate(items)
                ],
            )

    # -- predictions ---------------------------------------------------------------------

    def predictions(self, sample_ids: Sequence[int] | None = None) -> dict[int, Prediction]:
        """Stored predictions: out-of-fold for labeled samples, full for queued ones. Asked
        for ``sample_ids``, one with neither gets its top class and confidence from the
        whole-pool predictions (``probabilities`` None) when the newest retrain made one."""
        p = t.prediction
        query = sa.select(p).where(p.c.project_id == self._store.project_id)
        out: dict[int, Prediction] = {}
        with self._store.read() as conn:
            if sample_ids is None:
                rows = conn.execute(query).all()
            else:
                ids = list(sample_ids)
                rows = []
                for start in range(0, len(ids), 500):
                    rows.extend(
                        conn.execute(query.where(p.c.sample_id.in_(ids[start : start + 500]))).all()
                    )
        for r in rows:
            out[r.sample_id] = Prediction(
                r.sample_id,
                r.model_version,
                loads_labels(r.labels) or (),
                r.confidence,
                json.loads(r.probabilities) if r.probabilities else None,
                bool(r.out_of_fold),
            )
        if sample_ids is not None:
            missing = [int(i) for i in sample_ids if int(i) not in out]
            pool = read_pool(self._store) if missing else None
            if pool is not None:
                where = np.nonzero(np.isin(pool.sample_ids, missing))[0]
                for i in where:
                    sid = int(pool.sample_ids[i])
                    conf = round(float(pool.confidence[i]), 6)
                    out[sid] = Prediction(
                        sid, pool.model_version, pool.labels(int(i)), conf, None, False
                    )
        return out

    def pool_predictions(self) -> PoolPredictions | None:
        """The newest model's top class and confidence for every sample that was unlabeled
        when it was trained, most confident first (None before such a retrain)."""
        return read_pool(self._store)

    def _replace_predictions(
        self, conn: sa.Connection, model_version: int, preds: Sequence[Prediction]
    ) -> None:
        pid = self._store.project_id
        conn.execute(t.prediction.delete().where(t.prediction.c.project_id == pid))
        if preds:
            conn.execute(
                t.prediction.insert(),
                [
                    {
                        "project_id": pid,
                        "sample_id": int(p.sample_id),
                        "model_version": model_version,
                        "labels": dumps(list(p.labels)),
                        "confidence": float(p.confidence),
                        "probabilities": None
                        if p.probabilities is None
                        else dumps(p.probabilities),
                        "out_of_fold": bool(p.out_of_fold),
                    }
                    for p in preds
                ],
            )


def _to_run(r: sa.Row) -> RunRecord:
    return RunRecord(
        id=r.id,
        model_version=r.model_version,
        status=r.status,
        started_at=r.started_at,
        finished_at=r.finished_at,
        label_count=r.label_count,
        strategy=r.strategy,
        params=json.loads(r.params or "{}"),
        metrics=json.loads(r.metrics or "{}"),
        durations=json.loads(r.durations or "{}"),
        artifact=r.artifact,
        error=r.error,
        artifact_sha256=r.artifact_sha256,
        mlflow_run_id=r.mlflow_run_id,
    )
