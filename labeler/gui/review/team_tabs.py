"""The review screen's team tabs: the adjudication queue and the per-annotator statistics.

:class:`TeamTabs` is an object the review view owns: it adds the two tabs, loads their data
on the view's job worker (SQL aggregates over every label event, see
:mod:`labeler.review.adjudication`: they never hold up the table's page queries) and records
the reviewer's adjudications on the view's database worker, in order with the other edits.
The view tells it when to reload (:meth:`TeamTabs.start`, :meth:`TeamTabs.reload`) and
hears back through its signals. Loads coalesce (a reload asked for during one runs once
after it), and an adjudication still being recorded never reappears from a load that read
the queue before it was committed.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QTabWidget

from labeler.gui.review.adjudication_panel import AdjudicationPanel
from labeler.gui.review.annotator_stats_panel import AnnotatorStatsPanel
from labeler.gui.tasks import TaskRunner
from labeler.review.adjudication import (
    AdjudicationQueue,
    TeamStats,
    adjudication_queue,
    team_stats,
)
from labeler.store import Store


class TeamTabs(QObject):
    adjudicated = Signal(int, str)  # sample id, what was done ("adjudicated as ...")
    sampleActivated = Signal(int)
    failed = Signal(str, str)  # title, message
    loaded = Signal()  # both tabs show fresh data

    def __init__(
        self,
        store: Store,
        reads: TaskRunner,
        writes: TaskRunner,
        tabs: QTabWidget,
        reviewer: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._reads = reads
        self._writes = writes
        self._reviewer = reviewer  # asked at each adjudication: the name may change
        info = store.info
        self.adjudication = AdjudicationPanel(
            {lab.shortcut or "": lab.name for lab in info.labels}, info.multi_label
        )
        self.annotators = AnnotatorStatsPanel()
        tabs.addTab(self.adjudication, "Adjudication")
        tabs.addTab(self.annotators, "Annotators")
        self.adjudication.adjudicateRequested.connect(self.adjudicate)
        self.adjudication.sampleActivated.connect(self.sampleActivated)
        self._loading = 0  # loads under way (queue and statistics)
        self._again = False  # a reload was asked for while loading
        self._started = False
        self._in_flight: set[int] = set()  # adjudications not yet recorded
        self._loads = 0  # queue loads submitted so far (each load's number)
        # recorded adjudications -> the number of the first load sure to read them: a load
        # submitted before the commit may have read the queue before it (reads and writes
        # run on different workers), so it must not bring the row back
        self._recorded_before: dict[int, int] = {}

    def start(self, *_: object) -> None:
        """The first load (later calls do nothing)."""
        if not self._started:
            self._started = True
            self.reload()

    def reload(self, *_: object) -> None:
        """Read the adjudication queue and the statistics again (on the job worker)."""
        self._started = True
        if self._loading:
            self._again = True
            return
        self._loading = 2
        self._loads += 1
        number = self._loads
        on_error = self._load_failed
        self._reads.submit(
            adjudication_queue, self._store,
            on_done=lambda queue: self._queue_loaded(queue, number), on_error=on_error,
        )  # fmt: skip
        self._reads.submit(team_stats, self._store, on_done=self._stats_loaded, on_error=on_error)

    def _queue_loaded(self, queue: AdjudicationQueue, number: int) -> None:
        stale = {sid for sid, first in self._recorded_before.items() if number < first}
        self._recorded_before = {
            sid: first for sid, first in self._recorded_before.items() if number < first
        }
        self.adjudication.show_queue(queue, hide=self._in_flight | stale)
        self._one_loaded()

    def _stats_loaded(self, stats: TeamStats) -> None:
        self.annotators.show_stats(stats)
        self._one_loaded()

    def _load_failed(self, exc: BaseException) -> None:
        self.failed.emit("Team review", str(exc))
        self._one_loaded()

    def _one_loaded(self) -> None:
        self._loading -= 1
        if self._loading:
            return
        if self._again:
            self._again = False
            self.reload()
        else:
            self.loaded.emit()

    def adjudicate(self, sample_id: int, labels: list[str]) -> None:
        """Record the reviewer's decision (an ``adjudicate`` event); the view hears of it
        through :attr:`adjudicated` (and then asks for a reload)."""
        self._in_flight.add(sample_id)
        self._writes.submit(
            self._store.labels.adjudicate, sample_id, labels, self._reviewer(),
            on_done=lambda _eid: self._recorded(sample_id, labels),
            on_error=lambda exc: self._adjudication_failed(sample_id, exc),
        )  # fmt: skip

    def _recorded(self, sample_id: int, labels: list[str]) -> None:
        self._in_flight.discard(sample_id)
        self._recorded_before[sample_id] = self._loads + 1
        self.adjudicated.emit(sample_id, f"adjudicated as {', '.join(labels)}")

    def _adjudication_failed(self, sample_id: int, exc: BaseException) -> None:
        self._in_flight.discard(sample_id)
        self.failed.emit("Cannot adjudicate", str(exc))
        self.reload()  # the row comes back: nothing was recorded
