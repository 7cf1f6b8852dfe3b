"""Checking a SQLite project for damage, rolling backups, and restoring one.

* :func:`quick_check` runs SQLite's ``PRAGMA quick_check`` on its own connection.
* :func:`make_backup` writes a consistent copy with ``VACUUM INTO`` (one read transaction:
  writers carry on meanwhile) to ``.labeler/backups/project-<UTC time>.db``, written under a
  temporary name and renamed when complete; the newest :data:`KEEP` are kept.
* :func:`restore_backup` puts a backup in place of a damaged database. The damaged files are
  kept beside it (``.labeler/damaged-<time>.db``), never deleted. It refuses while any
  process has the database open.

Everything here goes through SQLite's own connections, never a plain ``open()`` of the
database files (see :mod:`labeler.store.lock_guard` for why that matters).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from labeler.errors import Cancelled, ProjectError
from labeler.progress import CancelToken
from labeler.store.layout import exclusive_connection
from labeler.store.location import DB_FILE

BACKUP_DIR = "backups"
KEEP = 3  # rolling backups kept per project (each is a full copy of the database)
_STAMP = "%Y%m%dT%H%M%S"


class DamagedProject(ProjectError):
    """The project's SQLite database failed its integrity check."""

    def __init__(self, db_path: Path, problems: list[str]) -> None:
        self.db_path = db_path
        self.problems = problems
        first = problems[0].splitlines()[-1] if problems else "damaged"
        super().__init__(f"{db_path}: the database is damaged ({first})")


def check_or_raise(db_path: Path) -> None:
    """Raise :class:`DamagedProject` when ``quick_check`` finds a problem."""
    problems = quick_check(db_path)
    if problems:
        raise DamagedProject(db_path, problems)


@dataclass(frozen=True)
class Backup:
    path: Path
    time: datetime  # UTC
    kind: str  # "rolling" or "pre-migration"

    def describe(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} UTC ({self.kind}, {self.path.name})"


def quick_check(db_path: Path) -> list[str]:
    """Problems SQLite finds in the database (empty when it is sound)."""
    try:
        conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        return [f"cannot open: {exc}"]
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()
    found = [str(r[0]) for r in rows]
    return [] if found == ["ok"] else found


def backup_dir(db_path: Path) -> Path:
    return db_path.parent / BACKUP_DIR


def make_backup(
    db_path: Path,
    keep: int = KEEP,
    now: datetime | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write a backup of the live database and prune old ones; returns the new file.

    ``cancel`` interrupts a running backup (its partial file is removed; raises Cancelled)."""
    folder = backup_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime(_STAMP)
    dest = folder / f"project-{stamp}.db"
    partial = folder / f".partial-{stamp}-{os.getpid()}.db"
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    if cancel is not None:
        conn.set_progress_handler(lambda: 1 if cancel.cancelled else 0, 1000)
    try:
        conn.execute("VACUUM INTO ?", (str(partial),))
    except sqlite3.DatabaseError as exc:
        partial.unlink(missing_ok=True)
        if cancel is not None and cancel.cancelled:
            raise Cancelled("backup cancelled") from None
        raise ProjectError(f"{db_path}: cannot back up ({exc})") from None
    finally:
        conn.close()
    os.replace(partial, dest)
    rolling = [b for b in list_backups(db_path) if b.kind == "rolling"]
    for old in rolling[keep:]:
        old.path.unlink(missing_ok=True)
    return dest


def list_backups(db_path: Path) -> list[Backup]:
    """Rolling and pre-migration backups of the database, newest first."""
    found: list[Backup] = []
    for path in backup_dir(db_path).glob("project-*.db"):
        stamp = path.stem.removeprefix("project-")
        if (time := _parse(stamp)) is not None:
            found.append(Backup(path, time, "rolling"))
    for path in db_path.parent.glob(f"{DB_FILE}.bak-*"):
        stamp = path.name.rsplit("-", 1)[-1]
        if (time := _parse(stamp)) is not None:
            found.append(Backup(path, time, "pre-migration"))
    return sorted(found, key=lambda b: b.time, reverse=True)


def _parse(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def in_use(db_path: Path) -> bool:
    """True while a connection (in any process) holds the database."""
    try:
        with exclusive_connection(db_path):
            return False
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc) or "busy" in str(exc)
    except sqlite3.DatabaseError:
        return False  # damaged beyond reading its header: nobody can be using it


def restore_backup(db_path: Path, backup: Path, now: datetime | None = None) -> Path:
    """Replace the database with ``backup``; returns where the replaced file was kept."""
    if not backup.is_file():
        raise ProjectError(f"{backup}: no such backup")
    problems = quick_check(backup)
    if problems:
        raise ProjectError(f"{backup}: the backup itself is damaged ({problems[0]})")
    if db_path.exists() and in_use(db_path):
        raise ProjectError(f"{db_path}: the project is open elsewhere; close it first")
    stamp = (now or datetime.now(UTC)).strftime(_STAMP)
    kept = db_path.with_name(f"damaged-{stamp}.db")
    if db_path.exists():
        os.replace(db_path, kept)
    for suffix in ("-wal", "-journal"):
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            os.replace(side, kept.with_name(kept.name + suffix))
    db_path.with_name(db_path.name + "-shm").unlink(missing_ok=True)
    partial = db_path.with_name(f".restoring-{stamp}.db")
    shutil.copyfile(backup, partial)
    os.replace(partial, db_path)
    return kept
