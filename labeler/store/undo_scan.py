"""Find what undo and redo act on by reading an annotator's events newest first, page by page.

An undo or redo always has a larger id than the event it reverts, so scanning newest first
sees every reverting event before its target: whether an event is cancelled is known from
the events already read (the same rule as :func:`~labeler.store.derive.cancelled_ids`).
The scan stops at the first answer, so undo costs a page or two of the annotator's newest
events (index ``ix_label_event_annotator``), not a read of their whole history: the same at
500k labels as at 100.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.derive import REVERTING

PAGE = 64


_EV = t.label_event
# built once (an undo is a key press): the newest page, and the page below a given id
_PAGE = (
    sa.select(_EV)
    .where(_EV.c.project_id == sa.bindparam("pid"), _EV.c.annotator == sa.bindparam("who"))
    .order_by(_EV.c.id.desc())
    .limit(PAGE)
)
_PAGE_BELOW = _PAGE.where(_EV.c.id < sa.bindparam("below"))


def _newest_first(conn: sa.Connection, project_id: int, annotator: str) -> Iterator[sa.Row]:
    params: dict[str, object] = {"pid": project_id, "who": annotator}
    query = _PAGE
    while True:
        rows = conn.execute(query, params).all()
        yield from rows
        if len(rows) < PAGE:
            return
        query, params = _PAGE_BELOW, {**params, "below": rows[-1].id}


def latest_undoable(
    conn: sa.Connection, project_id: int, annotator: str, undoable: tuple[str, ...]
) -> sa.Row | None:
    """The annotator's newest event with an action in ``undoable`` that is not cancelled."""
    cancelled: set[int] = set()
    for row in _newest_first(conn, project_id, annotator):
        if row.id in cancelled:
            continue
        if row.action in REVERTING:
            if row.target_event_id is not None:
                cancelled.add(row.target_event_id)
        elif row.action in undoable:
            return row
    return None


def latest_redoable(
    conn: sa.Connection, project_id: int, annotator: str, undoable: tuple[str, ...]
) -> sa.Row | None:
    """The annotator's newest active undo, if nothing undoable was done after it."""
    cancelled: set[int] = set()
    for row in _newest_first(conn, project_id, annotator):
        if row.id in cancelled:
            continue
        if row.action == "undo":
            return row
        if row.action in REVERTING:
            if row.target_event_id is not None:
                cancelled.add(row.target_event_id)
        elif row.action in undoable:
            return None  # something new was done after the last undo
    return None
