"""What one annotator is handed next: the queue fetch's choice of samples.

In order: overlap samples a colleague labeled that still need this annotator's label
(:mod:`labeler.store.overlap`), then the ranked queue, then (no queue, or it ran dry)
unlabeled samples in import order, skipped ones last. The caller claims what it shows
(:class:`~labeler.store.claims.Claims`), which applies the same rules under its lock.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
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
    # Several reads: a team annotator's call comes through :func:`outlook`, which makes them
    # one snapshot, so a colleague's label between them (moving a sample from the unlabeled
    # side to the overlap side) cannot hide it from both. Without an annotator there is no
    # overlap side, and the queue or the unlabeled ids are one read each.
    limit = n + len(skip)
    ranked: list[Candidate] = [
        (e.sample_id, Provenance(e.model_version, e.strategy, e.score), e.rank)
        for e in store.models.queue(limit=limit)
        if e.sample_id not in skip
    ]
    if not ranked:
        ranked = [
            (sid, Provenance(), None)
            for sid in store.labels.unlabeled_ids(limit=limit)
            if sid not in skip
        ]
    chosen: list[Candidate] = []
    if annotator is not None:
        with store.read() as conn:
            overlap = read_settings(conn, store.project_id)
            pending = pending_ids(conn, store.project_id, overlap, annotator, limit)
        chosen = [
            (s, Provenance(strategy=OVERLAP_STRATEGY), None) for s in pending if s not in skip
        ]
    taken = {sid for sid, _, _ in chosen}
    return (chosen + [c for c in ranked if c[0] not in taken])[:n]


@dataclass(frozen=True)
class Outlook:
    """What a team annotator can be given now, and what colleagues hold that may still come
    to them (handed back unlabeled, or an overlap sample needing their label after the
    holder's). Nothing chosen and nothing held means truly nothing left."""

    chosen: list[Candidate]
    held_elsewhere: int


def outlook(
    store: Store, n: int, skip: Collection[int], annotator: str, session: str | None
) -> Outlook:
    """:func:`candidates` for ``annotator`` without what colleagues hold, and (when there are
    none) how many samples they hold for later, all read in one snapshot: a colleague's label
    or release between separate reads could otherwise make work look finished."""
    with store.snapshot():
        held = store.claims.held_by_others(annotator, session)
        chosen = candidates(store, n, set(skip) | held, annotator)
        later = 0 if chosen else store.claims.held_for_later(annotator, session)
    return Outlook(chosen, later)
