"""Has this process lost SQLite's file locks? (Linux: read from ``/proc/locks``.)

SQLite coordinates processes with POSIX advisory locks, and POSIX drops *every* lock a
process holds on a file as soon as the process closes *any* descriptor of that file. So a
file dialog, an image preview or a hashing routine that merely opens and closes
``project.db-shm`` silently strips the app's locks; the retrain worker process then acts as
if it were alone with the WAL, and the two processes' writes overlap (SQLite's "How To
Corrupt An SQLite Database File", section 2.2).

While a process holds an open WAL-mode connection, SQLite keeps a shared lock on the
``-shm`` file (its "DMS" byte). :func:`locks_lost` checks that this lock is still there for
a store whose engine holds connections. It is a defence in depth: the layout keeps the
files where nothing else looks (``.labeler/``), and the GUI's file dialogs never read file
contents; this check catches a future path that does.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC_LOCKS = Path("/proc/locks")


def locks_held(path: Path, pid: int | None = None) -> int | None:
    """Number of POSIX locks process ``pid`` (default: this one) holds on ``path``.

    None where it cannot be told (no ``/proc/locks``, or the file is gone).
    """
    if not PROC_LOCKS.exists():
        return None
    try:
        st = os.stat(path)
        text = PROC_LOCKS.read_text()
    except OSError:
        return None
    want_pid = os.getpid() if pid is None else pid
    dev = (os.major(st.st_dev), os.minor(st.st_dev))
    count = 0
    for line in text.splitlines():
        # "1: POSIX  ADVISORY  READ 1234 fd:01:5678 128 128" ("->" marks a blocked waiter)
        fields = line.split()
        if len(fields) < 6 or fields[1] == "->" or fields[1] != "POSIX":
            continue
        try:
            lock_pid = int(fields[4])
            major, minor, inode = fields[5].split(":")
            lock_dev = (int(major, 16), int(minor, 16))
        except ValueError:
            continue
        if lock_pid == want_pid and int(inode) == st.st_ino and lock_dev == dev:
            count += 1
    return count


def locks_lost(db_path: Path, open_connections: int) -> bool:
    """True when this process holds SQLite connections on ``db_path`` but no lock on its
    shared-memory file any more (something else opened and closed one of its files)."""
    if open_connections <= 0:
        return False
    shm = db_path.with_name(db_path.name + "-shm")
    held = locks_held(shm)
    return held == 0
