"""Importing what the review view and a push need, in the annotator's pauses.

Imported on first use, these modules froze the window for up to a second. Imported all at
once when a project opened, they held the interpreter lock on a worker thread for seconds
while the annotator started labeling, and key presses then waited up to 180 ms for their
next sample. :class:`Warmup` imports one module at a time on a worker, and only once the
annotator has not moved to a new sample for :data:`IDLE_S`.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer

from labeler.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

MODULES = (
    "labeler.gui.review",
    "labeler.review.service",
    "labeler.export.snapshot",
    "labeler.registry",
    "labeler.registry.push",
)
IDLE_S = 2.0  # no new sample on screen for this long: a pause
TICK_MS = 500


class Warmup(QObject):
    """Imports ``modules`` on ``runner``, one per pause; ``last_activity()`` is the
    monotonic time the annotator last did something (a new sample was shown)."""

    def __init__(
        self,
        runner: TaskRunner,
        last_activity: Callable[[], float],
        modules: Sequence[str] = MODULES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._last_activity = last_activity
        self.left = [m for m in modules]
        self._importing = False
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        if self.left:
            self._timer.start()

    def _tick(self) -> None:
        if self._importing:
            return
        if not self.left:
            self._timer.stop()
            return
        if time.monotonic() - self._last_activity() < IDLE_S:
            return
        self._importing = True
        self._runner.submit(
            importlib.import_module,
            self.left.pop(0),
            on_done=self._imported,
            on_error=self._failed,
        )

    def _imported(self, _module: object) -> None:
        self._importing = False

    def _failed(self, exc: BaseException) -> None:
        self._importing = False
        log.warning("warm-up: %s", exc)
