"""Which labels a sample is exported with when several annotators labeled it.

* ``latest``: the project's current label: an adjudication if there is one, else the most
  recent label event of any annotator.
* ``adjudicated``: only labels nobody disputes: adjudicated samples, and samples whose
  annotators all agree. Samples with an unresolved disagreement are left out (and counted),
  and so are overlap samples still waiting for some of their k annotators
  (:mod:`labeler.store.overlap`): their agreement is not known yet.
* ``majority``: an adjudication if there is one, else the label set most annotators gave;
  a tie goes to the label set given most recently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

POLICIES = ("latest", "adjudicated", "majority")


def needs_annotator_labels(policy: str) -> bool:
    return policy == "majority"


def choose(
    policy: str,
    *,
    current: tuple[str, ...],
    adjudicated: bool,
    disagreement: bool,
    per_annotator: Sequence[tuple[str, tuple[str, ...]]] = (),
    awaiting: bool = False,
) -> tuple[str, ...] | None:
    """The labels to export under ``policy``, or None to leave the sample out. ``awaiting``:
    an overlap sample that fewer than its k annotators labeled so far."""
    if policy == "latest" or adjudicated:
        return current
    if policy == "adjudicated":
        return None if disagreement or awaiting else current
    if policy == "majority":
        if not per_annotator:
            return current
        sets = [tuple(sorted(labels)) for _, labels in per_annotator]
        counts = Counter(sets)
        best = max(counts.values())
        # latest first among the tied label sets (per_annotator is oldest first)
        for labels in reversed(sets):
            if counts[labels] == best:
                original = {tuple(sorted(lab)): lab for _, lab in per_annotator}
                return original[labels]
    raise ValueError(f"unknown label policy {policy!r}")
