"""The audit queue: samples the query strategy keeps passing over (skipped ones, and
unlabeled ones the model is most confident about).

The confident ones come from the newest retrain's prediction for the whole unlabeled pool
(:mod:`labeler.store.pool_predictions`), taken in turns per predicted class: the most sure
sample of each class, then the second of each, and so on, so a large easy class does not
fill the list on its own. Samples labeled or skipped since that retrain are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.pool_predictions import PoolPredictions, read_pool
from labeler.store.records import loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store

CHECK_CHUNK = 500  # candidates whose current state is read per query


@dataclass(frozen=True)
class AuditRow:
    sample_id: int
    external_id: str
    reason: str  # "skipped" | "confident"
    predicted: tuple[str, ...] | None
    confidence: float | None
    queue_rank: int | None
    skips: int


def audit_queue(store: Store, limit: int = 200) -> list[AuditRow]:
    """Samples the query strategy keeps passing over: skipped samples (most skips first), then
    unlabeled samples the model is most confident about, in turns per predicted class (ranked
    last, or not queued at all, so an annotator would never see them)."""
    out = _skipped(store, limit)
    remaining = max(0, limit - len(out))
    pool = read_pool(store) if remaining else None
    if pool is not None and len(pool):
        out += _confident(store, pool, remaining)
    return out


def _skipped(store: Store, limit: int) -> list[AuditRow]:
    st, s, p, q, le = t.sample_state, t.sample, t.prediction, t.queue_item, t.label_event
    pid = store.project_id
    skips = (
        sa.select(le.c.sample_id, sa.func.count().label("n"))
        .where(le.c.project_id == pid, le.c.action == "skip")
        .group_by(le.c.sample_id)
        .subquery()
    )
    join_pred = sa.and_(p.c.project_id == pid, p.c.sample_id == st.c.sample_id)
    join_queue = sa.and_(q.c.project_id == pid, q.c.sample_id == st.c.sample_id)
    with store.read() as conn:
        rows = conn.execute(
            sa.select(
                st.c.sample_id, s.c.external_id, p.c.labels, p.c.confidence, q.c.rank, skips.c.n
            )
            .select_from(
                st.join(s, s.c.id == st.c.sample_id)
                .join(skips, skips.c.sample_id == st.c.sample_id)
                .outerjoin(p, join_pred)
                .outerjoin(q, join_queue)
            )
            .where(st.c.project_id == pid, st.c.status == "skipped")
            .order_by(skips.c.n.desc(), st.c.sample_id)
            .limit(limit)
        ).all()
    return [
        AuditRow(
            r.sample_id,
            r.external_id,
            "skipped",
            loads_labels(r.labels),
            r.confidence,
            r.rank,
            int(r.n),
        )  # fmt: skip
        for r in rows
    ]


def class_turns(pool: PoolPredictions) -> np.ndarray:
    """Positions into ``pool`` (stored most confident first), taken in turns per predicted
    class (multi-label: per predicted label set)."""
    n = len(pool)
    if pool.multi_label:
        _, group = np.unique(pool.predicted, axis=0, return_inverse=True)
        group = np.asarray(group).ravel()
    else:
        group = pool.predicted.astype(np.int64)
    by_group = np.argsort(group, kind="stable")  # keeps confidence order within a class
    sorted_group = group[by_group]
    starts = np.r_[0, np.nonzero(sorted_group[1:] != sorted_group[:-1])[0] + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    turn = np.empty(n, dtype=np.int64)
    turn[by_group] = np.arange(n) - first
    return np.lexsort((np.arange(n), turn))


def _confident(store: Store, pool: PoolPredictions, limit: int) -> list[AuditRow]:
    st, s, q = t.sample_state, t.sample, t.queue_item
    pid = store.project_id
    order = class_turns(pool)
    out: list[AuditRow] = []
    with store.read() as conn:
        for start in range(0, len(order), CHECK_CHUNK):
            if len(out) >= limit:
                break
            positions = order[start : start + CHECK_CHUNK]
            ids = [int(i) for i in pool.sample_ids[positions]]
            rows = conn.execute(
                sa.select(s.c.id, s.c.external_id, st.c.status, q.c.rank)
                .select_from(
                    s.outerjoin(st, st.c.sample_id == s.c.id).outerjoin(
                        q, sa.and_(q.c.project_id == pid, q.c.sample_id == s.c.id)
                    )
                )
                .where(s.c.project_id == pid, s.c.id.in_(ids))
            ).all()
            found = {r.id: r for r in rows if r.status in (None, "unlabeled")}
            for pos, sid in zip(positions, ids, strict=True):
                r = found.get(sid)
                if r is None:  # labeled or skipped since the retrain (or removed)
                    continue
                out.append(
                    AuditRow(
                        sid,
                        r.external_id,
                        "confident",
                        pool.labels(int(pos)),
                        round(float(pool.confidence[pos]), 6),
                        r.rank,
                        0,
                    )  # fmt: skip
                )
                if len(out) >= limit:
                    break
    return out
