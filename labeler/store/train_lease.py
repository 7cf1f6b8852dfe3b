"""One trainer per project: a lock that the trainer holds while it trains.

A member who wants a retrain takes the project's trainer lock (:meth:`TrainLease.acquire`).
If a colleague holds it, the request is noted in the database instead (``train_lease.
pending``) and the holder runs exactly one more retrain when it finishes
(:meth:`TrainLease.release` says so): the whole team's retrain requests coalesce as one
app's do.

The lock is one the operating system or the server frees when its holder dies, so a killed
trainer never blocks the project (no expiry to wait for, no heartbeat to keep):

* PostgreSQL: a session-level advisory lock on a connection held for the retrain; the
  holder's name is written to ``train_lease`` for colleagues to see.
* SQLite: an exclusive ``flock`` on ``.trainer.lock`` in the project folder (the folder that
  holds ``project.db``, which SQLite already requires to be on a local file system); the
  holder's name is written into that file. Acquiring it writes nothing to the database.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.database import utcnow

if TYPE_CHECKING:
    from labeler.store.project_store import Store

_TRAINER_LOCK = 0x4C54_0000  # + project id: PostgreSQL advisory lock of the project's trainer
LOCK_FILE = ".trainer.lock"


@dataclass(frozen=True)
class LeaseHolder:
    holder: str
    session: str


def _upsert(conn: sa.Connection, project_id: int, **values: Any) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(t.train_lease).values(project_id=project_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["project_id"], set_=values))


class TrainLease:
    """The trainer lock as seen by one would-be trainer (``holder``, app ``session``)."""

    def __init__(self, store: Store, holder: str, session: str) -> None:
        self._store = store
        self.holder = holder
        self.session = session
        self._file: IO[str] | None = None
        self._conn: sa.Connection | None = None

    @property
    def _key(self) -> int:
        return _TRAINER_LOCK + int(self._store.project_id)

    @property
    def _path(self) -> Path:
        return self._store.artifacts_dir / LOCK_FILE

    def acquire(self, wait: bool = False) -> bool:
        """Take the lock (True), or note a request for its holder to run (False). With
        ``wait`` (``labeler train``), wait for a colleague's retrain to end instead."""
        lock = self._lock_file if self._store.location.is_sqlite else self._lock_pg
        got = lock(wait)
        if not got:
            with self._store.write() as conn:
                _upsert(conn, self._store.project_id, pending=True)
        return got

    def _lock_file(self, wait: bool) -> bool:
        fh = open(self._path, "a+", encoding="utf-8")  # noqa: SIM115 - held while training
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.close()
            return False
        fh.truncate(0)
        fh.write(json.dumps({"holder": self.holder, "session": self.session, "pid": os.getpid()}))
        fh.flush()
        self._file = fh
        return True

    def _lock_pg(self, wait: bool) -> bool:
        conn = self._store.engine.connect()
        try:
            with conn.begin():
                fn = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
                got = conn.execute(sa.text(f"SELECT {fn}(:k)"), {"k": self._key}).scalar()
                got = True if wait else bool(got)
            if not got:
                conn.close()
                return False
            with conn.begin():
                values = {"holder": self.holder, "session": self.session, "since": utcnow()}
                _upsert(conn, self._store.project_id, **values)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return True

    def release(self, keep_pending: bool = False) -> bool:
        """Give the lock back. True if a member asked for a retrain meanwhile: the caller
        should run one more (taking the lock again for it). ``keep_pending`` leaves the
        request noted for the next app that retrains (``labeler train`` runs only once)."""
        if self._file is not None:
            fh, self._file = self._file, None
            fh.truncate(0)
            fh.close()  # closing the file releases the lock
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                with conn.begin():
                    _upsert(conn, self._store.project_id, holder=None, session=None, since=None)
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            except sa.exc.DBAPIError:
                pass  # the connection is gone, and the server freed its lock with it
            finally:
                conn.close()
        # read after letting go: a request noted while we held the lock is seen here
        tl = t.train_lease
        with self._store.write() as conn:
            pending = conn.execute(
                sa.select(tl.c.pending).where(tl.c.project_id == self._store.project_id)
            ).scalar()
            if pending and not keep_pending:
                _upsert(conn, self._store.project_id, pending=False)
        return bool(pending)


def current_trainer(store: Store) -> LeaseHolder | None:
    """Who holds the project's trainer lock now (None when no one is training)."""
    if store.location.is_sqlite:
        path = store.artifacts_dir / LOCK_FILE
        if not path.is_file():
            return None
        with open(path, encoding="utf-8") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # held: read who holds it
                try:
                    doc = json.loads(fh.read() or "{}")
                except ValueError:
                    doc = {}
                return LeaseHolder(str(doc.get("holder", "a colleague")), str(doc.get("session")))
            return None  # we got it, so no one holds it (closing the file lets go)
    key = _TRAINER_LOCK + int(store.project_id)
    with store.engine.connect() as conn, conn.begin():
        free = conn.execute(
            sa.text("SELECT pg_try_advisory_lock_shared(:k)"), {"k": key}
        ).scalar_one()
        if free:
            conn.execute(sa.text("SELECT pg_advisory_unlock_shared(:k)"), {"k": key})
            return None
        tl = t.train_lease
        row = conn.execute(sa.select(tl).where(tl.c.project_id == store.project_id)).first()
    if row is None or row.holder is None:
        return LeaseHolder("a colleague", "")
    return LeaseHolder(row.holder, row.session or "")
