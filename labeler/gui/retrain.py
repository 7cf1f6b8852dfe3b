"""Background retraining for the GUI: the engine's ``RetrainScheduler`` with its callbacks
(which arrive on a background thread) turned into Qt signals delivered on the GUI thread.

The scheduler fits in a worker process and coalesces requests (labels arriving during a
retrain schedule exactly one more); the GUI never fits anything itself.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from labeler.app_settings import ProjectSettings
from labeler.learning.retrain_phases import RetrainProgress, progress_of
from labeler.store import ProjectLocation

log = logging.getLogger(__name__)


class RetrainBridge(QObject):
    """Owns one ``RetrainScheduler``; ``started``, ``progress(RetrainProgress)``,
    ``finished(result)`` and, after a retrain's MLflow tracking and drift checks in the
    worker, ``followedUp(after)`` fire on the GUI thread, in the order the scheduler reported
    them.

    Each retrain is ``started``, any number of ``progress``, then ``finished``; a retrain
    deferred to a colleague is a ``finished`` alone. Whether a retrain is running is read
    from these events, never from the scheduler's flag: the scheduler reports a result
    before it clears that flag, so the flag read in a ``finished`` handler may still say
    "running" when nothing runs.
    """

    started = Signal()
    progress = Signal(object)  # labeler.learning.retrain_phases.RetrainProgress
    finished = Signal(object)  # RetrainResult(ok, run, error, label_count)
    followedUp = Signal(object)  # AfterRun: the run's MLflow tracking and drift checks
    _result = Signal(object)
    _began = Signal()
    _after = Signal(object)
    _progressed = Signal(object)

    def __init__(
        self,
        location: ProjectLocation,
        settings: Any,
        parent: QObject | None = None,
        *,
        scheduler_cls: Any = None,
        synchronous: bool = False,
    ) -> None:
        super().__init__(parent)
        if scheduler_cls is None:
            from labeler.learning.jobs import RetrainScheduler as scheduler_cls
        self._result.connect(self._deliver_result, Qt.ConnectionType.QueuedConnection)
        self._began.connect(self._deliver_started, Qt.ConnectionType.QueuedConnection)
        self._after.connect(self._deliver_after, Qt.ConnectionType.QueuedConnection)
        self._progressed.connect(self._deliver_progress, Qt.ConnectionType.QueuedConnection)
        self.running = False  # between a delivered ``started`` and its ``finished``
        self._closed = False
        self._scheduler = scheduler_cls(
            location,
            settings,
            on_result=self._from_worker_result,
            on_started=self._from_worker_started,
            on_after=self._from_worker_after,
            on_progress=self._from_worker_progress,
            synchronous=synchronous,
        )

    @classmethod
    def create(
        cls, location: ProjectLocation, settings: ProjectSettings, parent: QObject | None = None
    ) -> RetrainBridge | None:
        """A bridge over the engine's scheduler, or None when the engine is not installed.

        The scheduler gets no fixed settings: each retrain reads the project's current ones,
        so a change made in the settings dialog applies from the next retrain on.
        """
        try:
            from labeler.learning.jobs import RetrainScheduler
        except ImportError:
            log.warning("labeler.learning.jobs is not available: no background retraining")
            return None
        return cls(location, None, parent, scheduler_cls=RetrainScheduler)

    # called on the scheduler's thread: only emit (queued to the GUI thread)
    def _from_worker_result(self, result: Any) -> None:
        if not self._closed:
            self._result.emit(result)

    def _from_worker_started(self, *args: Any) -> None:
        if not self._closed:
            self._began.emit()

    def _from_worker_after(self, after: Any) -> None:
        if not self._closed:
            self._after.emit(after)

    @Slot(object)
    def _deliver_after(self, after: Any) -> None:
        if not self._closed:
            self.followedUp.emit(after)

    def _from_worker_progress(self, done: int, total: int | None) -> None:
        if not self._closed:
            self._progressed.emit(progress_of(done, total))

    @Slot(object)
    def _deliver_result(self, result: Any) -> None:
        if not self._closed:
            self.running = False
            self.finished.emit(result)

    @Slot()
    def _deliver_started(self) -> None:
        if not self._closed:
            self.running = True
            self.started.emit()

    @Slot(object)
    def _deliver_progress(self, progress: RetrainProgress) -> None:
        if not self._closed and self.running:
            self.progress.emit(progress)

    @property
    def trainer(self) -> str:
        """Who trains (the annotator's name): recorded with each model version."""
        return str(getattr(self._scheduler, "trainer", ""))

    @trainer.setter
    def trainer(self, name: str) -> None:
        self._scheduler.trainer = name

    def request(self) -> None:
        if not self._closed:
            self._scheduler.request()

    @property
    def is_running(self) -> bool:
        """The scheduler's own flag (a retrain running or about to deliver its result);
        the GUI's "retraining" state is :attr:`running`, from the delivered events."""
        return bool(self._scheduler.is_running)

    @property
    def worker_pid(self) -> int | None:
        """Process id of the worker running the current retrain (None when idle)."""
        return getattr(self._scheduler, "worker_pid", None)

    def wait_idle(self, timeout: float | None = None) -> bool:
        return bool(self._scheduler.wait_idle(timeout))

    def close(self) -> None:
        """Stop at once: a retrain in progress is killed, and no result arrives afterwards."""
        self._closed = True
        self._scheduler.close()
