"""Unlabeled samples in import order, read from a cursor instead of from the start.

Without a model the annotate view takes unlabeled samples in import order. Read from the
first sample, that costs a scan over every labeled one before them (about a second at 500k
labels) on every fetch. :class:`UnlabeledCursor` remembers where the last answer began and
reads from there along the primary key (a fraction of a millisecond); only when that part
has too few samples left (the end, or samples made unlabeled again below the cursor) does it
read the whole project again, as before, with skipped samples last.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from labeler.store import schema as t


def unlabeled_from(conn: sa.Connection, project_id: int, after: int, limit: int) -> list[int]:
    """Up to ``limit`` ids above ``after`` of samples with no label and not skipped, ascending.
    (``project_id + 0``: SQLite then walks the primary key from ``after`` instead of
    sorting the project's samples.)"""
    st, s = t.sample_state, t.sample
    q = (
        sa.select(s.c.id)
        .select_from(s.outerjoin(st, st.c.sample_id == s.c.id))
        .where(
            (s.c.project_id + 0) == project_id,
            s.c.id > after,
            sa.or_(st.c.status.is_(None), st.c.status == "unlabeled"),
        )
        .order_by(s.c.id)
        .limit(limit)
    )
    return [int(r[0]) for r in conn.execute(q).all()]


def all_unlabeled(
    conn: sa.Connection, project_id: int, limit: int | None, exclude_skipped: bool
) -> list[tuple[int, str | None]]:
    """Ids (and status) of samples without a current label, ascending, skipped ones last."""
    st = t.sample_state
    q = (
        sa.select(t.sample.c.id, st.c.status)
        .select_from(t.sample.outerjoin(st, st.c.sample_id == t.sample.c.id))
        .where(
            t.sample.c.project_id == project_id,
            sa.or_(st.c.status.is_(None), st.c.status != "labeled"),
        )
        .order_by(sa.case((st.c.status == "skipped", 1), else_=0), t.sample.c.id)
    )
    if exclude_skipped:
        q = q.where(sa.or_(st.c.status.is_(None), st.c.status != "skipped"))
    if limit is not None:
        q = q.limit(limit)
    return [(int(r.id), r.status) for r in conn.execute(q).all()]


class UnlabeledCursor:
    """Where the last answer of unlabeled samples began (per open store; thread-safe)."""

    def __init__(self) -> None:
        self._after = 0
        self._lock = threading.Lock()

    def ids(
        self, conn: sa.Connection, project_id: int, limit: int | None, exclude_skipped: bool
    ) -> list[int]:
        if limit is not None and limit > 0:
            with self._lock:
                after = self._after
            found = unlabeled_from(conn, project_id, after, limit)
            if len(found) == limit:
                self._move(found[0] - 1)
                return found
        rows = all_unlabeled(conn, project_id, limit, exclude_skipped)
        fresh = [sid for sid, status in rows if status != "skipped"]
        self._move(fresh[0] - 1 if fresh else 0)
        return [sid for sid, _ in rows]

    def _move(self, after: int) -> None:
        with self._lock:
            self._after = max(0, after)
