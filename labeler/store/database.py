"""Database engines and schema migrations.

SQLite settings, chosen for an annotator's desktop:

* ``journal_mode=WAL``: readers (the retrain worker, review views) never block the writer.
* ``synchronous=FULL``: every commit is fsync'ed, so a label the annotator saw as saved
  survives a killed process *and* a power cut. WAL + NORMAL would survive only the former;
  the cost of FULL is one fsync per label, which is small next to human labeling speed.
* ``foreign_keys=ON`` and a 30 s ``busy_timeout`` so concurrent writers wait instead of failing.
* ``page_size=16384`` for new project files (an existing file keeps its page size). Measured
  against 4 KiB and 64 KiB pages at 1M rows: bulk import about 15% faster than with 4 KiB
  (64 KiB: 20%), and the review mode as fast or faster (64 KiB made its statistics 40%
  slower: every random row lookup reads a whole page). One label's commit stays well under
  a millisecond. The page cache is 16 MiB per connection.

Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so a writer takes the write lock
up front (no deadlocking lock upgrade); read transactions stay deferred.

PostgreSQL connections never wait forever (see :class:`ServerTimeouts`): a connection attempt
gives up after ``connect_timeout`` (libpq's; ``PGCONNECT_TIMEOUT`` overrides the default), TCP
keepalives notice a peer that vanished, and an engine made for the desktop app also sets the
server's ``statement_timeout`` and ``lock_timeout`` and drops a connection whose call is not
answered within ``answer_s`` (a frozen server, which no TCP-level check notices). A dropped
connection is discarded by the pool, and ``pool_pre_ping`` replaces pooled connections the
server closed (a restart, a terminated backend) before they are used. :func:`server_problem`
(:mod:`labeler.store.faults`) turns any of these failures into one line naming the server,
for the CLI and the GUI.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from labeler.errors import ProjectError
from labeler.store.faults import name_errors, server_address

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_PAGE_SIZE = 16384  # bytes; applies when a database file is created (see module doc)
SQLITE_CACHE_KIB = 16384  # page cache per connection: 1024 pages of 16 KiB


def utcnow() -> datetime:
    """Current UTC time as a naive datetime (the store keeps all times in UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class ServerTimeouts:
    """How long a PostgreSQL client waits before it gives up (seconds; None: no limit).

    ``connect_s``: libpq ``connect_timeout``, the whole connection set-up (unless the URL or
    ``PGCONNECT_TIMEOUT`` sets one). ``statement_s`` / ``lock_s``: the server's
    ``statement_timeout`` and ``lock_timeout``. ``answer_s``: a call (statement, commit,
    ping) not answered in full within this time has its connection dropped and fails with
    ``OperationalError``: what tells a frozen server from a slow one, since the kernel of a
    frozen server still acknowledges TCP. Set it above ``statement_s`` so a live server
    cancels a slow statement first.
    """

    connect_s: int = 10
    statement_s: float | None = None
    lock_s: float | None = None
    answer_s: float | None = None


# Command-line tools: a frozen or vanished server is noticed when connecting; long imports,
# exports and training reads are not cut short.
BATCH_TIMEOUTS = ServerTimeouts()
# The desktop app: every call of an annotate session is small, and the annotator is told
# within seconds that the server is gone instead of waiting on it.
INTERACTIVE_TIMEOUTS = ServerTimeouts(connect_s=5, statement_s=30, lock_s=10, answer_s=35)
# a peer that vanished (host down, network cut) is noticed after about a minute of silence
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def make_engine(url: str, timeouts: ServerTimeouts | None = None) -> sa.Engine:
    """Create an engine with the project's connection settings (``timeouts``: PostgreSQL
    only, :data:`BATCH_TIMEOUTS` by default)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # new databases only
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        name_errors(engine, "labeler_db_file", engine.url.database or url)
        return engine
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ProjectError(f"{url}: cannot use this database URL ({exc})") from None
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        _limit_waits(engine, timeouts or BATCH_TIMEOUTS)
    if engine.dialect.name == "postgresql":
        name_errors(engine, "labeler_server", server_address(url))
    return engine


def _limit_waits(engine: sa.Engine, timeouts: ServerTimeouts) -> None:
    """Connect through :class:`_AnswerDeadline` connections with the given limits."""
    options = []
    if timeouts.statement_s is not None:
        options.append(f"-c statement_timeout={int(timeouts.statement_s * 1000)}")
    if timeouts.lock_s is not None:
        options.append(f"-c lock_timeout={int(timeouts.lock_s * 1000)}")

    @sa.event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        if "connect_timeout" not in cparams and not os.environ.get("PGCONNECT_TIMEOUT"):
            cparams["connect_timeout"] = timeouts.connect_s
        for key, value in KEEPALIVES.items():
            cparams.setdefault(key, value)
        if options:
            cparams["options"] = " ".join([cparams.get("options", ""), *options]).strip()
        conn = _answer_deadline_class().connect(*cargs, **cparams)
        conn.answer_s = timeouts.answer_s
        return conn


_DEADLINE_CLASS: Any = None


def _answer_deadline_class() -> Any:
    """A psycopg connection that drops itself when a call is not answered in time."""
    global _DEADLINE_CLASS
    if _DEADLINE_CLASS is not None:
        return _DEADLINE_CLASS
    import psycopg

    class _AnswerDeadline(psycopg.Connection):  # type: ignore[type-arg]
        answer_s: float | None = None

        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            limit = self.answer_s
            if limit is None or timeout is not None:
                return super().wait(gen, interval=interval, timeout=timeout)
            started = time.monotonic()
            try:
                return super().wait(gen, interval=interval, timeout=limit)
            except psycopg.OperationalError:
                if time.monotonic() - started < limit:
                    raise
                # no full answer within `limit` s: give the connection up (the pool discards
                # a closed connection) and say why in the error
                self.pgconn.finish()
                raise psycopg.OperationalError(
                    f"no answer from the server within {limit:g} s"
                ) from None

    _DEADLINE_CLASS = _AnswerDeadline
    return _DEADLINE_CLASS


def _alembic_config(conn: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known_revisions() -> set[str]:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return {rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()}


def migrate(
    engine: sa.Engine, sqlite_path: Path | None, target: str = "head", *, create: bool = False
) -> Path | None:
    """Bring the schema to ``target``. Returns the backup file made before migrating, if any.

    An existing SQLite database is copied (online backup API, WAL-safe) before any migration
    runs, so a failed or unwanted upgrade can be rolled back by hand. A database without
    Labeler's schema is only set up when ``create`` is true (``labeler init``); a schema from
    a newer Labeler is refused, untouched.
    """
    current = current_revision(engine)
    wanted = head_revision() if target == "head" else target
    if current == wanted:
        return None
    if current is None and not create:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
        if "project" not in tables:
            raise ProjectError(
                f"{redact(str(engine.url))}: not a Labeler database (no Labeler tables)"
            )
    if current is not None and current not in known_revisions():
        raise ProjectError(
            f"{redact(str(engine.url))}: made by a newer Labeler (schema revision {current}); "
            "upgrade Labeler to open it"
        )
    backup = None
    if current is not None and sqlite_path is not None and sqlite_path.exists():
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        backup = sqlite_path.with_name(f"{sqlite_path.name}.bak-{current}-{stamp}")
        copy_database_file(sqlite_path, backup)
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        command.upgrade(_alembic_config(conn), target)
    return backup


def redact(url: str) -> str:
    """A database URL with its password hidden (for messages)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def copy_database_file(path: Path, dest: Path) -> None:
    """Consistent copy of a live SQLite database (online backup API: safe with WAL)."""
    src = sqlite3.connect(path)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    shutil.copystat(path, dest)
