"""Queries behind review mode: the labeled-samples table (ids for a filter and sort order,
display rows for a page of ids), suspected label errors, and the audit queue.

The review table never loads rows it does not show: :func:`review_ids` returns only sample
ids (filtering and sorting happen in SQL), :func:`review_rows` fetches display rows for the
ids on screen. Joins with predictions and suspected errors are added only when a filter or
the sort order needs them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.records import dumps, loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store

SORT_KEYS = (
    "id",
    "external_id",
    "label",
    "annotator",
    "updated",
    "predicted",
    "confidence",
    "suspect",
)
SNIPPET_CHARS = 160


@dataclass(frozen=True)
class ReviewFilter:
    """What the review table shows; every field narrows it (None means no condition)."""

    label: str | None = None
    annotator: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    disagreement: bool | None = None
    suspected: bool | None = None
    flagged: bool | None = None
    adjudicated: bool | None = None

    @property
    def needs_prediction(self) -> bool:
        return self.min_confidence is not None or self.max_confidence is not None

    @property
    def needs_suspect(self) -> bool:
        return self.suspected is not None


@dataclass(frozen=True)
class ReviewRow:
    sample_id: int
    external_id: str
    snippet: str
    labels: tuple[str, ...]
    annotator: str | None
    updated_at: datetime
    n_annotators: int
    disagreement: bool
    adjudicated: bool
    flagged: bool
    predicted: tuple[str, ...] | None
    confidence: float | None
    suspect_score: float | None


@dataclass(frozen=True)
class SuspectRow:
    sample_id: int
    external_id: str
    given: tuple[str, ...]
    suggested: tuple[str, ...]
    p_given: float
    p_suggested: float
    score: float


@dataclass(frozen=True)
class AuditRow:
    sample_id: int
    external_id: str
    reason: str  # "skipped" | "confident"
    predicted: tuple[str, ...] | None
    confidence: float | None
    queue_rank: int | None
    skips: int


def _base(store: Store, flt: ReviewFilter, sort: str) -> tuple[Any, list[Any]]:
    st, p, se = t.sample_state, t.prediction, t.suspected_error
    source: Any = st
    if flt.needs_prediction or sort in ("predicted", "confidence"):
        source = source.outerjoin(
            p, sa.and_(p.c.project_id == st.c.project_id, p.c.sample_id == st.c.sample_id)
        )
    if flt.needs_suspect or sort == "suspect":
        source = source.outerjoin(
            se, sa.and_(se.c.project_id == st.c.project_id, se.c.sample_id == st.c.sample_id)
        )
    if sort == "external_id":
        source = source.join(t.sample, t.sample.c.id == st.c.sample_id)
    where: list[Any] = [st.c.project_id == store.project_id, st.c.status == "labeled"]
    if flt.label is not None:
        where.append(st.c.labels.like("%" + json.dumps(flt.label, ensure_ascii=False) + "%"))
    if flt.annotator is not None:
        where.append(st.c.annotator == flt.annotator)
    if flt.since is not None:
        where.append(st.c.updated_at >= flt.since)
    if flt.until is not None:
        where.append(st.c.updated_at < flt.until)
    if flt.min_confidence is not None:
        where.append(p.c.confidence >= flt.min_confidence)
    if flt.max_confidence is not None:
        where.append(p.c.confidence <= flt.max_confidence)
    for column, wanted in (
        (st.c.disagreement, flt.disagreement),
        (st.c.flagged, flt.flagged),
        (st.c.adjudicated, flt.adjudicated),
    ):
        if wanted is not None:
            where.append(column.is_(sa.true()) if wanted else column.is_(sa.false()))
    if flt.suspected is not None:
        where.append(se.c.sample_id.is_not(None) if flt.suspected else se.c.sample_id.is_(None))
    return source, where


def _order(sort: str, descending: bool) -> list[Any]:
    st = t.sample_state
    key = {
        "id": st.c.sample_id,
        "external_id": t.sample.c.external_id,
        "label": st.c.labels,
        "annotator": st.c.annotator,
        "updated": st.c.updated_at,
        "predicted": t.prediction.c.labels,
        "confidence": t.prediction.c.confidence,
        "suspect": t.suspected_error.c.score,
    }[sort]
    if sort == "id":
        return [key.desc() if descending else key.asc()]
    first = key.desc() if descending else key.asc()
    # NULLs last either way, then a stable tie-break by id
    return [key.is_(None), first, st.c.sample_id.desc() if descending else st.c.sample_id.asc()]


def review_count(store: Store, flt: ReviewFilter | None = None) -> int:
    flt = flt or ReviewFilter()
    source, where = _base(store, flt, "id")
    with store.read() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(source).where(*where)).scalar_one()
        )


def review_ids(
    store: Store,
    flt: ReviewFilter | None = None,
    sort: str = "id",
    descending: bool = False,
) -> np.ndarray:
    """Ids of the labeled samples matching ``flt`` in display order (an int64 array)."""
    if sort not in SORT_KEYS:
        raise ValueError(f"unknown sort key {sort!r}")
    flt = flt or ReviewFilter()
    source, where = _base(store, flt, sort)
    query = (
        sa.select(t.sample_state.c.sample_id)
        .select_from(source)
        .where(*where)
        .order_by(*_order(sort, descending))
    )
    with store.read() as conn:
        result = conn.execute(query)
        chunks = []
        while rows := result.fetchmany(100_000):
            chunks.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)


def review_rows(store: Store, sample_ids: Sequence[int]) -> dict[int, ReviewRow]:
    """Display rows for a page of sample ids (any order; unknown ids left out)."""
    st, s, p, se = t.sample_state, t.sample, t.prediction, t.suspected_error
    ids = [int(i) for i in sample_ids]
    out: dict[int, ReviewRow] = {}
    snippet = sa.func.substr(s.c.text, 1, SNIPPET_CHARS)
    data_snippet = sa.func.substr(s.c.data, 1, SNIPPET_CHARS)
    with store.read() as conn:
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                sa.select(
                    st.c.sample_id,
                    s.c.external_id,
                    snippet.label("snippet"),
                    s.c.file_ref,
                    data_snippet.label("data_snippet"),
                    st.c.labels,
                    st.c.annotator,
                    st.c.updated_at,
                    st.c.n_annotators,
                    st.c.disagreement,
                    st.c.adjudicated,
                    st.c.flagged,
                    p.c.labels.label("predicted"),
                    p.c.confidence,
                    se.c.score.label("suspect_score"),
                )  # fmt: skip
                .select_from(
                    st.join(s, s.c.id == st.c.sample_id)
                    .outerjoin(
                        p,
                        sa.and_(p.c.project_id == st.c.project_id, p.c.sample_id == st.c.sample_id),
                    )
                    .outerjoin(
                        se,
                        sa.and_(
                            se.c.project_id == st.c.project_id, se.c.sample_id == st.c.sample_id
                        ),
                    )
                )
                .where(
                    st.c.project_id == store.project_id,
                    st.c.sample_id.in_(ids[start : start + 500]),
                )
            ).all()
            for r in rows:
                text = r.snippet or r.file_ref or r.data_snippet or ""
                out[r.sample_id] = ReviewRow(
                    sample_id=r.sample_id,
                    external_id=r.external_id,
                    snippet=" ".join(str(text).split()),
                    labels=loads_labels(r.labels) or (),
                    annotator=r.annotator,
                    updated_at=r.updated_at,
                    n_annotators=int(r.n_annotators),
                    disagreement=bool(r.disagreement),
                    adjudicated=bool(r.adjudicated),
                    flagged=bool(r.flagged),
                    predicted=loads_labels(r.predicted),
                    confidence=r.confidence,
                    suspect_score=r.suspect_score,
                )
    return out


def annotators(store: Store) -> list[str]:
    """Everyone who gave a label or adjudicated in this project, by name."""
    le = t.label_event
    with store.read() as conn:
        return list(
            conn.execute(
                sa.select(le.c.annotator)
                .where(
                    le.c.project_id == store.project_id, le.c.action.in_(("label", "adjudicate"))
                )
                .distinct()
                .order_by(le.c.annotator)
            ).scalars()
        )


# -- suspected label errors ------------------------------------------------------------------


def replace_suspects(
    store: Store,
    model_version: int,
    rows: Sequence[tuple[int, Sequence[str], Sequence[str], float, float, float]],
) -> None:
    """Replace the suspected errors with ``(sample_id, given, suggested, p_given, p_suggested,
    score)`` rows computed from ``model_version``'s out-of-fold predictions."""
    se = t.suspected_error
    with store.write() as conn:
        conn.execute(se.delete().where(se.c.project_id == store.project_id))
        if rows:
            conn.execute(
                se.insert(),
                [
                    {
                        "project_id": store.project_id,
                        "sample_id": int(sid),
                        "model_version": int(model_version),
                        "given": dumps(list(given)),
                        "suggested": dumps(list(suggested)),
                        "p_given": float(pg),
                        "p_suggested": float(ps),
                        "score": float(score),
                    }
                    for sid, given, suggested, pg, ps, score in rows
                ],
            )


def suspects(
    store: Store, limit: int | None = None, sample_id: int | None = None
) -> list[SuspectRow]:
    """Suspected label errors, clearest first (or the entry of one sample)."""
    se, s = t.suspected_error, t.sample
    query = (
        sa.select(se, s.c.external_id)
        .select_from(se.join(s, s.c.id == se.c.sample_id))
        .where(se.c.project_id == store.project_id)
        .order_by(se.c.score.desc(), se.c.sample_id)
    )
    if sample_id is not None:
        query = query.where(se.c.sample_id == sample_id)
    if limit is not None:
        query = query.limit(limit)
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [
        SuspectRow(
            r.sample_id,
            r.external_id,
            loads_labels(r.given) or (),
            loads_labels(r.suggested) or (),
            r.p_given,
            r.p_suggested,
            r.score,
        )
        for r in rows
    ]


# -- audit queue -------------------------------------------------------------------------------


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


def labels_since(store: Store, since: datetime) -> tuple[list[int], list[tuple[str, ...]]]:
    """Labeled samples whose current label was given at or after ``since`` (by the event
    that decides it), with those labels, by sample id: labels no model trained before
    ``since`` has seen."""
    st, le = t.sample_state, t.label_event
    with store.read() as conn:
        rows = conn.execute(
            sa.select(st.c.sample_id, st.c.labels)
            .select_from(st.join(le, le.c.id == st.c.event_id))
            .where(
                st.c.project_id == store.project_id,
                st.c.status == "labeled",
                le.c.created_at >= since,
            )
            .order_by(st.c.sample_id)
        ).all()
    return [r.sample_id for r in rows], [loads_labels(r.labels) or () for r in rows]
