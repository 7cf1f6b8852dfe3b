"""What one annotator is handed next: the queue fetch's choice of samples.

In order: overlap samples a colleague labeled that still need this annotator's label
(:mod:`labeler.store.overlap`), then the ranked queue, then (no queue, or it ran dry)
unlabeled samples in import order, skipped ones last. The caller claims what it shows
(:class:`~labeler.store.claims.Claims`), which applies the same rules under its lock.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from labeler.store.overlap import pending_ids, read_settings
from labeler.store.records import Provenance

if TYPE_CHECKING:
    from labeler.store.project_store import Store

Candidate = tuple[int, Provenance, int | None]  # sample id, why it is shown, queue rank
OVERLAP_STRATEGY = "overlap"


def candidates(
    store: Store, n: int, skip: Collection[int] = (), annotator: str | None = None
) -> list[Candidate]:
    """Up to ``n`` samples for ``annotator`` (None: anyone; no overlap samples then), best
    first, leaving out ``skip``."""
    if n <= 0:
        return []
    chosen: list[Candidate] = []
    if annotator is not None:
        with store.read() as conn:
            overlap = read_settings(conn, store.project_id)
            pending = pending_ids(conn, store.project_id, overlap, annotator, n + len(skip))
        chosen = [
            (s, Provenance(strategy=OVERLAP_STRATEGY), None) for s in pending if s not in skip
        ]
    if len(chosen) >= n:
        return chosen[:n]
    want = n - len(chosen)
    entries = [e for e in store.models.queue(limit=want + len(skip)) if e.sample_id not in skip]
    ranked: list[Candidate] = [
        (e.sample_id, Provenance(e.model_version, e.strategy, e.score), e.rank) for e in entries
    ]
    if not ranked:
        ranked = [
            (sid, Provenance(), None)
            for sid in store.labels.unlabeled_ids(limit=want + len(skip))
            if sid not in skip
        ]
    return (chosen + ranked)[:n]
