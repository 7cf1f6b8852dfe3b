"""A long operation (import, demo creation) on a worker, with a cancellable progress dialog.

The operation is a plain function taking ``progress`` and ``cancel`` (see
:mod:`labeler.progress`); progress reports cross to the GUI thread through a queued signal,
and the dialog's Cancel button sets the cancel token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from labeler.errors import Cancelled
from labeler.gui.dialogs import describe
from labeler.gui.tasks import TaskRunner
from labeler.progress import CancelToken


class LongTask(QObject):
    progressed = Signal(int, int)  # done, total (-1: unknown)
    succeeded = Signal(object)
    failed = Signal(str, str)  # one line, details
    cancelled = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget, title: str, label: str) -> None:
        super().__init__(parent)
        self.runner = runner
        self.token = CancelToken()
        self.dialog = QProgressDialog(label, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle(title)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self.token.cancel)
        self.progressed.connect(self._show_progress, Qt.ConnectionType.QueuedConnection)

    def start(self, fn: Callable[..., Any], *args: Any) -> None:
        self.dialog.open()

        def report(done: int, total: int | None) -> None:  # on the worker thread
            self.progressed.emit(int(done), -1 if total is None else int(total))

        self.runner.submit(
            fn, *args, progress=report, cancel=self.token, on_done=self._done, on_error=self._error
        )

    @Slot(int, int)
    def _show_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.dialog.setMaximum(total)
            self.dialog.setValue(min(done, total))
        self.dialog.setLabelText(
            f"{self.dialog.labelText().split(' — ')[0]} — {done:,} rows"
            if total <= 0
            else f"{self.dialog.labelText().split(' — ')[0]} — {done:,} of {total:,} rows"
        )

    def _finish(self) -> None:
        self.dialog.canceled.disconnect(self.token.cancel)
        self.dialog.close()
        self.dialog.deleteLater()

    def _done(self, result: Any) -> None:
        self._finish()
        self.succeeded.emit(result)

    def _error(self, exc: BaseException) -> None:
        self._finish()
        if isinstance(exc, Cancelled):
            self.cancelled.emit()
        else:
            self.failed.emit(*describe(exc))
