"""The reviewer's side of overlap: the adjudication queue (samples whose annotators disagree,
with each annotator's label and the majority) and the per-annotator statistics.

Plain functions over a store (no Qt); the review view runs them on its database worker.
Adjudicating records an ``adjudicate`` label event (``store.labels.adjudicate``); the
``adjudicated`` and ``majority`` export policies (:mod:`labeler.export.policy`) use it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from labeler.export.policy import choose
from labeler.store import Store
from labeler.store.export_queries import annotator_labels
from labeler.store.overlap import OverlapProgress, overlap_progress
from labeler.store.review_team import AnnotatorStats, annotator_stats, disputed_samples

QUEUE_SHOWN = 500


@dataclass(frozen=True)
class AdjudicationItem:
    sample_id: int
    external_id: str
    preview: str
    answers: tuple[tuple[str, tuple[str, ...]], ...]  # (annotator, labels), oldest first
    majority: tuple[str, ...]  # what the ``majority`` export would give (ties: latest)
    tie: bool  # no label set was given more often than every other


@dataclass(frozen=True)
class AdjudicationQueue:
    items: list[AdjudicationItem]
    total: int  # disagreements in all (``items`` holds the first QUEUE_SHOWN)


def adjudication_queue(store: Store, limit: int = QUEUE_SHOWN) -> AdjudicationQueue:
    """Unadjudicated samples whose annotators disagree, oldest first."""
    disputed, total = disputed_samples(store, limit)
    answers = annotator_labels(store, [d.sample_id for d in disputed])
    items = []
    for d in disputed:
        given = answers.get(d.sample_id, [])
        majority = choose(
            "majority", current=d.labels, adjudicated=False, disagreement=True, per_annotator=given
        )
        counts = Counter(tuple(sorted(labels)) for _, labels in given).most_common(2)
        tie = len(counts) > 1 and counts[0][1] == counts[1][1]
        items.append(
            AdjudicationItem(
                d.sample_id,
                d.external_id,
                d.preview,
                tuple(given),
                tuple(majority or d.labels),
                tie,
            )
        )
    return AdjudicationQueue(items, total)


@dataclass(frozen=True)
class TeamStats:
    annotators: list[AnnotatorStats]
    overlap: OverlapProgress


def team_stats(store: Store) -> TeamStats:
    """Per-annotator statistics and how far the overlap has come (SQL aggregates)."""
    with store.read() as conn:
        progress = overlap_progress(conn, store.project_id)
    return TeamStats(annotator_stats(store), progress)
