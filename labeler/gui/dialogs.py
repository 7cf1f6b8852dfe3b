"""Telling the user about errors without blocking: message boxes are opened with ``open()``
(window-modal, the event loop keeps running), so tests and background signals go on.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget


def describe(exc: BaseException) -> tuple[str, str]:
    """(first line of the message, full traceback) for an exception shown to the user."""
    line = str(exc) or type(exc).__name__
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return line.splitlines()[0], details


class Reporter(QObject):
    """Shows error and information dialogs for a window; ``reported`` fires for each one."""

    reported = Signal(str, str)  # title, message

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._window = parent
        self.last_box: QMessageBox | None = None

    def error(self, title: str, message: str, details: str = "") -> QMessageBox:
        return self._show(QMessageBox.Icon.Warning, title, message, details)

    def info(self, title: str, message: str, details: str = "") -> QMessageBox:
        return self._show(QMessageBox.Icon.Information, title, message, details)

    def _show(self, icon: QMessageBox.Icon, title: str, message: str, details: str) -> QMessageBox:
        box = QMessageBox(icon, title, message, QMessageBox.StandardButton.Ok, self._window)
        if details:
            box.setDetailedText(details)
        box.finished.connect(box.deleteLater)
        self.last_box = box
        box.open()
        self.reported.emit(title, message)
        return box
