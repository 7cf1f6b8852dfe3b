"""Team review, aggregated in the database: per-annotator statistics and the samples whose
annotators disagree (the adjudication queue).

Every count, sum and median is an SQL aggregate; Python receives one row per annotator (or a
handful of distinct label-set pairs), never the label events themselves.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.overlap import not_undone
from labeler.store.records import loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store

PREVIEW_CHARS = 160


@dataclass(frozen=True)
class AnnotatorStats:
    annotator: str
    labels: int  # active label events (relabels included, undone ones not)
    samples: int  # distinct samples with an active label
    skips: int
    hours: float  # time spent on samples (label and skip events that recorded it)
    median_s: float  # median seconds per label (NaN when no label recorded its time)
    adjudicated: int  # of their labeled samples, those a reviewer adjudicated
    agreed: int  # of those, where their label is the adjudicated one

    @property
    def labels_per_hour(self) -> float:
        return self.labels / self.hours if self.hours > 0 else math.nan

    @property
    def agreement(self) -> float:
        """Share of their adjudicated samples where the reviewer kept their label."""
        return self.agreed / self.adjudicated if self.adjudicated else math.nan


def annotator_stats(store: Store) -> list[AnnotatorStats]:
    """One row per annotator who labeled or skipped anything, by name."""
    pid = store.project_id
    e = t.label_event.alias("e")
    active_label = sa.and_(e.c.action == "label", not_undone(pid, e))
    totals = (
        sa.select(
            e.c.annotator,
            sa.func.count(sa.case((active_label, e.c.id))),
            sa.func.count(sa.distinct(sa.case((active_label, e.c.sample_id)))),
            sa.func.count(sa.case((e.c.action == "skip", e.c.id))),
            sa.func.coalesce(sa.func.sum(e.c.time_spent_ms), 0),
        )
        .where(e.c.project_id == pid, e.c.action.in_(("label", "skip")))
        .group_by(e.c.annotator)
    )
    with store.read() as conn:
        rows = conn.execute(totals).all()
        medians = dict(conn.execute(_median_query(pid)).all())
        agreement = _adjudicated_pairs(conn, pid)
    out = []
    for name, labels, samples, skips, ms in rows:
        adjudicated, agreed = agreement.get(name, (0, 0))
        median = medians.get(name)
        out.append(
            AnnotatorStats(
                annotator=str(name),
                labels=int(labels),
                samples=int(samples),
                skips=int(skips),
                hours=float(ms) / 3_600_000.0,
                median_s=math.nan if median is None else float(median) / 1000.0,
                adjudicated=adjudicated,
                agreed=agreed,
            )
        )
    return sorted(out, key=lambda s: s.annotator)


def _median_query(pid: int) -> sa.Select:
    """Median ``time_spent_ms`` of each annotator's active labels: the middle row (or the two
    middle rows) of each annotator's times in order, by window functions (SQLite and
    PostgreSQL alike)."""
    e = t.label_event.alias("m")
    ranked = (
        sa.select(
            e.c.annotator,
            e.c.time_spent_ms.label("ms"),
            sa.func.row_number()
            .over(partition_by=e.c.annotator, order_by=e.c.time_spent_ms)
            .label("rn"),
            sa.func.count().over(partition_by=e.c.annotator).label("n"),
        )
        .where(
            e.c.project_id == pid,
            e.c.action == "label",
            e.c.time_spent_ms.is_not(None),
            not_undone(pid, e),
        )
        .subquery()
    )
    # rows rn with n <= 2 rn <= n + 2: the middle one (n odd) or the middle two (n even)
    return (
        sa.select(ranked.c.annotator, sa.func.avg(ranked.c.ms))
        .where(ranked.c.rn * 2 >= ranked.c.n, ranked.c.rn * 2 <= ranked.c.n + 2)
        .group_by(ranked.c.annotator)
    )


def _adjudicated_pairs(conn: sa.Connection, pid: int) -> dict[str, tuple[int, int]]:
    """Per annotator: (adjudicated samples they labeled, of those where their latest active
    label is the adjudicated one). The adjudicator's own labels do not count. Grouped in SQL
    by (annotator, their label, adjudicated label); label sets are compared in Python, once
    per distinct pair (a multi-label answer may list its labels in another order)."""
    e = t.label_event.alias("a")
    st = t.sample_state
    latest = (
        sa.select(e.c.annotator, e.c.sample_id, sa.func.max(e.c.id).label("event_id"))
        .select_from(
            e.join(st, sa.and_(st.c.sample_id == e.c.sample_id, st.c.adjudicated.is_(sa.true())))
        )
        .where(e.c.project_id == pid, e.c.action == "label", not_undone(pid, e))
        .group_by(e.c.annotator, e.c.sample_id)
        .subquery()
    )
    given = t.label_event.alias("g")
    pairs = (
        sa.select(latest.c.annotator, given.c.labels, st.c.labels, sa.func.count())
        .select_from(
            latest.join(given, given.c.id == latest.c.event_id).join(
                st, st.c.sample_id == latest.c.sample_id
            )
        )
        .where(st.c.annotator != latest.c.annotator)  # the adjudicator agrees with themself
        .group_by(latest.c.annotator, given.c.labels, st.c.labels)
    )
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for name, theirs, final, n in conn.execute(pairs):
        counts = out[str(name)]
        counts[0] += int(n)
        if set(loads_labels(theirs) or ()) == set(loads_labels(final) or ()):
            counts[1] += int(n)
    return {name: (c[0], c[1]) for name, c in out.items()}


@dataclass(frozen=True)
class DisputedSample:
    sample_id: int
    external_id: str
    preview: str  # the start of the text (text projects), else the file or ""
    labels: tuple[str, ...]  # the current (latest) label


def disputed_samples(store: Store, limit: int = 500) -> tuple[list[DisputedSample], int]:
    """Samples whose annotators disagree and that no reviewer adjudicated yet, oldest first
    (at most ``limit``), and how many there are in all."""
    st, s = t.sample_state, t.sample
    where = (
        st.c.project_id == store.project_id,
        st.c.disagreement.is_(sa.true()),
        st.c.adjudicated.is_(sa.false()),
    )
    query = (
        sa.select(
            st.c.sample_id,
            s.c.external_id,
            sa.func.substr(s.c.text, 1, PREVIEW_CHARS),
            s.c.file_ref,
            st.c.labels,
        )
        .select_from(st.join(s, s.c.id == st.c.sample_id))
        .where(*where)
        .order_by(st.c.sample_id)
        .limit(limit)
    )
    with store.read() as conn:
        rows = conn.execute(query).all()
        total = conn.execute(sa.select(sa.func.count()).select_from(st).where(*where)).scalar_one()
    out = [
        DisputedSample(
            sample_id=int(sid),
            external_id=str(ext),
            preview=" ".join((text or file_ref or "").split()),
            labels=loads_labels(labels) or (),
        )
        for sid, ext, text, file_ref, labels in rows
    ]
    return out, int(total)
