"""The audit queue: samples the query strategy keeps passing over (skipped ones, and
unlabeled ones the model is most confident about)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.records import loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store


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
    unlabeled samples the model is most confident about (ranked last, or not queued at all,
    so an annotator would never see them)."""
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
        skipped = conn.execute(
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
        remaining = max(0, limit - len(skipped))
        confident = conn.execute(
            sa.select(p.c.sample_id, s.c.external_id, p.c.labels, p.c.confidence, q.c.rank)
            .select_from(
                p.join(s, s.c.id == p.c.sample_id)
                .outerjoin(st, st.c.sample_id == p.c.sample_id)
                .outerjoin(q, sa.and_(q.c.project_id == pid, q.c.sample_id == p.c.sample_id))
            )
            .where(
                p.c.project_id == pid,
                p.c.out_of_fold.is_(sa.false()),
                sa.or_(st.c.status.is_(None), st.c.status == "unlabeled"),
            )
            .order_by(p.c.confidence.desc(), p.c.sample_id)
            .limit(remaining)
        ).all()
    out = [
        AuditRow(
            r.sample_id,
            r.external_id,
            "skipped",
            loads_labels(r.labels),
            r.confidence,
            r.rank,
            int(r.n),
        )  # fmt: skip
        for r in skipped
    ]
    out += [
        AuditRow(
            r.sample_id, r.external_id, "confident", loads_labels(r.labels), r.confidence, r.rank, 0
        )  # fmt: skip
        for r in confident
    ]
    return out
