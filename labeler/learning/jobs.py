"""Background retraining: one retrain at a time, coalesced, in a worker process.

:class:`RetrainScheduler` owns one background thread and (unless ``synchronous``) one worker
process (:class:`labeler.learning.worker.WorkerProcess`, started with ``spawn``). Fitting holds
the GIL for long stretches; in the worker process it cannot stall the caller's (GUI) thread.
The worker ends itself when this process dies, even mid-fit (see ``labeler.learning.worker``).

* :meth:`RetrainScheduler.request` never blocks. While a retrain runs, any number of requests
  schedule exactly one more retrain, which starts when the current one ends (and then sees
  every label given meanwhile).
* ``on_started`` and ``on_result`` are called from the background thread (a GUI forwards them
  through queued signals). ``on_started`` fires when the worker has begun the retrain.
* After a retrain's result is delivered (and :attr:`is_running` is False again), the worker
  tracks the run in MLflow and checks unchecked import batches for drift
  (:func:`labeler.learning.after_run.after_retrain`); ``on_after`` gets its
  :class:`~labeler.learning.after_run.AfterRun` (warnings included). A request meanwhile
  starts its retrain right after; :meth:`wait_idle` waits for this follow-up too.
* A failed retrain (one class, NaN, an estimator error, the worker process killed) arrives as
  ``RetrainResult(ok=False, error=...)``; the failed run is recorded and the previous model and
  queue stay in use. After a crash the next request starts a new worker process.
* One trainer per project (team mode): each retrain first takes the project's trainer lock
  (:class:`labeler.store.train_lease.TrainLease`; freed by the OS or the server if this
  process dies). When a colleague's app holds it, the request is noted in the database for them (their app runs one
  more retrain when theirs ends) and ``RetrainResult(deferred_to=<holder>)`` is delivered at
  once: the colleague's model and ranking reach this app through the store.
* :meth:`RetrainScheduler.close` returns at once: it drops pending requests and kills a worker
  that is mid-retrain (the labels are committed already; the unfinished run is discarded, and
  since a run is recorded in one transaction it is never recorded half-done). No result is
  delivered after ``close`` returns. An idle worker is asked to exit.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from labeler.errors import Cancelled
from labeler.learning.after_run import AfterRun, after_retrain
from labeler.learning.settings import TrainSettings
from labeler.learning.training import default_trainer, train_once
from labeler.learning.worker import WorkerGone, WorkerProcess
from labeler.store.database import utcnow
from labeler.store.location import ProjectLocation
from labeler.store.models import RunRecord
from labeler.store.project_store import Store
from labeler.store.train_lease import TrainLease, current_trainer

__all__ = ["RetrainResult", "RetrainScheduler", "TrainSettings"]

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RetrainResult:
    ok: bool
    run: RunRecord | None
    error: str | None
    label_count: int
    deferred_to: str | None = None  # a colleague holds the project's lease: they retrain


# -- scheduler -------------------------------------------------------------------------------


class RetrainScheduler:
    """Runs retrains of one project off the caller's thread; see the module docstring."""

    def __init__(
        self,
        location: ProjectLocation,
        settings: TrainSettings | None = None,
        *,
        on_result: Callable[[RetrainResult], None],
        on_started: Callable[[], None] | None = None,
        on_progress: Callable[[int, int | None], None] | None = None,
        on_after: Callable[[AfterRun], None] | None = None,
        synchronous: bool = False,
        trainer: str | None = None,
    ) -> None:
        self.location = location
        self.settings = settings
        self.trainer = trainer or default_trainer()  # who trains: recorded with each model
        self.session = uuid.uuid4().hex  # holds the project's lease while training
        self._on_result = on_result
        self._on_started = on_started
        self._on_progress = on_progress
        self._on_after = on_after
        self.synchronous = synchronous
        self._cond = threading.Condition()
        self._pending = False
        self._running = False
        self._following = False  # the run is delivered; its tracking and drift checks run
        self._closed = False
        self._job_id = 0
        self._worker_pid: int | None = None
        self._ctx = mp.get_context("spawn")
        self._worker: WorkerProcess | None = None  # set and cleared on the scheduler thread
        self._thread: threading.Thread | None = None
        if not synchronous:
            self._thread = threading.Thread(target=self._loop, name="labeler-retrain", daemon=True)
            self._thread.start()

    # -- public API ------------------------------------------------------------------------

    def request(self) -> None:
        """Ask for a retrain. Never blocks; coalesces with a retrain already running."""
        with self._cond:
            if self._closed:
                return
            self._pending = True
            if self._running:
                return
            if not self.synchronous:
                self._cond.notify_all()
                return
            self._running = True
        # Synchronous mode: run here; requests made from callbacks loop once more.
        try:
            while True:
                with self._cond:
                    if not self._pending or self._closed:
                        break
                    self._pending = False
                self._run_inline()
        finally:
            with self._cond:
                self._running = False
                self._cond.notify_all()

    @property
    def is_running(self) -> bool:
        with self._cond:
            return self._running

    @property
    def worker_pid(self) -> int | None:
        """Process id of the worker running the current retrain (None when idle/synchronous)."""
        with self._cond:
            return self._worker_pid if self._running else None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no retrain runs or is pending. False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._running and not self._pending and not self._following, timeout
            )

    def close(self) -> None:
        """Drop pending requests, kill a retrain in progress, stop the thread and the worker.

        Returns at once (it does not wait for a fit); no result is delivered after it returns.
        """
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._pending = False
            busy_worker = self._worker if self._running else None
            self._cond.notify_all()
        if busy_worker is not None:
            busy_worker.kill()  # the scheduler thread sees it end, reaps it and exits
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()  # (closing from a callback: the loop ends after it returns)
        elif self._thread is None:
            self._stop_worker()

    def __enter__(self) -> RetrainScheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _settings(self) -> TrainSettings | None:
        return self.settings

    def _leased(self, run: Callable[[TrainLease], RetrainResult | None]) -> RetrainResult | None:
        """``run(lease)`` holding the project's lease, or a deferred result when a colleague
        holds it. A request noted meanwhile by anyone schedules one more retrain here."""
        with Store.open(self.location) as store:
            lease = TrainLease(store, self.trainer, self.session)
            if not lease.acquire():
                holder = current_trainer(store)
                who = holder.holder if holder is not None else "a colleague"
                return RetrainResult(False, None, None, 0, deferred_to=who)
            try:
                return run(lease)
            finally:
                again = lease.release()
                if again:
                    with self._cond:
                        self._pending = not self._closed

    def _run_inline(self) -> None:
        try:
            result = self._leased(lambda _lease: self._train_inline())
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the caller
            result = self._record_failure(f"{type(exc).__name__}: {exc}")
        if result is not None:
            self._deliver(result)

    def _train_inline(self) -> RetrainResult | None:
        if self._on_started is not None:
            self._on_started()
        try:
            run = train_once(
                self.location, self._settings(), progress=self._on_progress, trainer=self.trainer
            )
        except Cancelled:
            return None
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the caller
            return self._record_failure(f"{type(exc).__name__}: {exc}")
        self._delivered(_result(run))
        self._deliver_after(after_retrain(self.location, self._settings(), run))
        return None

    def _loop(self) -> None:
        try:
            while self._next_job():
                pass
        finally:
            self._stop_worker()

    def _next_job(self) -> bool:
        """Wait for a request and run it; False once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._closed)
            if self._closed:
                return False
            self._pending = False
            self._running = True
            self._job_id += 1
            job_id = self._job_id
        try:
            result = self._leased(lambda _lease: self._run_in_worker(job_id))
        except Exception as exc:  # noqa: BLE001 - the thread must survive anything
            failure = f"{type(exc).__name__}: {exc}"
            result = None if self._closed_now() else self._record_failure(failure)
        if result is not None and not self._closed_now():
            self._deliver(result)
        with self._cond:
            self._running = False
            self._following = False
            self._worker_pid = None
            self._cond.notify_all()
            return not self._closed

    def _start_worker(self) -> WorkerProcess | None:
        """The worker process (started if needed); None when closed meanwhile."""
        worker = self._worker
        if worker is None or not worker.is_alive():
            if worker is not None:
                self._stop_worker()
            worker = WorkerProcess(self._ctx)
            with self._cond:
                self._worker = worker
                closed = self._closed
            if closed:  # close() ran while the process was starting: it never saw it
                worker.kill()
                return None
        return worker

    def _stop_worker(self) -> None:
        worker = self._worker
        with self._cond:
            self._worker = None
        if worker is not None:
            worker.stop()

    def _closed_now(self) -> bool:
        with self._cond:
            return self._closed

    def _run_in_worker(self, job_id: int) -> RetrainResult | None:
        worker = self._start_worker()
        if worker is None:
            return None
        try:
            worker.submit(job_id, self.location, self._settings(), self.trainer)
        except WorkerGone:
            self._stop_worker()
            return self._record_failure("worker process crashed before the retrain started")
        delivered = False  # the result went out; the worker tracks the run and checks drift
        while True:
            try:
                events = worker.receive(POLL_SECONDS)
            except WorkerGone:
                self._stop_worker()
                if self._closed_now() or delivered:
                    return None  # (a crash after the result loses only its follow-up)
                return self._record_failure("worker process crashed during the retrain")
            for kind, jid, payload in events:
                if self._closed_now():
                    break
                if jid != job_id:
                    continue
                if kind == "after":
                    self._deliver_after(payload)  # type: ignore[arg-type]
                    return None
                outcome = self._handle(kind, payload)
                if outcome is not None and kind == "done":
                    self._delivered(outcome)
                    delivered = True
                elif outcome is not None:
                    return outcome
            if self._closed_now():
                return None  # close() killed the worker; _loop reaps it

    def _handle(self, kind: str, payload: object) -> RetrainResult | None:
        """React to one event of the current job; the result once the job has ended."""
        if kind == "started":
            with self._cond:
                self._worker_pid = int(payload)  # type: ignore[call-overload]
            if self._on_started is not None:
                self._on_started()
        elif kind == "progress":
            if self._on_progress is not None:
                self._on_progress(*payload)  # type: ignore[misc]
        elif kind == "done":
            return _result(payload)  # type: ignore[arg-type]
        elif kind == "error":
            return self._record_failure(str(payload))
        return None

    def _record_failure(self, error: str) -> RetrainResult:
        """Record a run that failed outside ``train_once`` (e.g. the worker was killed)."""
        error = " ".join(error.split())  # one line: it is shown in the status bar and logs
        label_count = 0
        run: RunRecord | None = None
        try:
            with Store.open(self.location) as store:
                label_count = store.labels.labeled_count()
                settings = self._settings() or TrainSettings.from_project(store)
                now = utcnow()
                run = store.models.record_run(
                    status="failed",
                    started_at=now,
                    finished_at=now,
                    label_count=label_count,
                    strategy=settings.strategy,
                    params={"settings": settings.to_dict()},
                    error=error,
                )
        except Exception as exc:  # noqa: BLE001 - the report must still reach the caller
            error = f"{error} (and recording the failure failed: {exc})"
        return RetrainResult(ok=False, run=run, error=error, label_count=label_count)

    def _delivered(self, result: RetrainResult) -> None:
        """Deliver a finished retrain's result; from here on only its follow-up runs, which
        does not count as a retrain running (the model and ranking are in the store)."""
        with self._cond:
            if not self.synchronous:  # (synchronous: request() owns the flag and its loop)
                self._running = False
                self._worker_pid = None
            self._following = True
            self._cond.notify_all()
        if not self._closed_now():
            self._deliver(result)

    def _deliver_after(self, after: AfterRun) -> None:
        with self._cond:
            self._following = False
            self._cond.notify_all()
        if self._on_after is None or self._closed_now():
            return
        try:
            self._on_after(after)
        except Exception:  # noqa: BLE001, S110 - a faulty callback must not kill the scheduler
            import traceback

            traceback.print_exc()

    def _deliver(self, result: RetrainResult) -> None:
        try:
            self._on_result(result)
        except Exception:  # noqa: BLE001, S110 - a faulty callback must not kill the scheduler
            import traceback

            traceback.print_exc()


def _result(run: RunRecord) -> RetrainResult:
    return RetrainResult(
        ok=run.status == "ok", run=run, error=run.error, label_count=run.label_count
    )
