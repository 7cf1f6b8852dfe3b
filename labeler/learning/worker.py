"""The retrain worker process, and its handle in the parent (:class:`WorkerProcess`).

One spawned process runs retrains one after another. Two one-way pipes join it to the parent:
jobs (parent -> worker) and events (worker -> parent: ``started``, ``progress``, then ``done``
with the run record followed by ``after`` (:func:`labeler.learning.after_run.after_retrain`:
MLflow tracking and drift checks, done after the app has the new model), or ``error``).

The worker never outlives its parent. A watchdog thread in the worker reads the jobs pipe,
whose only write end the parent holds: end-of-file (the parent closed it, exited or was
killed) or a changed parent process id (checked every ``PARENT_POLL_SECONDS``, in case a
forked grandchild keeps the pipe open) ends the process at once, even mid-fit. That is safe:
a retrain writes its run, model version, queue and predictions in one transaction, so an
interrupted retrain leaves no trace but, at most, an unreferenced model file.

The parent stops a worker with :meth:`WorkerProcess.stop` (idle: closes the pipe and lets the
worker exit) or :meth:`WorkerProcess.kill` (a retrain in progress is discarded).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import queue
import threading
from typing import Any

from labeler.learning.settings import TrainSettings
from labeler.store.location import ProjectLocation

PARENT_POLL_SECONDS = 0.5
STOP_GRACE_SECONDS = 0.5  # an idle worker exits at once when asked; killed after this

Event = tuple[str, int, Any]  # (kind, job id, payload)


class WorkerGone(Exception):
    """The worker process ended (crashed, was killed, or its pipe broke)."""


# -- in the worker process -------------------------------------------------------------------


def _watch_parent(jobs: mpc.Connection, parent_pid: int, work: queue.SimpleQueue) -> None:
    """Forward jobs to the main thread; end the process when the parent is gone."""
    while True:
        try:
            if jobs.poll(PARENT_POLL_SECONDS):
                work.put(jobs.recv())
                continue
        except (EOFError, OSError):
            os._exit(0)  # the parent closed the pipe or died: nobody wants the result
        if os.getppid() != parent_pid:
            os._exit(0)


def worker_main(jobs: mpc.Connection, events: mpc.Connection, parent_pid: int) -> None:
    """Entry point of the worker process (spawned; see the module docstring)."""
    from labeler.learning.after_run import after_retrain
    from labeler.learning.training import train_once

    work: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(
        target=_watch_parent, args=(jobs, parent_pid, work), name="parent-watch", daemon=True
    ).start()
    send_lock = threading.Lock()

    def send(event: Event) -> None:
        with send_lock:
            events.send(event)

    while True:
        job = work.get()
        if job is None:  # asked to stop: nothing is in flight, skip the interpreter's teardown
            os._exit(0)
        job_id, location, settings, trainer = job
        send(("started", job_id, os.getpid()))

        def progress(done: int, total: int | None, job_id: int = job_id) -> None:
            send(("progress", job_id, (done, total)))

        try:
            run = train_once(location, settings, progress=progress, trainer=trainer)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which records it
            send(("error", job_id, f"{type(exc).__name__}: {exc}"))
        else:
            send(("done", job_id, run))  # the app takes the new model now; then, off its path:
            send(("after", job_id, after_retrain(location, settings, run)))


# -- in the parent ---------------------------------------------------------------------------


class WorkerProcess:
    """A started worker process and its two pipes. Use from one thread, except :meth:`kill`."""

    def __init__(self, ctx: Any = None) -> None:
        ctx = ctx or mp.get_context("spawn")
        jobs_r, self._jobs = ctx.Pipe(duplex=False)
        self._events, events_w = ctx.Pipe(duplex=False)
        self._process = ctx.Process(
            target=worker_main,
            args=(jobs_r, events_w, os.getpid()),
            name="labeler-retrain-worker",
            daemon=True,  # also ended by multiprocessing when the parent exits normally
        )
        self._process.start()
        self._pid: int | None = self._process.pid
        jobs_r.close()  # the worker's ends: the parent keeps none, so the worker sees EOF
        events_w.close()

    @property
    def pid(self) -> int | None:
        return self._pid

    def is_alive(self) -> bool:
        return self._process.is_alive()

    def submit(
        self,
        job_id: int,
        location: ProjectLocation,
        settings: TrainSettings | None,
        trainer: str | None = None,
    ) -> None:
        try:
            self._jobs.send((job_id, location, settings, trainer))
        except (OSError, ValueError) as exc:
            raise WorkerGone(str(exc)) from exc

    def receive(self, timeout: float) -> list[Event]:
        """Events that arrived within ``timeout``; raises :class:`WorkerGone` once it ended
        (after every event it sent has been returned)."""
        events: list[Event] = []
        ended = False
        try:
            ended = self._process.sentinel in mpc.wait(
                [self._events, self._process.sentinel], timeout
            )
            while self._events.poll():
                events.append(self._events.recv())
        except (EOFError, OSError, ValueError):
            ended = True  # the pipe's other end closed: the worker is gone
        if ended and not events:
            raise WorkerGone(f"exit code {self._process.exitcode}")
        return events

    def kill(self) -> None:
        """End the process now (a retrain in progress is discarded). Safe from any thread."""
        with contextlib.suppress(ValueError, OSError):  # ValueError: already stopped
            self._process.kill()

    def stop(self) -> None:
        """Ask the worker to exit (kill it if it does not), reap it and close the pipes."""
        if self._process.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self._jobs.send(None)
            self._jobs.close()
            self._process.join(STOP_GRACE_SECONDS)
            if self._process.is_alive():
                self._process.kill()
        self._process.join()
        self._jobs.close()
        self._events.close()
        self._process.close()
