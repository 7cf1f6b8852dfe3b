"""Search a project's samples by a substring, some words, or a regular expression, on the
sample's text, its id and (images) its file, in SQL and fast at a million samples.

Indexes (built by migration ``0009d`` and kept up to date on import):

* SQLite: ``sample_fts``, an FTS5 table with the ``trigram`` tokenizer over ``sample.text``,
  ``sample.external_id`` and ``sample.file_ref`` (external content: it stores only the index). Any substring of
  three characters or more is answered from it (``MATCH '"..."'``), case-insensitive.
  An SQLite older than 3.34 has no trigram tokenizer: the migration leaves the table out and
  searches scan (``LIKE``), slower but the same answers.
* PostgreSQL: ``pg_trgm`` GIN indexes on the same three columns, which
  serve ``ILIKE '%...%'`` and the regular-expression operator ``~*``. Without the extension
  (a server that does not ship it) the same queries scan.

Regular expressions are Python's on SQLite (a ``regexp`` function registered on the
connection) and PostgreSQL's own (``~*``) there; both case-insensitive. They are bounded: a
search that runs past :data:`REGEX_SECONDS` stops with :class:`SearchError` instead of
holding the database. On SQLite the literal runs a pattern requires (``error`` in
``error \\d+ at``) first narrow the rows through the trigram index, so most patterns never
scan.

Shorter than three characters, a substring has no trigram to look up: it scans.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa

from labeler.errors import LabelerError
from labeler.store import schema as t

if TYPE_CHECKING:
    from labeler.store.project_store import Store

FTS_TABLE = "sample_fts"
MIN_TRIGRAM = 3  # characters a substring needs to be looked up in a trigram index
REGEX_SECONDS = 5.0  # a regular-expression search stops after this long
MAX_PATTERN = 500  # characters of a search query

_fts = sa.table(FTS_TABLE, sa.column("rowid"))
_has_fts: WeakKeyDictionary[sa.Engine, bool] = WeakKeyDictionary()


class SearchError(LabelerError):
    """A search that cannot run (empty, a bad regular expression) or ran out of time."""


@dataclass(frozen=True)
class SearchQuery:
    """What to look for in the samples' text and id.

    ``text`` is one substring (case-insensitive); with ``words`` every word of it must occur
    somewhere (a keyword search); with ``regex`` it is a regular expression.
    """

    text: str
    regex: bool = False
    words: bool = False

    def __post_init__(self) -> None:
        text = self.text.strip()
        if not text:
            raise SearchError("the search is empty")
        if len(text) > MAX_PATTERN:
            raise SearchError(f"the search is longer than {MAX_PATTERN} characters")
        object.__setattr__(self, "text", text)
        if self.regex:
            try:
                re.compile(text)
            except re.error as exc:
                raise SearchError(f"not a regular expression: {text!r} ({exc})") from None

    def describe(self) -> str:
        return f"/{self.text}/" if self.regex else repr(self.text)


# -- the index ---------------------------------------------------------------------------------


def has_fts(conn: sa.Connection) -> bool:
    """Whether this SQLite database has the trigram index (False on PostgreSQL)."""
    if conn.dialect.name != "sqlite":
        return False
    engine = conn.engine
    known = _has_fts.get(engine)
    if known is None:
        query = sa.text("SELECT 1 FROM sqlite_master WHERE type='table' AND name=:n")
        known = conn.execute(query, {"n": FTS_TABLE}).first() is not None
        _has_fts[engine] = known
    return known


def _store_has_fts(store: Store) -> bool:
    engine = store.engine
    if engine.dialect.name != "sqlite":
        return False
    known = _has_fts.get(engine)
    if known is None:
        with store.read() as conn:
            known = has_fts(conn)
    return known


def index_new_samples(
    cursor: sqlite3.Cursor,
    ids: list[int],
    external_ids: list[str],
    texts: list[str | None],
    files: list[str | None],
) -> None:
    """Add just-imported samples to the SQLite trigram index (in the import's transaction:
    the index changes with the samples or not at all)."""
    cursor.executemany(
        f"INSERT INTO {FTS_TABLE} (rowid, text, external_id, file_ref) VALUES (?, ?, ?, ?)",
        zip(ids, texts, external_ids, files, strict=True),
    )


# -- building the condition ----------------------------------------------------------------------


def _phrase(text: str) -> str:
    """An FTS5 string literal: with the trigram tokenizer, the substring itself."""
    return '"' + text.replace('"', '""') + '"'


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def required_literals(pattern: str) -> list[str]:
    """Runs of literal characters every match of ``pattern`` contains (at least
    :data:`MIN_TRIGRAM` long): the top-level concatenation's literals, nothing inside
    groups, alternatives or repeats. Empty when the pattern guarantees none."""
    from re import _parser  # type: ignore[attr-defined]

    try:
        items = _parser.parse(pattern, re.IGNORECASE)
    except re.error:
        return []
    runs, run = [], []
    for op, arg in items:
        if op is _parser.LITERAL:
            run.append(chr(arg))
            continue
        if op is _parser.AT:  # ^, $, \b: zero width, the run goes on past them
            continue
        runs.append("".join(run))
        run = []
    runs.append("".join(run))
    return [r for r in runs if len(r) >= MIN_TRIGRAM]


def _columns(s: sa.Table) -> tuple[Any, ...]:
    """The columns searched: the text, the id, an image's file."""
    return (s.c.text, s.c.external_id, s.c.file_ref)


def sample_condition(store: Store, query: SearchQuery) -> Any:
    """A WHERE term on ``sample`` rows that match ``query``."""
    s = t.sample
    if store.engine.dialect.name == "postgresql":
        return _pg_condition(s, query)
    fts = _store_has_fts(store)
    if query.regex:
        match = sa.or_(*(sa.func.regexp(query.text, c) for c in _columns(s)))
        literals = required_literals(query.text) if fts else []
        if literals:
            return sa.and_(_fts_ids(s, " AND ".join(map(_phrase, literals))), match)
        return match
    parts = query.text.split() if query.words else [query.text]
    indexed = [p for p in parts if fts and len(p) >= MIN_TRIGRAM]
    terms = [_sqlite_like(s, p) for p in parts if p not in indexed]
    if indexed:
        terms.insert(0, _fts_ids(s, " AND ".join(map(_phrase, indexed))))
    return sa.and_(*terms)


def _fts_ids(s: sa.Table, expression: str) -> Any:
    match = sa.literal_column(FTS_TABLE).op("MATCH")(expression)
    return s.c.id.in_(sa.select(_fts.c.rowid).where(match))


def _sqlite_like(s: sa.Table, part: str) -> Any:
    pattern = _like(part)
    return sa.or_(*(c.like(pattern, escape="\\") for c in _columns(s)))


def _pg_condition(s: sa.Table, query: SearchQuery) -> Any:
    if query.regex:
        return sa.or_(*(c.op("~*")(query.text) for c in _columns(s)))
    parts = query.text.split() if query.words else [query.text]
    return sa.and_(*(sa.or_(*(c.ilike(_like(p), escape="\\") for c in _columns(s))) for p in parts))


def sample_ids_matching(store: Store, query: SearchQuery) -> sa.Select:
    """``SELECT id`` of the project's samples matching ``query``, for other queries' ``IN``
    (e.g. the review table's filter; run it inside :func:`bounded`).

    The matches are a materialized CTE: the database finds them first through the index and
    joins the few ids, instead of testing the search row by row while it walks another
    table (PostgreSQL's planner does that when its row estimates are off, e.g. right after
    a large import: 7 s instead of 0.1 s at 1M samples).
    """
    s = t.sample
    matches = (
        sa.select(s.c.id)
        .where(s.c.project_id == store.project_id, sample_condition(store, query))
        .cte("search_matches")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return sa.select(matches.c.id)


# -- running it ----------------------------------------------------------------------------------


@contextmanager
def bounded(
    conn: sa.Connection, query: SearchQuery | None, seconds: float = REGEX_SECONDS
) -> Iterator[None]:
    """Run searches for ``query`` on ``conn`` inside this block: registers the ``regexp``
    function (SQLite), bounds a regular expression's time, and turns the database's errors
    about the search into a one-line :class:`SearchError`."""
    if query is None or not query.regex:
        yield
        return
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        _register_regexp(raw, time.monotonic() + seconds)  # type: ignore[arg-type]
    else:
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(seconds * 1000)}")
    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise _search_error(exc, query, seconds) from None


def _register_regexp(raw: sqlite3.Connection, deadline: float) -> None:
    cache: dict[str, re.Pattern[str]] = {}

    def regexp(pattern: str, value: str | None) -> bool:
        if time.monotonic() > deadline:
            raise TimeoutError("regular expression search took too long")
        compiled = cache.get(pattern)
        if compiled is None:
            compiled = cache[pattern] = re.compile(pattern, re.IGNORECASE)
        return value is not None and compiled.search(value) is not None

    raw.create_function("regexp", 2, regexp, deterministic=True)


def _search_error(exc: sa.exc.DBAPIError, query: SearchQuery, seconds: float) -> SearchError:
    text = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    lowered = text.lower()
    timed_out = (
        "user-defined function raised exception" in lowered
        or "statement timeout" in lowered
        # PostgreSQL's regex engine, cancelled by the statement timeout while it compiles or
        # runs the pattern, reports an "invalid regular expression" instead
        or "operation cancelled" in lowered
        or getattr(exc.orig, "sqlstate", None) == "57014"  # query_canceled
    )
    if timed_out:
        return SearchError(
            f"the search {query.describe()} took longer than {seconds:g} s: "
            "add a word the samples must contain"
        )
    return SearchError(f"cannot search for {query.describe()}: {text}")


def search_ids(
    store: Store,
    query: SearchQuery,
    *,
    unlabeled_only: bool = False,
    limit: int | None = None,
    seconds: float = REGEX_SECONDS,
) -> list[int]:
    """Ids of the project's samples matching ``query``, ascending (the first ``limit``);
    ``unlabeled_only``: leaving out samples with a current label."""
    s, st = t.sample, t.sample_state
    select = sa.select(s.c.id).where(
        s.c.project_id == store.project_id, sample_condition(store, query)
    )
    if unlabeled_only:  # an anti-join (NOT IN would read every labeled id first)
        labeled = sa.exists().where(st.c.sample_id == s.c.id, st.c.status == "labeled")
        select = select.where(~labeled)
    select = select.order_by(s.c.id)
    if limit is not None:
        select = select.limit(limit)
    with store.read() as conn, bounded(conn, query, seconds):
        return [int(i) for i in conn.execute(select).scalars()]
