"""Moving a project made by an earlier version into the ``.labeler/`` layout.

Earlier versions kept ``project.db`` (and its ``-wal`` and ``-shm`` files) at the top of the
project folder, where file dialogs list them and read their first bytes. Opening such a
project moves the database into ``.labeler/``, but only when no other process has it open:
SQLite is asked for an exclusive lock first (which fails while any connection elsewhere
holds the file), the WAL is folded into the database file, and the now self-contained file
is renamed. When another process has it open, the project opens where it is and the move is
tried again next time.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labeler.store.location import DB_DIR, DB_FILE, db_file, legacy_db_file

log = logging.getLogger(__name__)


def relocate_legacy(folder: Path) -> bool:
    """Move ``folder/project.db`` into ``folder/.labeler/``; True if it was moved."""
    old, new = legacy_db_file(folder), db_file(folder)
    if not old.is_file() or new.exists():
        return False
    if not _fold_wal_exclusively(old):
        log.warning("%s is open in another process; it stays where it is for now", old)
        return False
    new.parent.mkdir(exist_ok=True)
    old.rename(new)
    for suffix in ("-wal", "-shm"):
        leftover = old.with_name(DB_FILE + suffix)
        leftover.unlink(missing_ok=True)  # empty after the fold: SQLite rebuilds them
    for backup in folder.glob(f"{DB_FILE}.bak-*"):
        backup.rename(new.parent / backup.name)
    log.info("moved %s into %s/", old, DB_DIR)
    return True


def _fold_wal_exclusively(path: Path) -> bool:
    """Take the database for this connection alone and fold its WAL into the main file.

    Returns False (changing nothing) when another connection holds it, or when it is not a
    Labeler database at all.
    """
    try:
        with exclusive_connection(path) as conn:
            query = "SELECT name FROM sqlite_master WHERE type='table'"
            tables = {r[0] for r in conn.execute(query)}
            conn.execute("COMMIT")  # the exclusive lock stays (locking_mode EXCLUSIVE)
            if not {"project", "alembic_version"} <= tables:
                return False  # not a Labeler database: leave the user's file alone
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            return str(mode).lower() == "delete"
    except sqlite3.DatabaseError:
        return False


@contextmanager
def exclusive_connection(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection holding the database file alone, in an exclusive transaction.

    Raises ``sqlite3.OperationalError`` ("database is locked") at once while any other
    connection, in any process, holds the file; ``sqlite3.DatabaseError`` when it is not a
    readable database."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        yield conn
    finally:
        conn.close()
