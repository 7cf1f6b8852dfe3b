"""Protection of an open SQLite project while the app runs (one object the controller owns).

* Every few seconds, and whenever asked (after a dialog, before a retrain), it checks that
  this process still holds SQLite's locks on the database (:mod:`labeler.store.lock_guard`).
  If they are gone, ``hazard`` fires: the window closes the project (which drops every
  connection, and the retrain worker with them), checks it and opens it again.
* After an SQLite error reported by any worker it runs ``PRAGMA quick_check``; damage fires
  ``damaged`` (the window stops writing and offers the newest backup).
* A rolling backup (:func:`labeler.store.integrity.make_backup`) is written soon after open
  and every ``backup_minutes`` while the database changes, on its own thread, cancelled on
  close.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from labeler.errors import Cancelled
from labeler.gui.tasks import TaskRunner
from labeler.progress import CancelToken
from labeler.store import Store, integrity
from labeler.store.lock_guard import locks_lost

LOCK_CHECK_MS = 2000
FIRST_BACKUP_MS = 5000
BACKUP_MINUTES = 30

SQLITE_DAMAGE = (
    "malformed",
    "file is not a database",
    "disk image",
    "database corruption",
    "not a database",
)


def looks_like_damage(message: str) -> bool:
    """True for SQLite errors that mean the file may be damaged (not busy or locked)."""
    text = message.lower()
    return any(marker in text for marker in SQLITE_DAMAGE)


class StoreGuard(QObject):
    hazard = Signal(str)  # one line: SQLite's locks were lost in this process
    damaged = Signal(str, str)  # database path, one line: what quick_check found
    backedUp = Signal(str)  # path of the new backup

    def __init__(
        self,
        db_path: Path,
        open_connections: Callable[[], int],
        parent: QObject | None = None,
        *,
        backup_minutes: float = BACKUP_MINUTES,
        first_backup_ms: int = FIRST_BACKUP_MS,
    ) -> None:
        super().__init__(parent)
        self.db_path = db_path
        self._connections = open_connections
        self._runner = TaskRunner(self, name="labeler-guard")
        self._cancel = CancelToken()
        self._closed = False
        self._reported = False
        self._backed_up_at = 0.0  # database mtime at the last backup
        self._locks = QTimer(self, interval=LOCK_CHECK_MS)
        self._locks.timeout.connect(self.check_locks)
        self._backups = QTimer(self, interval=int(backup_minutes * 60_000))
        self._backups.timeout.connect(self.backup)
        self._first_backup_ms = first_backup_ms

    @classmethod
    def for_store(cls, store: Store, parent: QObject | None = None) -> StoreGuard | None:
        """A guard over ``store``'s SQLite file; None for a PostgreSQL project."""
        db_path = store.location.db_path
        if db_path is None:
            return None
        return cls(db_path, store.open_connections, parent)

    def start(self) -> None:
        self._locks.start()
        self._backups.start()
        if self._first_backup_ms >= 0:
            QTimer.singleShot(self._first_backup_ms, self.backup)

    def check_locks(self) -> bool:
        """True while the locks are in place; fires ``hazard`` (once) when they are not."""
        if self._closed or self._reported:
            return not self._reported
        if locks_lost(self.db_path, self._connections()):
            self._reported = True
            self.hazard.emit(
                f"{self.db_path}: another part of the app opened the database files, which "
                "drops SQLite's locks"
            )
            return False
        return True

    def check_after_error(self, message: str) -> None:
        """Run a quick check off the GUI thread when an SQLite error suggests damage."""
        if self._closed or self._reported or not looks_like_damage(message):
            return
        self._runner.submit(integrity.quick_check, self.db_path, on_done=self._checked)

    def check_result(self, result: object) -> None:
        """A retrain result: check the file when its error suggests damage."""
        error = getattr(result, "error", None)
        if error:
            self.check_after_error(str(error))

    def _checked(self, problems: list[str]) -> None:
        if problems and not self._closed and not self._reported:
            self._reported = True
            self.damaged.emit(str(self.db_path), problems[0].splitlines()[-1][:300])

    def backup(self) -> None:
        """Write a rolling backup unless nothing changed since the last one."""
        if self._closed or self._reported:
            return
        changed = self._mtime()
        if changed <= self._backed_up_at:
            return
        self._runner.submit(
            integrity.make_backup,
            self.db_path,
            cancel=self._cancel,
            on_done=lambda path: self._backed_up(changed, path),
            on_error=self._backup_failed,
        )

    def _mtime(self) -> float:
        times = []
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):  # stat only: never opens the files
                times.append(os.stat(f"{self.db_path}{suffix}").st_mtime)
        return max(times, default=0.0)

    def _backed_up(self, changed: float, path: Path) -> None:
        self._backed_up_at = changed
        self.backedUp.emit(str(path))

    def _backup_failed(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled) or self._closed:
            return
        self.check_after_error(str(exc))

    def close(self) -> None:
        self._closed = True
        self._locks.stop()
        self._backups.stop()
        self._cancel.cancel()
        self._runner.shutdown(wait=True)
