"""Project counts read from ``state_tally`` (kept by database triggers, migration 0009).

:func:`project_counts` costs a read of a few rows (one per state, plus the import batches)
whatever the size of the project: what the annotate view reads after every undo and every
retrain. On PostgreSQL the triggers append signed delta rows; when a project has more than
:data:`FOLD_ABOVE` of them, the reader folds them into one row per state, in one statement
that only removes rows it has read (rows of transactions still open are left for later).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labeler.store import schema as t

if TYPE_CHECKING:
    from labeler.store.project_store import Store

FOLD_ABOVE = 200


@dataclass(frozen=True)
class ProjectCounts:
    """How many samples a project holds and how many are in each state."""

    samples: int
    labeled: int
    skipped: int
    flagged: int
    per_class: dict[str, int] = field(default_factory=dict)

    @property
    def unlabeled(self) -> int:
        return self.samples - self.labeled


# built once: the annotate view reads the counts after every undo
_SAMPLES = sa.select(sa.func.coalesce(sa.func.sum(t.import_batch.c.row_count), 0)).where(
    t.import_batch.c.project_id == sa.bindparam("pid")
)
_TALLY = sa.select(
    t.state_tally.c.status, t.state_tally.c.labels, t.state_tally.c.flagged, t.state_tally.c.n
).where(t.state_tally.c.project_id == sa.bindparam("pid"))


def project_counts(store: Store) -> ProjectCounts:
    """The project's counts from the tally; see the module docstring."""
    params = {"pid": store.project_id}
    with store.read() as conn:
        n_samples = conn.execute(_SAMPLES, params).scalar_one()
        rows = conn.execute(_TALLY, params).all()
    if len(rows) > FOLD_ABOVE:
        fold(store)
    labeled = skipped = flagged = 0
    per_class = {name: 0 for name in store.info.label_names}
    for status, labels, is_flagged, n in rows:
        n = int(n)
        if not n:
            continue
        if status == "labeled":
            labeled += n
            for name in json.loads(labels or "[]"):
                per_class[name] = per_class.get(name, 0) + n
        elif status == "skipped":
            skipped += n
        if is_flagged:
            flagged += n
    return ProjectCounts(int(n_samples), labeled, skipped, flagged, per_class)


def fold(store: Store) -> None:
    """Replace a project's tally rows by one row per state (their sums; zero sums dropped)."""
    pid = int(store.project_id)
    with store.write() as conn:
        if conn.dialect.name == "sqlite":  # one row per state already; drop emptied states
            conn.execute(
                t.state_tally.delete().where(
                    t.state_tally.c.project_id == pid, t.state_tally.c.n == 0
                )
            )
            return
        conn.execute(
            sa.text(
                "WITH gone AS (DELETE FROM state_tally WHERE project_id = :pid "
                "RETURNING status, labels, flagged, n) "
                "INSERT INTO state_tally (project_id, status, labels, flagged, n) "
                "SELECT :pid, status, labels, flagged, sum(n) FROM gone "
                "GROUP BY status, labels, flagged HAVING sum(n) <> 0"
            ),
            {"pid": pid},
        )


def labels_per_annotator(store: Store) -> dict[str, int]:
    """Samples on which each annotator has an active label, counted in SQL.

    A label event is active unless an undo that is itself active targets it; an undo is
    cancelled by a redo targeting it. Undo only targets labels, skips, flags and
    adjudications and redo only undos (:class:`~labeler.store.labels.LabelLog`), so these
    two steps are the whole of :func:`~labeler.store.derive.cancelled_ids`.
    """
    ev = t.label_event
    pid = store.project_id
    undo = ev.alias("u")
    redo = ev.alias("r")
    active_undos = (
        sa.select(undo.c.target_event_id)
        .select_from(
            undo.outerjoin(
                redo,
                sa.and_(
                    redo.c.target_event_id == undo.c.id,
                    redo.c.action == "redo",
                    redo.c.project_id == pid,
                ),
            )
        )
        .where(undo.c.project_id == pid, undo.c.action == "undo", redo.c.id.is_(None))
    )
    pairs = (
        sa.select(ev.c.annotator, ev.c.sample_id)
        .where(
            ev.c.project_id == pid,
            ev.c.action == "label",
            ev.c.id.not_in(active_undos.scalar_subquery()),
        )
        .distinct()
        .subquery()
    )
    with store.read() as conn:
        rows = conn.execute(
            sa.select(pairs.c.annotator, sa.func.count())
            .group_by(pairs.c.annotator)
            .order_by(pairs.c.annotator)
        ).all()
    return {str(a): int(n) for a, n in rows}
