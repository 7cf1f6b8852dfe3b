"""Review mode's queries, gathered under one name. They live in modules named for what they
hold: :mod:`~labeler.store.review_table` (the table's ids and rows),
:mod:`~labeler.store.review_suspects` (suspected label errors),
:mod:`~labeler.store.review_audit` (the audit queue), :mod:`~labeler.store.review_stats`
(statistics aggregated in SQL) and :mod:`~labeler.store.recent_labels`."""

from __future__ import annotations

from labeler.store.recent_labels import labels_since
from labeler.store.review_audit import AuditRow, audit_queue
from labeler.store.review_suspects import SuspectRow, replace_suspects, suspects
from labeler.store.review_table import (
    SNIPPET_CHARS,
    SORT_KEYS,
    ReviewFilter,
    ReviewRow,
    annotators,
    first_page,
    review_count,
    review_ids,
    review_rows,
)

__all__ = [
    "SNIPPET_CHARS",
    "SORT_KEYS",
    "AuditRow",
    "ReviewFilter",
    "ReviewRow",
    "SuspectRow",
    "annotators",
    "audit_queue",
    "first_page",
    "labels_since",
    "replace_suspects",
    "review_count",
    "review_ids",
    "review_rows",
    "suspects",
]
