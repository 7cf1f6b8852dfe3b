"""What went wrong with the database, in one line a user can act on.

Every engine made by :func:`labeler.store.database.make_engine` names its database on the
errors it raises (:func:`name_errors`): the PostgreSQL server as ``host:port`` (never a user
or password), or the SQLite file. :func:`server_problem` and :func:`storage_problem` turn a
failure of the server (unreachable, gone, frozen, out of disk, a timeout) or of the file's
disk (full, I/O error, locked, read-only) into one line naming it, without the driver's own
text; other errors (a bug, bad input, a damaged file) give None and are reported as before.
The CLI prints the line and exits 2; the GUI says "not saved" and shows it.
"""

from __future__ import annotations

import contextlib

import sqlalchemy as sa


def name_errors(engine: sa.Engine, attribute: str, name: str) -> None:
    """Set ``attribute`` = ``name`` on every error ``engine`` raises (and on the driver's)."""

    @sa.event.listens_for(engine, "handle_error")
    def _name(ctx: sa.engine.ExceptionContext) -> None:
        for exc in (ctx.sqlalchemy_exception, ctx.original_exception):
            if exc is not None:
                with contextlib.suppress(AttributeError):
                    setattr(exc, attribute, name)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, the driver error it wraps, and what it was raised from."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = getattr(cur, "orig", None) or cur.__cause__ or cur.__context__
    return chain


def _named(chain: list[BaseException], attribute: str) -> str | None:
    return next((getattr(e, attribute) for e in chain if hasattr(e, attribute)), None)


def server_address(url: str) -> str:
    """``host:port`` of a PostgreSQL URL (never its user or password)."""
    try:
        u = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return "the database server"
    host = u.host or u.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = ",".join(host)
    port = u.port or u.query.get("port") or 5432
    return f"{host}:{port}" if not str(host).startswith("/") else f"{host} (socket)"


# SQLSTATE -> what happened, in words (no driver text reaches the user)
_SQLSTATE_WORDS = {
    "57P01": "lost the connection to the database server {server} (it shut down or ended it)",
    "57P02": "lost the connection to the database server {server} (it crashed)",
    "57P03": "the database server {server} is starting up or shutting down",
    "57014": "the database server {server} cancelled a statement that took too long",
    "55P03": "waited too long for a lock on the database server {server}",
    "53100": "the database server {server} is out of disk space",
    "53200": "the database server {server} is out of memory",
    "53300": "the database server {server} has too many connections",
    "25006": "the database server {server} is read-only (a standby?)",
}


def server_problem(exc: BaseException) -> str | None:
    """One line saying that the PostgreSQL server could not be reached, went away, stopped
    answering or refused work for lack of resources, naming it (``host:port``); None when
    ``exc`` is not such a failure. Never includes the driver's own text."""
    chain = _chain(exc)
    server = _named(chain, "labeler_server")
    if server is None:
        return None  # not from a PostgreSQL engine made here
    wrapped = next((e for e in chain if isinstance(e, sa.exc.DBAPIError)), None)
    driver = next((e for e in chain if type(e).__module__.startswith("psycopg")), None)
    if driver is None and wrapped is None:
        return None
    state = getattr(driver, "sqlstate", None)
    if state in _SQLSTATE_WORDS:
        return _SQLSTATE_WORDS[state].format(server=server)
    if state is not None and state.startswith("08"):
        return f"lost the connection to the database server {server}"
    invalidated = wrapped is not None and wrapped.connection_invalidated
    operational = isinstance(wrapped, sa.exc.OperationalError | sa.exc.InterfaceError) or (
        driver is not None and type(driver).__name__ in ("OperationalError", "InterfaceError")
    )
    if not (invalidated or operational or type(driver).__name__ == "ConnectionTimeout"):
        return None
    text = str(driver or wrapped).lower()
    if "no answer from the server within" in text:
        return f"the database server {server} stopped answering"
    if "timeout expired" in text:
        return f"cannot reach the database server {server} (no answer in time)"
    if "refused" in text:
        return f"cannot reach the database server {server} (connection refused)"
    if "password authentication failed" in text or "authentication" in text:
        return None  # a wrong password is the user's to fix, said as is
    if invalidated or "closed" in text or "terminat" in text or "connection" in text:
        return f"lost the connection to the database server {server}"
    return None


# SQLite's words (lower case) -> what happened to the file, in words
_SQLITE_WORDS = (
    ("database or disk is full", "the disk holding {path} is full"),
    ("disk i/o error", "cannot write {path} (disk I/O error)"),
    ("database is locked", "{path} is locked by another program"),
    ("readonly database", "{path} is read-only"),
    ("unable to open database file", "cannot open {path}"),
)


def storage_problem(exc: BaseException) -> str | None:
    """One line for an SQLite project whose file cannot be written (a full disk, an I/O
    error, a lock another program holds, a read-only file), naming the file; None for other
    errors (a damaged file among them: the GUI checks and reports those itself)."""
    chain = _chain(exc)
    driver = next((e for e in chain if type(e).__module__ == "sqlite3"), None)
    if driver is None:
        return None
    # a bulk write on the raw connection (import) raises SQLite's error unnamed
    path = _named(chain, "labeler_db_file") or "the project's database file"
    text = str(driver).lower()
    for words, line in _SQLITE_WORDS:
        if words in text:
            return line.format(path=path)
    return None


def store_problem(exc: BaseException) -> str | None:
    """:func:`server_problem` or :func:`storage_problem`, whichever applies."""
    return server_problem(exc) or storage_problem(exc)
