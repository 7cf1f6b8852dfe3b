"""What the window does when a SQLite project is at risk or damaged (owned by the window).

* Locks lost (:class:`~labeler.gui.store_guard.StoreGuard` ``hazard``): close the project
  (every connection and the retrain worker go), check it, and open it again if it is sound.
* Damage found (at open, or after an SQLite error): the project is closed, nothing more is
  written, and the user is told once and offered the newest backup. Restoring keeps the
  damaged file beside it (``.labeler/damaged-<time>.db``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from labeler.store import integrity

REPEAT_S = 30.0  # locks lost again this soon after a reopen: give up and say so


class ProjectRescue(QObject):
    restored = Signal(str)  # project, reopened from a backup
    reopened = Signal(str)  # project, reopened after its locks were lost
    offered = Signal(object)  # the QMessageBox offering a backup (tests answer it)

    def __init__(self, window: Any, parent: QWidget) -> None:
        super().__init__(parent)
        self.window = window  # MainWindow: close_project, open_project, jobs, reporter
        self.box: QMessageBox | None = None
        self._busy = False
        self.hazards = 0  # times the locks were found lost (for the window and tests)
        self._last_hazard = -REPEAT_S

    # -- locks lost ------------------------------------------------------------------------

    def hazard(self, project: str, message: str) -> None:
        if self._busy:
            return
        self.hazards += 1
        if time.monotonic() - self._last_hazard < REPEAT_S:
            # reopening did not bring the locks back (a connection outside the project's
            # engine still holds the file): stop rather than loop
            self.window.close_project()
            self.window.reporter.error(
                "Project closed to protect it",
                f"{message}.\n\nReopening did not restore SQLite's locks. Quit Labeler and "
                "start it again before opening this project.",
            )
            return
        self._last_hazard = time.monotonic()
        self._busy = True
        QTimer.singleShot(0, lambda: self._close_and_check(project, message))

    def _close_and_check(self, project: str, message: str) -> None:
        w = self.window
        db_path = (
            w.controller.store.location.db_path if w.controller and w.controller.store else None
        )
        w.close_project()
        if db_path is None:
            self._busy = False
            return
        w.show_status("Checking the project after a locking problem…")
        w.jobs.submit(
            integrity.quick_check,
            db_path,
            on_done=lambda problems: self._checked(project, db_path, message, problems),
            on_error=lambda exc: self._checked(project, db_path, message, [str(exc)]),
        )

    def _checked(self, project: str, db_path: Path, message: str, problems: list[str]) -> None:
        self._busy = False
        if problems:
            self.damaged(project, str(db_path), problems[0])
            return
        self._open_then(
            project,
            f"Reopened the project to restore SQLite's locks ({message}); it checked sound",
            self.reopened,
        )

    def _open_then(self, project: str, note: str, done: Any) -> None:
        """Open ``project``; once it is on screen, show ``note`` and emit ``done``."""
        w = self.window

        def shown(_overview: object) -> None:
            w.projectShown.disconnect(shown)
            w.show_status(note)
            done.emit(project)

        w.projectShown.connect(shown)
        w.open_project(project)

    # -- damage ------------------------------------------------------------------------------

    def damaged(self, project: str, db_path: str, what: str) -> None:
        """Stop (close the project) and offer the newest backup, once."""
        if self.box is not None:
            return
        QTimer.singleShot(0, lambda: self._offer(project, Path(db_path), what))

    def _offer(self, project: str, db_path: Path, what: str) -> None:
        w = self.window
        if w.controller is not None:
            w.close_project()
        backups = integrity.list_backups(db_path)
        text = (
            f"The project database is damaged ({what}):\n{db_path}\n\n"
            "Labeler has stopped writing to it. "
        )
        box = QMessageBox(QMessageBox.Icon.Critical, "Project database damaged", text, parent=w)
        box.setObjectName("damagedProject")
        if backups:
            newest = backups[0]
            box.setText(
                text + f"The newest backup is from {newest.describe()}. Labels given after it "
                "are not in it. The damaged file is kept beside it."
            )
            restore = box.addButton("Restore newest backup", QMessageBox.ButtonRole.AcceptRole)
            restore.clicked.connect(lambda: self.restore(project, db_path, newest.path))
        else:
            box.setText(text + "There is no backup of it yet.")
        box.addButton(QMessageBox.StandardButton.Close)
        box.finished.connect(self._closed_box)
        self.box = box
        box.open()
        self.offered.emit(box)

    def _closed_box(self, *_: object) -> None:
        if self.box is not None:
            self.box.deleteLater()
        self.box = None

    def restore(self, project: str, db_path: Path, backup: Path) -> None:
        w = self.window
        w.show_status(f"Restoring {backup.name}…")
        w.jobs.submit(
            integrity.restore_backup,
            db_path,
            backup,
            on_done=lambda kept: self._restored(project, backup, kept),
            on_error=lambda exc: w.reporter.error("Cannot restore the backup", str(exc)),
        )

    def _restored(self, project: str, backup: Path, kept: Path) -> None:
        self._open_then(
            project,
            f"Restored {backup.name}; the damaged file is kept as {kept.name}",
            self.restored,
        )
