"""The model an annotator sees: this app's retrains and, in a team, every colleague's.

:class:`ModelWatch` is an object the annotate controller owns. It turns this app's retrain
results into status messages and model updates, and :meth:`ModelWatch.poll` (every few
seconds) reads a cheap counter in the store (the newest run's id): when a colleague's app
recorded a new model, the watch loads its status (version, score, who trained it) and asks
for the new ranking (``newRanking``), as after a retrain of our own. Store reads run on the
controller's database worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from labeler.gui import annotation_ops as ops
from labeler.gui.session import ModelStatus
from labeler.gui.tasks import TaskRunner
from labeler.learning.retrain_phases import cannot_fit_yet
from labeler.store import Store


class ModelWatch(QObject):
    modelChanged = Signal(object)  # ModelStatus
    retrainingChanged = Signal(bool)
    retrainProgress = Signal(object)  # RetrainProgress: the running retrain's phase
    newRanking = Signal()  # a new ranking (or seed queue) is in the store
    message = Signal(str)
    failure = Signal(str, str)
    failureResolved = Signal(str)  # a failure shown earlier is over (its one-line text)

    def __init__(
        self,
        runner: TaskRunner,
        store: Store,
        model: ModelStatus,
        classes_labeled: Callable[[], int],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._store: Store | None = store
        self.model = model
        self._classes_labeled = classes_labeled
        self._seen_run = model.run_id
        self._polling = False
        self._failure_shown: str | None = None  # the retrain failure on screen, if any

    def close(self) -> None:
        self._store = None

    @property
    def cold_start(self) -> bool:
        """No model yet and fewer than two classes labeled: retrains cannot fit anything."""
        return self.model.version is None and self._classes_labeled() < 2

    # -- this app's retrains ---------------------------------------------------------------

    def follow(self, retrainer: Any) -> None:
        """Show ``retrainer``'s retrains (a :class:`~labeler.gui.retrain.RetrainBridge`):
        the bar is on from its ``started`` to its ``finished``, with the phase between."""
        retrainer.started.connect(self.retrain_started)
        retrainer.progress.connect(self.retrainProgress)
        retrainer.finished.connect(self.retrain_finished)

    def retrain_started(self) -> None:
        self.retrainingChanged.emit(True)

    def retrain_finished(self, result: Any) -> None:
        """A retrain of this app ended (its result was delivered): the bar goes off; a
        coalesced next retrain turns it on again with its own ``started``."""
        self.retrainingChanged.emit(False)
        if self._store is None:
            return
        deferred = getattr(result, "deferred_to", None)
        if deferred:
            self.message.emit(
                f"{deferred} is retraining this project; their model will be used here"
            )
            return
        ok = bool(getattr(result, "ok", False))
        error = str(getattr(result, "error", None) or "retraining failed")
        # a cold start (no model, too few classes) is expected, also when the second class
        # was labeled while this run was fitting: the engine queued diverse seed samples
        # instead of fitting; say so without raising an alarm
        cold = self.cold_start or (not ok and self.model.version is None and cannot_fit_yet(error))
        if ok:
            self._resolve()
        elif cold:
            self.message.emit(
                f"No model yet: label samples of two classes ({error.splitlines()[0]})"
            )
        else:
            self._resolve()
            self._failure_shown = f"Retraining failed: {error.splitlines()[0]}"
            self.failure.emit(self._failure_shown, error)
        run = getattr(result, "run", None)
        if run is not None:
            self._seen_run = max(self._seen_run, int(run.id))
        self._load()
        if ok or cold:
            self.newRanking.emit()

    # -- colleagues' retrains --------------------------------------------------------------

    def poll(self) -> None:
        if self._store is None or self._polling:
            return
        self._polling = True
        self._runner.submit(
            ops.latest_run_id, self._store, on_done=self._polled, on_error=self._poll_failed
        )

    def _polled(self, run_id: int) -> None:
        self._polling = False
        if run_id <= self._seen_run or self._store is None:
            return
        self._seen_run = run_id
        self._runner.submit(ops.current_model, self._store, on_done=self._colleague_model)

    def _poll_failed(self, exc: BaseException) -> None:
        self._polling = False  # the next poll tries again; the feed reports store errors

    def _colleague_model(self, model: ModelStatus) -> None:
        newer = model.version is not None and model.version != self.model.version
        self._loaded(model)
        if newer:
            who = f" by {model.trained_by}" if model.trained_by else ""
            self.message.emit(f"Model v{model.version} trained{who} is in use")
            self.newRanking.emit()

    # -- status ----------------------------------------------------------------------------

    def _load(self) -> None:
        if self._store is not None:
            self._runner.submit(ops.current_model, self._store, on_done=self._loaded)

    def _resolve(self) -> None:
        """A retrain succeeded (or failed anew): the earlier failure is no longer news."""
        if self._failure_shown is not None:
            self.failureResolved.emit(self._failure_shown)
            self._failure_shown = None

    def _loaded(self, model: ModelStatus) -> None:
        if model.version is not None and model.version != self.model.version:
            self._resolve()  # a colleague's model trained since: our failure is stale
        self.model = model
        self._seen_run = max(self._seen_run, model.run_id)
        self.modelChanged.emit(model)
