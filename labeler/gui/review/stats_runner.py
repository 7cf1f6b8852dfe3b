"""Runs the review statistics job (:mod:`labeler.review.stats_job`) in a worker process and
reports back on the GUI thread.

At a million rows the statistics still do seconds of Python work (building the probability
matrix, confident learning, plots); in a thread that would hold the interpreter lock and stall
the table, so the job runs in its own process. A thread of a :class:`TaskRunner` waits for it
and relays its progress (sent through a queue the process gets when it starts); ``shutdown``
sets an event the job checks between stages, so closing the view does not wait for a whole
computation, and terminates a worker still starting up (the job only reads the project).
"""

from __future__ import annotations

import contextlib
import queue
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from PySide6.QtCore import QObject, Signal

from labeler.errors import Cancelled
from labeler.gui.tasks import TaskRunner
from labeler.review.stats_job import ReviewStats, init_worker, review_stats_in_worker
from labeler.store import ProjectLocation


class StatsRunner(QObject):
    progress = Signal(int, int, str)  # stages done, stages in all, the stage running
    loaded = Signal(object)  # ReviewStats
    failed = Signal(object)  # BaseException (not emitted once shut down)

    def __init__(self, jobs: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._pools: list[ProcessPoolExecutor] = []  # at most one; a list for cleanup
        self._channel: tuple[Any, Any] | None = None  # (progress queue, cancel event)
        self._ticket = 0
        self._closed = False

    def start(self, location: ProjectLocation) -> None:
        """Compute the statistics of the project at ``location`` (opened in the worker)."""
        if self._closed:
            return
        if not self._pools:
            ctx = get_context("spawn")
            self._channel = (ctx.Queue(), ctx.Event())
            self._pools.append(
                ProcessPoolExecutor(
                    max_workers=1, mp_context=ctx, initializer=init_worker, initargs=self._channel
                )
            )
        assert self._channel is not None
        self._ticket += 1
        ticket, pool, progress = self._ticket, self._pools[0], self._channel[0]
        self.progress.emit(0, 1, "starting")

        def wait() -> ReviewStats:
            # submitting starts the process (a spawn takes a moment): not on the GUI thread
            future = pool.submit(review_stats_in_worker, location, ticket)
            while not future.done():
                if self._closed:  # a terminated worker's future may never be resolved
                    raise Cancelled()
                _relay(progress, ticket, self.progress, future)
            _relay(progress, ticket, self.progress, None)
            return future.result()

        def failed(exc: BaseException) -> None:
            if not self._closed:
                self.failed.emit(exc)

        self._jobs.submit(wait, on_done=self.loaded.emit, on_error=failed)

    def shutdown(self) -> None:
        """Ask a running job to stop at its next stage and wait for the process to end."""
        self._closed = True
        if self._channel is not None:
            self._channel[1].set()
        stop_pools(self._pools)


STOP_GRACE_S = 0.5  # a job past its imports notices the cancel event within this time


def stop_pools(pools: list[ProcessPoolExecutor], grace_s: float = STOP_GRACE_S) -> None:
    """Stop the worker processes. The job only reads the project, so a worker that does not
    end within ``grace_s`` of being asked (it is still starting: a spawn imports pandas,
    scikit-learn and matplotlib, seconds of CPU) is terminated instead of waited for."""
    while pools:
        pool = pools.pop()
        # the executor's processes: Python 3.11 has no public way to stop a starting worker
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for process in processes:
            process.join(grace_s)
            if process.is_alive():
                process.terminate()
                process.join()
        pool.shutdown(wait=True, cancel_futures=True)


def _relay(progress: Any, ticket: int, signal: Any, future: Future[Any] | None) -> None:
    """Pass the worker's progress for ``ticket`` on to ``signal``: wait up to 0.1 s for one
    message while ``future`` runs, or drain what is left when it is None."""
    while True:
        try:
            message = progress.get(timeout=0.1) if future is not None else progress.get_nowait()
        except (queue.Empty, OSError, ValueError):
            return
        if message[0] == ticket:
            with contextlib.suppress(RuntimeError):  # the receiver is gone
                signal.emit(*message[1:])
        if future is not None:
            return
