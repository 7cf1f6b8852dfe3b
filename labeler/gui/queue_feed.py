"""Keeping the annotate queue fed: prefetching the next samples, refilling when few are left,
and swapping in the new ranking (and model status) after each retrain.

:class:`QueueFeed` is a mixin of :class:`labeler.gui.controller.AnnotationController` (it uses
the controller's session, store, task runner, retrainer and signals); it runs on the GUI
thread, with store reads submitted to the controller's database worker.
"""

from __future__ import annotations

from typing import Any

from labeler.gui import annotation_ops as ops
from labeler.gui.dialogs import describe
from labeler.gui.session import Counts, Item, ModelStatus

PREFETCH = 20  # samples fetched ahead
LOW_WATER = 8  # refill when fewer than this many are waiting


class QueueFeed:
    """The queue and retraining half of the annotate controller (see the module docstring)."""

    # -- the queue -----------------------------------------------------------------------

    def _next(self) -> None:
        assert self.session is not None
        item = self.session.advance()
        self._show(item)  # None: the view says "loading" while ``fetching``, else "done"
        self._refill()

    def _show(self, item: Item | None) -> None:
        self.itemShown.emit(item)

    def _refill(self, force: bool = False) -> None:
        session = self.session
        if session is None or self.store is None or self._fetching:
            return
        if not force and not session.needs_refill(LOW_WATER):
            return
        self._fetching = True
        generation = self._generation
        self.runner.submit(
            ops.fetch_items,
            self.store,
            PREFETCH,
            frozenset(session.known_ids()),
            self.annotator,
            on_done=lambda items: self._fetched(items, generation),
            on_error=self._fetch_failed,
        )

    def _fetched(self, items: list[Item], generation: int) -> None:
        self._fetching = False
        session = self.session
        if session is None:
            return
        if generation == self._generation:
            added = session.extend(items)
            session.exhausted = added == 0
        if session.current is None and (session.upcoming or session.exhausted):
            self._show(session.advance())
        elif session.needs_refill(LOW_WATER):
            self._refill()

    def _fetch_failed(self, exc: BaseException) -> None:
        self._fetching = False
        self.failure.emit(*describe(exc))

    # -- retraining ----------------------------------------------------------------------

    def retrain_now(self) -> bool:
        if self.retrainer is None:
            self.message.emit("Retraining is not available")
            return False
        self._labels_since_retrain = 0
        return self.request_retrain()

    def _retrain_started(self) -> None:
        self.retrainingChanged.emit(True)

    def _retrain_finished(self, result: Any) -> None:
        running = self.retrainer is not None and self.retrainer.is_running
        self.retrainingChanged.emit(running)
        if self.store is None:
            return
        ok = bool(getattr(result, "ok", False))
        cold = self.cold_start
        if not ok:
            error = str(getattr(result, "error", None) or "retraining failed")
            if cold:
                # expected until two classes have labels: the engine queued diverse seed
                # samples instead of fitting; say so without raising an alarm
                self.message.emit(
                    f"No model yet: label samples of two classes ({error.splitlines()[0]})"
                )
            else:
                self.failure.emit(f"Retraining failed: {error.splitlines()[0]}", error)
        self.runner.submit(ops.current_model, self.store, on_done=self._model_loaded)
        if ok or cold:  # a new ranking (or the cold-start seed queue) is in the store
            self._swap_queue()
            self._counts_stale = True  # recounted right after the next commit (see _labeled)

    @property
    def cold_start(self) -> bool:
        """No model yet and fewer than two classes labeled: retrains cannot fit anything."""
        if self.model is not None and self.model.version is not None:
            return False
        counts = self.session.counts.per_class if self.session else {}
        return sum(1 for n in counts.values() if n > 0) < 2

    def _model_loaded(self, model: ModelStatus) -> None:
        self.model = model
        self.modelChanged.emit(model)

    def _swap_queue(self) -> None:
        session = self.session
        if session is None or self.store is None:
            return
        self._generation += 1
        generation = self._generation
        exclude = set(session.done_ids)
        if session.current is not None:
            exclude.add(session.current.sample_id)
        self.runner.submit(
            ops.fetch_items,
            self.store,
            PREFETCH,
            frozenset(exclude),
            self.annotator,
            on_done=lambda items: self._swapped(items, generation),
            on_error=self._fetch_failed,
        )

    def _swapped(self, items: list[Item], generation: int) -> None:
        session = self.session
        if session is None or generation != self._generation:
            return
        session.replace_upcoming(items)
        version = items[0].provenance.model_version if items else None
        self.queueSwapped.emit(version or 0)
        if session.current is None and session.upcoming:
            self._show(session.advance())

    def _counts_loaded(self, counts: Counts) -> None:
        if self.session is not None:
            self.session.counts = counts
            self.progressChanged.emit()

    def reload(self) -> None:
        """Re-read counts and refill the queue (after an import added samples)."""
        if self.store is None or self.session is None:
            return
        self.session.exhausted = False
        self.runner.submit(ops.counts, self.store, on_done=self._counts_loaded)
        self._refill(force=True)
