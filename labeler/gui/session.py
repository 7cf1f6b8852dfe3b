"""The annotation session as plain state (no Qt, no I/O): what is shown, what comes next,
what this session did. The Qt controller drives it; tests can drive it directly.

Invariants:

* ``current`` never changes behind the annotator's back: swapping in a re-ranked queue only
  replaces ``upcoming``.
* A sample this session labeled or skipped is never offered again by a stale batch
  (``done_ids``), nor is a sample already shown or waiting (``known_ids``).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from labeler.store.models import Prediction, RunRecord
from labeler.store.records import Provenance, Sample

RECENT = 100  # done items kept for undo


@dataclass(frozen=True)
class Item:
    """A sample ready to show: its payload, why it was queued and the model's suggestion."""

    sample: Sample
    provenance: Provenance  # strategy, score and model version that put it in front of us
    rank: int | None = None  # position in the ranked queue; None when shown in import order
    prediction: Prediction | None = None

    @property
    def sample_id(self) -> int:
        return self.sample.id


@dataclass(frozen=True)
class Counts:
    """Project progress: labeled / total and labeled per class."""

    total: int
    labeled: int
    per_class: dict[str, int]


@dataclass(frozen=True)
class ModelStatus:
    """What the annotator sees of the model: version, CV score and how far behind it is."""

    version: int | None
    score_name: str | None
    score: float | None
    trained_on: int  # labels the current model was trained with
    last_error: str | None = None  # latest failed run, if newer than the current model
    trained_by: str | None = None  # who trained the current model (team mode: any member)
    run_id: int = 0  # the newest run in the store when this was read (ok or failed)
    model: str | None = None  # catalog name, e.g. "logreg"
    chosen: dict[str, object] = field(default_factory=dict)  # parameters the retrain selected
    brier: float | None = None  # out-of-fold Brier score of the (calibrated) probabilities
    temperature: float | None = None  # calibration temperature, when one was applied

    def staleness(self, labeled_now: int) -> int:
        return max(0, labeled_now - self.trained_on) if self.version is not None else labeled_now


SCORE_KEYS = ("macro_f1", "accuracy")  # cross-validated, as the engine records them


def model_status(latest_ok: RunRecord | None, latest: RunRecord | None) -> ModelStatus:
    """Summarise the run log for the status panel."""
    error = None
    if (
        latest is not None
        and latest.status != "ok"
        and (latest_ok is None or latest.id > latest_ok.id)
    ):
        error = latest.error or "retraining failed"
    run_id = latest.id if latest is not None else 0
    if latest_ok is None:
        return ModelStatus(None, None, None, 0, error, run_id=run_id)
    name, score = None, None
    for key in SCORE_KEYS:
        value = latest_ok.metrics.get(key)
        if isinstance(value, int | float):
            name, score = key, float(value)
            break
    trainer = latest_ok.params.get("trainer")
    calibration = latest_ok.metrics.get("calibration") or {}
    brier = latest_ok.metrics.get("brier")
    return ModelStatus(
        latest_ok.model_version,
        name,
        score,
        latest_ok.label_count,
        error,
        trained_by=str(trainer) if trainer else None,
        run_id=run_id,
        model=latest_ok.params.get("model"),
        chosen=dict(latest_ok.params.get("chosen") or {}),
        brier=float(brier) if isinstance(brier, int | float) else None,
        temperature=calibration.get("temperature")
        if calibration.get("method") == "temperature"
        else None,
    )


@dataclass
class SessionStats:
    """This session's pace: labels given and labels per minute."""

    started: float = field(default_factory=time.monotonic)
    labels: int = 0
    skips: int = 0

    def labels_per_minute(self, now: float | None = None) -> float:
        elapsed = (now if now is not None else time.monotonic()) - self.started
        return 60.0 * self.labels / elapsed if elapsed > 1.0 else 0.0


class AnnotationSession:
    """The sample on screen, the prefetched samples after it, and the session's history."""

    def __init__(self, counts: Counts) -> None:
        self.current: Item | None = None
        self.upcoming: deque[Item] = deque()
        self.done_ids: set[int] = set()  # labeled or skipped in this session
        self._recent: OrderedDict[int, Item] = OrderedDict()  # done items, newest last
        # this session's decisions the store confirmed and that are not undone (action,
        # sample id), newest last: what an undo will most likely revert
        self._decisions: list[tuple[str, int]] = []
        self.counts = counts
        self.stats = SessionStats()
        self.shown_at = time.monotonic()
        self.exhausted = False  # the last fetch found nothing new
        self.held_elsewhere = 0  # with exhausted: colleagues hold samples that may come back
        self.in_flight: Item | None = None  # the sample whose label is being saved

    # -- the queue -------------------------------------------------------------------------

    def known_ids(self) -> set[int]:
        """Ids a fetch must not return: on screen, waiting, or done this session."""
        ids = {i.sample_id for i in self.upcoming} | self.done_ids
        if self.current is not None:
            ids.add(self.current.sample_id)
        return ids

    def extend(self, items: Iterable[Item]) -> int:
        """Append fetched items that are new. Returns how many were added."""
        known = self.known_ids()
        added = 0
        for item in items:
            if item.sample_id not in known:
                self.upcoming.append(item)
                known.add(item.sample_id)
                added += 1
        return added

    def put_first(self, items: Iterable[Item]) -> int:
        """Put ``items`` next (after the sample on screen), in order, ahead of the queue; ones
        on screen or done are left out. Returns how many are now first."""
        first = [
            i
            for i in items
            if i.sample_id not in self.done_ids
            and (self.current is None or i.sample_id != self.current.sample_id)
        ]
        ids = {i.sample_id for i in first}
        self.upcoming = deque([*first, *(i for i in self.upcoming if i.sample_id not in ids)])
        return len(first)

    def replace_upcoming(self, items: Sequence[Item]) -> None:
        """Swap in a re-ranked queue at once; the current sample stays where it is, and
        samples the annotator searched for (provenance "search") stay first."""
        excluded = set(self.done_ids)
        if self.current is not None:
            excluded.add(self.current.sample_id)
        fresh: deque[Item] = deque(i for i in self.upcoming if i.provenance.strategy == "search")
        seen: set[int] = {i.sample_id for i in fresh}
        for item in items:
            if item.sample_id not in excluded and item.sample_id not in seen:
                fresh.append(item)
                seen.add(item.sample_id)
        self.upcoming = fresh
        self.exhausted = False

    def needs_refill(self, low_water: int) -> bool:
        return not self.exhausted and len(self.upcoming) < low_water

    def advance(self) -> Item | None:
        """Show the next waiting sample (None when the queue is empty)."""
        self.current = self.upcoming.popleft() if self.upcoming else None
        self.shown_at = time.monotonic()
        return self.current

    def show_again(self, item: Item) -> None:
        """Bring back a sample (after undo): the one on screen goes back to the front."""
        rest = [i for i in self.upcoming if i.sample_id != item.sample_id]
        cur = self.current
        if cur is not None and cur.sample_id != item.sample_id:
            rest = [cur, *(i for i in rest if i.sample_id != cur.sample_id)]
        self.upcoming = deque(rest)
        self.done_ids.discard(item.sample_id)
        self.current = item
        self.shown_at = time.monotonic()

    def take_back(self, item: Item, previous: Item | None) -> None:
        """Reverse :meth:`show_again` (an undo shown before the store answered, which then
        reverted nothing or another sample): ``item`` is done again and ``previous`` shown,
        or, with nothing before it, the next waiting sample. If the screen moved on
        meanwhile (a revisit from the history), what it shows now stays."""
        self.done_ids.add(item.sample_id)
        self.upcoming = deque(i for i in self.upcoming if i.sample_id != item.sample_id)
        if self.current is None or self.current.sample_id != item.sample_id:
            return
        if previous is not None:
            self.upcoming = deque(i for i in self.upcoming if i.sample_id != previous.sample_id)
            self.current = previous
        else:
            self.current = self.upcoming.popleft() if self.upcoming else None
        self.shown_at = time.monotonic()

    def decided(self, action: str, sample_id: int) -> None:
        """The store confirmed this session's ``action`` on ``sample_id`` (or redid it)."""
        self._decisions = [d for d in self._decisions if d[1] != sample_id]
        self._decisions.append((action, sample_id))
        del self._decisions[:-RECENT]

    def forget_decisions(self) -> None:
        """The store had nothing of this session's to undo: the list is stale."""
        self._decisions.clear()

    def undone(self, sample_id: int) -> None:
        """A decision on ``sample_id`` was undone."""
        for i in range(len(self._decisions) - 1, -1, -1):
            if self._decisions[i][1] == sample_id:
                del self._decisions[i]
                return

    def undo_guess(self) -> Item | None:
        """The sample an undo will most likely show again: this session's latest label or
        skip, if its item is still at hand (None after a flag, or with no decision yet)."""
        if not self._decisions:
            return None
        action, sample_id = self._decisions[-1]
        return self._recent.get(sample_id) if action in ("label", "skip") else None

    def elapsed_ms(self) -> int:
        return int(1000 * (time.monotonic() - self.shown_at))

    # -- bookkeeping -----------------------------------------------------------------------

    def recent_items(self) -> dict[int, Item]:
        """The last :data:`RECENT` items labeled or skipped, by sample id (an undo shows one
        of them again without reading it back from the store)."""
        return dict(self._recent)

    def _remember(self, sample_id: int, item: Item | None = None) -> None:
        if item is None and self.current is not None and self.current.sample_id == sample_id:
            item = self.current
        if item is not None:
            self._recent[sample_id] = item
            self._recent.move_to_end(sample_id)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)

    def sending(self, item: Item) -> None:
        """``item``'s label (or skip) is on its way to the store while the next sample shows:
        no fetch may hand it out again meanwhile, and its claim is kept (:meth:`show_again`
        brings it back if not saved)."""
        self.done_ids.add(item.sample_id)
        self.in_flight = item

    def record_label(self, sample_id: int, labels: Sequence[str], item: Item | None = None) -> None:
        """A label was saved; ``item``: the sample labeled, when no longer on screen."""
        self.in_flight = None
        self._remember(sample_id, item)
        self.done_ids.add(sample_id)
        self.stats.labels += 1
        self._count(labels, +1)

    def record_skip(self, sample_id: int, item: Item | None = None) -> None:
        """A skip was saved; ``item``: the sample skipped, when no longer on screen."""
        self.in_flight = None
        self._remember(sample_id, item)
        self.done_ids.add(sample_id)
        self.stats.skips += 1

    def record_undo(self, action: str, counts: Counts) -> None:
        """An event of this session was undone; ``counts`` are fresh from the store."""
        if action == "label":
            self.stats.labels = max(0, self.stats.labels - 1)
        elif action == "skip":
            self.stats.skips = max(0, self.stats.skips - 1)
        self.counts = counts

    def _count(self, labels: Sequence[str], delta: int) -> None:
        per_class = dict(self.counts.per_class)
        for name in labels:
            per_class[name] = max(0, per_class.get(name, 0) + delta)
        self.counts = Counts(self.counts.total, max(0, self.counts.labeled + delta), per_class)
