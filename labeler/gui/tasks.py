"""The GUI's database worker: one background thread runs every store call, in order, and
hands each result (or exception) back to the GUI thread through a queued signal.

One thread means store calls from the GUI never interleave (a label is committed before the
fetch that follows it runs), and the GUI thread never waits on the database.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


class TaskRunner(QObject):
    """Runs functions on one worker thread; callbacks run on the GUI thread.

    ``failed`` is emitted for an exception whose task has no ``on_error``: worker errors
    always surface. ``idle`` is emitted on the GUI thread when the last pending task's
    callbacks have run.
    """

    failed = Signal(object)  # BaseException
    idle = Signal()
    _delivered = Signal(object)  # internal: (on_done, on_error, result, error)

    def __init__(self, parent: QObject | None = None, name: str = "labeler-db") -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending = 0
        self._closed = False
        self._started: float | None = None  # when the task now running started (monotonic)
        self._delivered.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def pending(self) -> int:
        return self._pending

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callback | None = None,
        on_error: ErrorCallback | None = None,
        **kwargs: Any,
    ) -> Future[Any] | None:
        """Queue ``fn(*args, **kwargs)`` on the worker. None once the runner is shut down."""
        if self._closed:
            return None
        self._pending += 1

        def run() -> Any:
            self._started = time.monotonic()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
                self._started = None
                self._emit(on_done, on_error, None, exc)
                raise
            self._started = None
            self._emit(on_done, on_error, result, None)
            return result

        return self._executor.submit(run)

    def running_for(self) -> float:
        """Seconds the task now running on the worker has taken so far (0: idle)."""
        started = self._started
        return 0.0 if started is None else time.monotonic() - started

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run on the worker and wait for the result (for shutdown paths only)."""
        return self._executor.submit(fn, *args, **kwargs).result()

    def _emit(self, on_done: Any, on_error: Any, result: Any, error: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the QObject is gone (application quitting)
            self._delivered.emit((on_done, on_error, result, error))

    @Slot(object)
    def _deliver(self, payload: tuple[Any, Any, Any, Any]) -> None:
        on_done, on_error, result, error = payload
        self._pending -= 1
        try:
            if error is None:
                if on_done is not None:
                    on_done(result)
            elif on_error is not None:
                on_error(error)
            else:
                log.error("database task failed", exc_info=error)
                self.failed.emit(error)
        finally:
            if self._pending == 0:
                self.idle.emit()

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting tasks and (by default) wait for the queued ones to finish."""
        self._closed = True
        self._executor.shutdown(wait=wait)
