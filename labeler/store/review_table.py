"""Queries behind the review table: the ids of the labeled samples for a filter and sort order,
and display rows for the ids on screen.

The table never loads rows it does not show: :func:`review_ids` returns only sample ids
(filtering and sorting happen in SQL; ``limit`` gives the first page at once, before the full
list), :func:`review_rows` fetches display rows for a page of ids. Joins with predictions and
suspected errors are added only when a filter or the sort order needs them.

Sorting by a column of an optional table (the prediction, the suspected error) runs as two
queries: the samples that have one, then those that do not, by id. This keeps "missing values
last" without sorting on an ``IS NULL`` term, which no index can serve.

Join order is steered for SQLite's planner (PostgreSQL plans both shapes alike): a first page
(``limit``) joins the sort column's table with an inner join, so the planner walks that
table's index in order and stops after ``limit`` rows; the full list joins it as
``LEFT JOIN ... IS NOT NULL``, which keeps sample_state as the outer loop (a sequential scan)
and sorts once, several times faster than a million random index probes. Filters on the
prediction or the suspected error are ``EXISTS`` tests for the same reason: a confidence range
would otherwise tempt the planner into a range scan of the confidence index, a random lookup
per row, before sorting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from labeler.store import schema as t
from labeler.store.records import dumps, loads_labels
from labeler.store.search import SearchQuery, bounded, sample_ids_matching

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
FETCH_CHUNK = 200_000


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
    search: SearchQuery | None = None  # text or id (substring or regex), see store.search

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


# the optional table each sort key lives in (None: sample_state or sample, always present)
_SORT_TABLE: dict[str, sa.Table | None] = {
    "id": None,
    "external_id": None,
    "label": None,
    "annotator": None,
    "updated": None,
    "predicted": t.prediction,
    "confidence": t.prediction,
    "suspect": t.suspected_error,
}


def _on(table: sa.Table, pid: int) -> Any:
    st = t.sample_state
    return sa.and_(table.c.project_id == pid, table.c.sample_id == st.c.sample_id)


def _prediction_terms(flt: ReviewFilter) -> list[Any]:
    p = t.prediction
    terms = []
    if flt.min_confidence is not None:
        terms.append(p.c.confidence >= flt.min_confidence)
    if flt.max_confidence is not None:
        terms.append(p.c.confidence <= flt.max_confidence)
    return terms


def _has_label(store: Store, label: str) -> Any:
    """Whether the sample's label set contains exactly ``label`` (case and every character
    as given). A substring test for the label's stored JSON string (``dumps`` encodes each
    list item as it would alone, so no match is missed) cheaply skips most rows; the
    JSON membership test after it decides."""
    st = t.sample_state
    token = dumps(label)
    if store.engine.dialect.name == "postgresql":
        found = sa.func.strpos(st.c.labels, token) > 0
        return sa.and_(found, sa.cast(st.c.labels, JSONB).contains([label]))
    found = sa.func.instr(st.c.labels, token) > 0
    items = sa.func.json_each(st.c.labels).table_valued("value")
    return sa.and_(found, sa.exists().where(items.c.value == label))


def _conditions(store: Store, flt: ReviewFilter, joined: sa.Table | None = None) -> list[Any]:
    """The WHERE terms of ``flt``. Conditions on prediction or suspected_error are EXISTS
    tests, unless that table is ``joined`` (the sort column's table) and can be tested
    directly: sample_state stays the outer loop, in the order of the sort."""
    st, p, se = t.sample_state, t.prediction, t.suspected_error
    pid = store.project_id
    where: list[Any] = [st.c.project_id == pid, st.c.status == "labeled"]
    if flt.label is not None:
        where.append(_has_label(store, flt.label))
    if flt.search is not None:
        where.append(st.c.sample_id.in_(sample_ids_matching(store, flt.search)))
    if flt.annotator is not None:
        where.append(st.c.annotator == flt.annotator)
    if flt.since is not None:
        where.append(st.c.updated_at >= flt.since)
    if flt.until is not None:
        where.append(st.c.updated_at < flt.until)
    for column, wanted in (
        (st.c.disagreement, flt.disagreement),
        (st.c.flagged, flt.flagged),
        (st.c.adjudicated, flt.adjudicated),
    ):
        if wanted is not None:
            where.append(column.is_(sa.true()) if wanted else column.is_(sa.false()))
    if flt.needs_prediction:
        terms = _prediction_terms(flt)
        if joined is p:
            where.extend(terms)
        else:
            where.append(sa.exists().where(_on(p, pid), *terms))
    if flt.suspected is not None:
        if joined is se:
            where.append(se.c.sample_id.is_not(None) if flt.suspected else se.c.sample_id.is_(None))
        else:
            has = sa.exists().where(_on(se, pid))
            where.append(has if flt.suspected else ~has)
    return where


def _queries(
    store: Store, flt: ReviewFilter, sort: str, descending: bool, limited: bool = False
) -> list[sa.Select]:
    """The id queries whose results, concatenated, are the table in display order
    (``limited``: shaped for a ``LIMIT``, see the module docstring)."""
    st, s, p, se = t.sample_state, t.sample, t.prediction, t.suspected_error
    pid = store.project_id

    def direction(column: Any) -> Any:
        return column.desc() if descending else column.asc()

    def ids(source: Any, where: list[Any]) -> sa.Select:
        return sa.select(st.c.sample_id).select_from(source).where(*where)

    optional = _SORT_TABLE[sort]
    if optional is None:
        where = _conditions(store, flt)
        if sort == "external_id":
            if limited:  # walks the (project_id, external_id) unique index; LIMIT stops early
                query = ids(st.join(s, s.c.id == st.c.sample_id), [*where, s.c.project_id == pid])
            else:
                on = sa.and_(s.c.id == st.c.sample_id, s.c.project_id == pid)
                query = ids(st.outerjoin(s, on), [*where, s.c.id.is_not(None)])
            return [query.order_by(direction(s.c.external_id))]
        key = {
            "id": st.c.sample_id,
            "label": st.c.labels,
            "annotator": st.c.annotator,
            "updated": st.c.updated_at,
        }[sort]
        order = [direction(key)] if sort == "id" else [direction(key), direction(st.c.sample_id)]
        return [ids(st, where).order_by(*order)]

    # sorting by a column of prediction or suspected_error: rows that have one, then the rest
    key = {"predicted": p.c.labels, "confidence": p.c.confidence, "suspect": se.c.score}[sort]
    where = _conditions(store, flt, joined=optional)
    out = []
    # a filter on the sort table's own columns leaves no row without it, or only such rows
    rows_with = not (optional is se and flt.suspected is False)
    rows_without = not (
        (optional is p and flt.needs_prediction) or (optional is se and flt.suspected is True)
    )
    if rows_with:
        if limited:
            present = ids(st.join(optional, _on(optional, pid)), where)
        else:
            has = optional.c.sample_id.is_not(None)
            present = ids(st.outerjoin(optional, _on(optional, pid)), [*where, has])
        out.append(present.order_by(direction(key), direction(optional.c.sample_id)))
    if rows_without:
        missing = optional.c.sample_id.is_(None)
        absent = ids(st.outerjoin(optional, _on(optional, pid)), [*where, missing])
        out.append(absent.order_by(direction(st.c.sample_id)))
    return out


def _fetch_ids(conn: sa.Connection, query: sa.Select) -> np.ndarray:
    """Run an id query, reading the driver's cursor directly: a million ids without
    SQLAlchemy's per-row processing (several times faster)."""
    result = conn.execute(query)
    cursor = result.cursor
    chunks = []
    try:
        while rows := cursor.fetchmany(FETCH_CHUNK):
            ids = chain.from_iterable(rows)
            chunks.append(np.fromiter(ids, dtype=np.int64, count=len(rows)))
    finally:
        result.close()
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)


def review_ids(
    store: Store,
    flt: ReviewFilter | None = None,
    sort: str = "id",
    descending: bool = False,
    limit: int | None = None,
) -> np.ndarray:
    """Ids of the labeled samples matching ``flt`` in display order (an int64 array); the
    first ``limit`` of them when given."""
    if sort not in SORT_KEYS:
        raise ValueError(f"unknown sort key {sort!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    parts: list[np.ndarray] = []
    got = 0
    flt = flt or ReviewFilter()
    with store.read() as conn, bounded(conn, flt.search):
        for query in _queries(store, flt, sort, descending, limit is not None):
            if limit is not None:
                if got >= limit:
                    break
                query = query.limit(limit - got)
            ids = _fetch_ids(conn, query)
            parts.append(ids)
            got += len(ids)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def review_count(store: Store, flt: ReviewFilter | None = None) -> int:
    """How many labeled samples match ``flt``."""
    flt = flt or ReviewFilter()
    st = t.sample_state
    query = sa.select(sa.func.count()).select_from(st).where(*_conditions(store, flt))
    with store.read() as conn, bounded(conn, flt.search):
        return int(conn.execute(query).scalar_one())


def review_rows(store: Store, sample_ids: Sequence[int]) -> dict[int, ReviewRow]:
    """Display rows for a page of sample ids (any order; unknown ids left out)."""
    st, s, p, se = t.sample_state, t.sample, t.prediction, t.suspected_error
    pid = store.project_id
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
                    .outerjoin(p, _on(p, pid))
                    .outerjoin(se, _on(se, pid))
                )
                .where(st.c.project_id == pid, st.c.sample_id.in_(ids[start : start + 500]))
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


def first_page(
    store: Store,
    flt: ReviewFilter | None = None,
    sort: str = "id",
    descending: bool = False,
    size: int = 200,
) -> tuple[np.ndarray, dict[int, ReviewRow]]:
    """The first ``size`` ids of the table and their display rows: what the table shows
    while the full id list is still being read."""
    ids = review_ids(store, flt, sort, descending, limit=size)
    return ids, review_rows(store, ids)


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
