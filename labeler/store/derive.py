"""Pure derivation of a sample's current state from its append-only label events.

Rules (applied to one sample's events in id order):

* ``undo`` and ``redo`` events cancel their target event, unless they are themselves
  cancelled (a redo is an undo of an undo). Scanning newest-first resolves chains.
* Among the remaining events, the latest ``adjudicate`` decides the labels; without one, the
  latest ``label`` event (any annotator) does. ``n_annotators`` counts annotators with an
  active label; ``disagreement`` is set when their latest labels differ.
* With no labels, the status is ``skipped`` if the latest active event is a skip.
* ``flagged`` is set while an active ``flag`` event exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

REVERTING = frozenset({"undo", "redo"})
ACTIONS = frozenset({"label", "skip", "flag", "undo", "redo", "adjudicate"})


@dataclass(frozen=True)
class EventView:
    """The fields of a label event that derivation needs."""

    id: int
    action: str
    annotator: str
    labels: tuple[str, ...] | None
    target_event_id: int | None = None


@dataclass(frozen=True)
class SampleState:
    status: str  # labeled | skipped | unlabeled
    labels: tuple[str, ...] | None
    annotator: str | None
    event_id: int | None
    n_annotators: int
    disagreement: bool
    adjudicated: bool
    flagged: bool


def cancelled_ids(events: Sequence[EventView]) -> set[int]:
    """Ids of events reverted by an active undo/redo."""
    cancelled: set[int] = set()
    for ev in sorted(events, key=lambda e: e.id, reverse=True):
        if ev.action in REVERTING and ev.id not in cancelled and ev.target_event_id is not None:
            cancelled.add(ev.target_event_id)
    return cancelled


def derive_state(events: Sequence[EventView]) -> SampleState:
    cancelled = cancelled_ids(events)
    active = [e for e in sorted(events, key=lambda e: e.id) if e.id not in cancelled]
    per_annotator: dict[str, tuple[str, ...]] = {}
    latest_label: EventView | None = None
    latest_adjudication: EventView | None = None
    latest_any: EventView | None = None
    flagged = False
    for ev in active:
        if ev.action in REVERTING:
            continue
        if ev.action != "flag":
            latest_any = ev  # flags annotate a sample; they do not change its status
        if ev.action == "label":
            per_annotator[ev.annotator] = ev.labels or ()
            latest_label = ev
        elif ev.action == "adjudicate":
            latest_adjudication = ev
        elif ev.action == "flag":
            flagged = True
    decisive = latest_adjudication or latest_label
    distinct = {tuple(sorted(v)) for v in per_annotator.values()}
    if decisive is not None:
        status = "labeled"
    elif latest_any is not None and latest_any.action == "skip":
        status = "skipped"
    else:
        status = "unlabeled"
    return SampleState(
        status=status,
        labels=decisive.labels if decisive else None,
        annotator=decisive.annotator if decisive else None,
        event_id=decisive.id if decisive else None,
        n_annotators=len(per_annotator),
        disagreement=len(distinct) > 1,
        adjudicated=latest_adjudication is not None,
        flagged=flagged,
    )
