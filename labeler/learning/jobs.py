"""Background retraining: one retrain at a time, coalesced, in a worker process.

:class:`RetrainScheduler` owns one background thread and (unless ``synchronous``) one worker
process (``ProcessPoolExecutor`` with the ``spawn`` context and a single worker). Fitting holds
the GIL for long stretches; in the worker process it cannot stall the caller's (GUI) thread.

* :meth:`RetrainScheduler.request` never blocks. While a retrain runs, any number of requests
  schedule exactly one more retrain, which starts when the current one ends (and then sees
  every label given meanwhile).
* ``on_started`` and ``on_result`` are called from the background thread (a GUI forwards them
  through queued signals). ``on_started`` fires when the worker has begun the retrain.
* A failed retrain (one class, NaN, an estimator error, the worker process killed) arrives as
  ``RetrainResult(ok=False, error=...)``; the failed run is recorded and the previous model and
  queue stay in use. After a crash the next request starts a new worker process.
* :meth:`RetrainScheduler.close` drops pending requests, asks a running retrain to cancel
  (checked between its phases), waits for it and shuts the worker process down.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from labeler.errors import Cancelled
from labeler.learning.settings import TrainSettings
from labeler.learning.training import train_once
from labeler.progress import CancelToken
from labeler.store.database import utcnow
from labeler.store.location import ProjectLocation
from labeler.store.models import RunRecord
from labeler.store.project_store import Store

__all__ = ["RetrainResult", "RetrainScheduler", "TrainSettings"]

POLL_SECONDS = 0.05
CLOSE_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class RetrainResult:
    ok: bool
    run: RunRecord | None
    error: str | None
    label_count: int


# -- worker process side ---------------------------------------------------------------------

_worker_events: Any = None  # multiprocessing.Queue of ("started"/"progress", ...) messages
_worker_cancel: Any = None  # multiprocessing.Event set by the parent to cancel


def _worker_init(events: Any, cancel_event: Any) -> None:
    global _worker_events, _worker_cancel
    _worker_events = events
    _worker_cancel = cancel_event


class _EventCancel(CancelToken):
    """A cancel token backed by a multiprocessing event shared with the parent."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self._mp_event = event

    @property
    def cancelled(self) -> bool:
        return bool(self._mp_event.is_set())

    def cancel(self) -> None:
        self._mp_event.set()

    def check(self) -> None:
        if self._mp_event.is_set():
            raise Cancelled()


def _worker_job(location: ProjectLocation, settings: TrainSettings, job_id: int) -> RunRecord:
    events = _worker_events
    events.put(("started", job_id, os.getpid()))

    def progress(done: int, total: int | None) -> None:
        events.put(("progress", job_id, (done, total)))

    return train_once(location, settings, progress=progress, cancel=_EventCancel(_worker_cancel))


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
        synchronous: bool = False,
    ) -> None:
        self.location = location
        self.settings = settings
        self._on_result = on_result
        self._on_started = on_started
        self._on_progress = on_progress
        self.synchronous = synchronous
        self._cond = threading.Condition()
        self._pending = False
        self._running = False
        self._closed = False
        self._job_id = 0
        self._worker_pid: int | None = None
        self._ctx = mp.get_context("spawn")
        self._executor: cf.ProcessPoolExecutor | None = None
        self._events: Any = None
        self._cancel_event: Any = None
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
            return self._cond.wait_for(lambda: not self._running and not self._pending, timeout)

    def close(self) -> None:
        """Drop pending requests, cancel a running retrain, stop the thread and the worker."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._pending = False
            if self._cancel_event is not None:
                self._cancel_event.set()
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()  # (closing from a callback: the loop ends after it returns)
            self._shutdown_executor()
        elif self._thread is None:
            self._shutdown_executor()

    def __enter__(self) -> RetrainScheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _settings(self) -> TrainSettings | None:
        return self.settings

    def _run_inline(self) -> None:
        if self._on_started is not None:
            self._on_started()
        try:
            run = train_once(self.location, self._settings(), progress=self._on_progress)
        except Cancelled:
            return
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the caller
            self._deliver(self._record_failure(f"{type(exc).__name__}: {exc}"))
            return
        self._deliver(_result(run))

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if self._closed:
                    return
                self._pending = False
                self._running = True
                self._job_id += 1
                job_id = self._job_id
            try:
                result = self._run_in_worker(job_id)
            except Exception as exc:  # noqa: BLE001 - the thread must survive anything
                result = self._record_failure(f"{type(exc).__name__}: {exc}")
            with self._cond:
                closed = self._closed
            if result is not None and not closed:
                self._deliver(result)
            with self._cond:
                self._running = False
                self._worker_pid = None
                self._cond.notify_all()
                closed = self._closed
            if closed:
                self._shutdown_executor()
                return

    def _ensure_executor(self) -> cf.ProcessPoolExecutor:
        if self._executor is None:
            self._events = self._ctx.Queue()
            self._cancel_event = self._ctx.Event()
            self._executor = cf.ProcessPoolExecutor(
                max_workers=1,
                mp_context=self._ctx,
                initializer=_worker_init,
                initargs=(self._events, self._cancel_event),
            )
        return self._executor

    def _shutdown_executor(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        if self._events is not None:
            self._events.close()
            self._events.join_thread()
            self._events = None

    def _run_in_worker(self, job_id: int) -> RetrainResult | None:
        try:
            executor = self._ensure_executor()
            future = executor.submit(_worker_job, self.location, self._settings(), job_id)
        except BrokenProcessPool:
            self._shutdown_executor()
            return self._record_failure("worker process crashed before the retrain started")
        cancel_sent_at: float | None = None
        while True:
            done, _ = cf.wait([future], timeout=POLL_SECONDS)
            self._drain_events(job_id)
            if done:
                break
            with self._cond:
                closed = self._closed
            if closed and cancel_sent_at is None:
                cancel_sent_at = _monotonic()
                # close() may have run before the executor (and its event) existed: cancel here
                if self._cancel_event is not None:
                    self._cancel_event.set()
            if cancel_sent_at is not None and _monotonic() - cancel_sent_at > CLOSE_GRACE_SECONDS:
                self._kill_worker()
        self._drain_events(job_id)
        try:
            run = future.result()
        except Cancelled:
            return None
        except BrokenProcessPool:
            self._shutdown_executor()
            with self._cond:
                closed = self._closed
            if closed:
                return None
            return self._record_failure("worker process crashed during the retrain")
        except Exception as exc:  # noqa: BLE001 - an error raised in the worker: report it
            return self._record_failure(f"{type(exc).__name__}: {exc}")
        return _result(run)

    def _drain_events(self, job_id: int) -> None:
        if self._events is None:
            return
        while True:
            try:
                kind, jid, payload = self._events.get_nowait()
            except queue_mod.Empty:
                return
            except (OSError, ValueError, EOFError):
                return
            if jid != job_id:
                continue
            if kind == "started":
                with self._cond:
                    self._worker_pid = int(payload)
                if self._on_started is not None:
                    self._on_started()
            elif kind == "progress" and self._on_progress is not None:
                self._on_progress(*payload)

    def _kill_worker(self) -> None:
        pid = self._worker_pid
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))

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


def _monotonic() -> float:
    import time

    return time.monotonic()
