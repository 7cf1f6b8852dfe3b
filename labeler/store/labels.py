"""The label log: append-only events and the derived current state of each sample.

Every method that appends commits before it returns: once it returns, the event is durable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from labeler.errors import LabelError
from labeler.store import schema as t
from labeler.store.database import utcnow
from labeler.store.derive import EventView, SampleState, cancelled_ids, derive_state
from labeler.store.label_cut import append_events
from labeler.store.records import LabelEvent, Provenance, dumps, loads_labels
from labeler.store.undo_scan import latest_redoable, latest_undoable
from labeler.store.unlabeled import UnlabeledCursor

if TYPE_CHECKING:
    from labeler.store.project_store import Store

UNDOABLE = ("label", "skip", "flag", "adjudicate")

# The statements of every label's write, built once: building a Core statement and its cache
# key costs more than executing it on SQLite, and each key press runs all of them.
_LE = t.label_event
_LOCK_SAMPLE = (
    sa.select(t.sample.c.id)
    .where(t.sample.c.project_id == sa.bindparam("pid"), t.sample.c.id == sa.bindparam("sid"))
    .with_for_update()
)
_VIEWS = (
    sa.select(_LE.c.id, _LE.c.action, _LE.c.annotator, _LE.c.labels, _LE.c.target_event_id)
    .where(_LE.c.project_id == sa.bindparam("pid"), _LE.c.sample_id == sa.bindparam("sid"))
    .order_by(_LE.c.id)
)
_STATE_DELETE = t.sample_state.delete().where(t.sample_state.c.sample_id == sa.bindparam("sid"))
_STATE_INSERT = t.sample_state.insert()


@dataclass(frozen=True)
class Reverted:
    """Result of undo/redo: the new event and the event (and sample) it affected."""

    event_id: int
    target: LabelEvent


class LabelLog:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._unlabeled = UnlabeledCursor()

    # -- appending -----------------------------------------------------------------------

    def add(
        self,
        sample_id: int,
        labels: Sequence[str],
        annotator: str,
        *,
        time_spent_ms: int | None = None,
        provenance: Provenance | None = None,
        session: str | None = None,
        comment: str = "",
        retry: bool = False,
    ) -> int:
        """Record ``annotator``'s label(s) for a sample (``comment``: why, for the audit
        trail). Returns the event id.

        ``retry``: this call repeats one whose outcome is unknown (the connection broke while
        it committed). If that attempt was committed, its event id is returned and nothing is
        written: the session's newest event on the sample is a label with the same labels and
        the same ``time_spent_ms`` (the attempt's own values, kept by the caller), not undone
        since. A label is never recorded twice by a retry."""
        return self._append(
            sample_id,
            "label",
            annotator,
            labels=self._validate(labels),
            comment=comment or None,
            time_spent_ms=time_spent_ms,
            provenance=provenance,
            session=session,
            retry=retry,
        )

    def skip(
        self,
        sample_id: int,
        annotator: str,
        *,
        time_spent_ms: int | None = None,
        provenance: Provenance | None = None,
        session: str | None = None,
        retry: bool = False,
    ) -> int:
        """Record that ``annotator`` skipped a sample. ``retry``: as for :meth:`add` (a skip
        whose answer was lost is not recorded twice)."""
        return self._append(
            sample_id,
            "skip",
            annotator,
            time_spent_ms=time_spent_ms,
            provenance=provenance,
            session=session,
            retry=retry,
        )

    def flag(
        self, sample_id: int, annotator: str, comment: str = "", *, session: str | None = None
    ) -> int:
        return self._append(sample_id, "flag", annotator, comment=comment or None, session=session)

    def adjudicate(
        self, sample_id: int, labels: Sequence[str], annotator: str, comment: str = ""
    ) -> int:
        """Set the final label of a sample, overriding annotators' labels."""
        return self._append(
            sample_id,
            "adjudicate",
            annotator,
            labels=self._validate(labels),
            comment=comment or None,
        )

    def undo(
        self,
        annotator: str,
        *,
        session: str | None = None,
        hold: bool = False,
        retry_after: int | None = None,
    ) -> Reverted | None:
        """Revert ``annotator``'s latest active label/skip/flag/adjudication. None if nothing to undo.

        ``hold``: an undone label or skip brings its sample back on the annotator's screen, so
        it is claimed again for ``session`` in the same transaction (one commit).
        ``retry_after``: this call repeats an undo whose outcome is unknown (its answer was
        lost), sent after the session's event ``retry_after`` was confirmed. If that attempt
        was committed (the session's newest event since is an undo), it is returned and
        nothing more is undone: a retry never undoes two decisions."""
        with self._store.write() as conn:
            done = self._committed_reversal(conn, "undo", annotator, session, retry_after)
            if done is not None:
                return done
            target = self._latest_undoable(conn, annotator)
            if target is None:
                return None
            self._lock_sample(conn, target.sample_id)
            eid = self._insert(
                conn,
                target.sample_id,
                "undo",
                annotator,
                target_event_id=target.id,
                session=session,
            )
            self._refresh(conn, target.sample_id)
            if hold and target.action in ("label", "skip"):
                self._store.claims.hold_again(conn, annotator, target.sample_id, session)
        return Reverted(eid, target)

    def redo(
        self, annotator: str, *, session: str | None = None, retry_after: int | None = None
    ) -> Reverted | None:
        """Cancel ``annotator``'s latest undo, if nothing was done since. None if nothing to
        redo. ``retry_after``: as for :meth:`undo`."""
        with self._store.write() as conn:
            done = self._committed_reversal(conn, "redo", annotator, session, retry_after)
            if done is not None:
                return done
            undo_event = self._latest_redoable(conn, annotator)
            if undo_event is None:
                return None
            target = self._event(conn, undo_event.target_event_id)  # type: ignore[arg-type]
            self._lock_sample(conn, undo_event.sample_id)
            eid = self._insert(
                conn,
                undo_event.sample_id,
                "redo",
                annotator,
                target_event_id=undo_event.id,
                session=session,
            )
            self._refresh(conn, undo_event.sample_id)
        return Reverted(eid, target)

    def _committed_reversal(
        self,
        conn: sa.Connection,
        action: str,
        annotator: str,
        session: str | None,
        after: int | None,
    ) -> Reverted | None:
        """The ``action`` (undo or redo) an earlier attempt committed, if the session's newest
        event after ``after`` is one (see :meth:`undo`)."""
        if after is None or session is None:
            return None
        row = conn.execute(
            sa.select(_LE.c.id, _LE.c.action, _LE.c.target_event_id)
            .where(
                _LE.c.project_id == self._store.project_id,
                _LE.c.annotator == annotator,
                _LE.c.session == session,
                _LE.c.id > after,
            )
            .order_by(_LE.c.id.desc())
            .limit(1)
        ).first()
        if row is None or row.action != action or row.target_event_id is None:
            return None
        target = self._event(conn, row.target_event_id)
        if action == "redo":  # a redo's target is the undo; report the decision it restored
            target = self._event(conn, target.target_event_id)  # type: ignore[arg-type]
        return Reverted(int(row.id), target)

    # -- reading -------------------------------------------------------------------------

    def events(
        self, sample_id: int | None = None, annotator: str | None = None
    ) -> list[LabelEvent]:
        """Events in the order they were appended (the audit trail)."""
        q = sa.select(t.label_event).where(t.label_event.c.project_id == self._store.project_id)
        if sample_id is not None:
            q = q.where(t.label_event.c.sample_id == sample_id)
        if annotator is not None:
            q = q.where(t.label_event.c.annotator == annotator)
        with self._store.read() as conn:
            return [_to_event(r) for r in conn.execute(q.order_by(t.label_event.c.id)).all()]

    def state(self, sample_id: int) -> SampleState:
        """Derived state of one sample, computed from its events."""
        with self._store.read() as conn:
            return derive_state(self._views(conn, sample_id))

    def current(self) -> pd.DataFrame:
        """Current labels of all labeled samples: columns ``sample_id``, ``labels`` (tuple), ``annotator``."""
        with self._store.read() as conn:
            rows = conn.execute(
                sa.select(
                    t.sample_state.c.sample_id, t.sample_state.c.labels, t.sample_state.c.annotator
                )
                .where(
                    t.sample_state.c.project_id == self._store.project_id,
                    t.sample_state.c.status == "labeled",
                )
                .order_by(t.sample_state.c.sample_id)
            ).all()
        return pd.DataFrame(
            [(r.sample_id, loads_labels(r.labels), r.annotator) for r in rows],
            columns=["sample_id", "labels", "annotator"],
        )

    def labeled_count(self) -> int:
        with self._store.read() as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(t.sample_state)
                .where(
                    t.sample_state.c.project_id == self._store.project_id,
                    t.sample_state.c.status == "labeled",
                )
            ).scalar_one()

    def by_annotator(self) -> pd.DataFrame:
        """Each annotator's active label per sample: columns ``sample_id``, ``annotator``, ``labels``."""
        with self._store.read() as conn:
            rows = conn.execute(
                sa.select(
                    t.label_event.c.id,
                    t.label_event.c.sample_id,
                    t.label_event.c.annotator,
                    t.label_event.c.action,
                    t.label_event.c.labels,
                    t.label_event.c.target_event_id,
                )
                .where(
                    t.label_event.c.project_id == self._store.project_id,
                    t.label_event.c.action.in_(("label", "undo", "redo")),
                )
                .order_by(t.label_event.c.id)
            ).all()
        views = [
            EventView(r.id, r.action, r.annotator, loads_labels(r.labels), r.target_event_id)
            for r in rows
        ]
        cancelled = cancelled_ids(views)
        latest: dict[tuple[int, str], tuple[str, ...]] = {}
        for r, v in zip(rows, views, strict=True):
            if v.action == "label" and v.id not in cancelled:
                latest[(r.sample_id, r.annotator)] = v.labels or ()
        return pd.DataFrame(
            [(s, a, lab) for (s, a), lab in latest.items()],
            columns=["sample_id", "annotator", "labels"],
        )

    def unlabeled_ids(self, limit: int | None = None, exclude_skipped: bool = False) -> list[int]:
        """Sample ids without a current label, ascending (skipped ones last unless excluded).
        With ``limit``, read from where the previous answer began when enough unlabeled
        samples follow it (:mod:`labeler.store.unlabeled`)."""
        with self._store.read() as conn:
            return self._unlabeled.ids(conn, self._store.project_id, limit, exclude_skipped)

    def rebuild_states(self) -> int:
        """Recompute every sample's derived state from the events. Returns samples touched."""
        with self._store.write() as conn:
            ids = (
                conn.execute(
                    sa.select(t.label_event.c.sample_id)
                    .where(t.label_event.c.project_id == self._store.project_id)
                    .distinct()
                )
                .scalars()
                .all()
            )
            conn.execute(
                t.sample_state.delete().where(t.sample_state.c.project_id == self._store.project_id)
            )
            for sid in ids:
                self._refresh(conn, sid)
        return len(ids)

    # -- internals -----------------------------------------------------------------------

    def _validate(self, labels: Sequence[str]) -> tuple[str, ...]:
        info = self._store.info
        if isinstance(labels, str):
            labels = [labels]
        labels = tuple(dict.fromkeys(labels))
        unknown = [x for x in labels if x not in info.label_names]
        if unknown:
            raise LabelError(
                f"unknown label {unknown[0]!r}; the labels are {', '.join(info.label_names)}"
            )
        if not info.multi_label and len(labels) != 1:
            raise LabelError(
                f"a {info.task_type} project takes exactly one label per sample, got {len(labels)}"
            )
        return labels

    def _append(
        self,
        sample_id: int,
        action: str,
        annotator: str,
        *,
        labels: tuple[str, ...] | None = None,
        comment: str | None = None,
        time_spent_ms: int | None = None,
        provenance: Provenance | None = None,
        session: str | None = None,
        retry: bool = False,
    ) -> int:
        if not annotator:
            raise LabelError("an annotator name is required")
        with self._store.write() as conn:
            exists = self._lock_sample(conn, sample_id)
            if exists is None:
                raise LabelError(f"sample {sample_id} is not in project {self._store.info.name!r}")
            if retry and session is not None:
                done = self._committed_attempt(
                    conn, sample_id, action, annotator, session, labels, time_spent_ms
                )
                if done is not None:
                    return done
            eid = self._insert(
                conn,
                sample_id,
                action,
                annotator,
                labels=labels,
                comment=comment,
                time_spent_ms=time_spent_ms,
                provenance=provenance,
                session=session,
            )
            self._refresh(conn, sample_id)
        return eid

    def _committed_attempt(
        self,
        conn: sa.Connection,
        sample_id: int,
        action: str,
        annotator: str,
        session: str,
        labels: tuple[str, ...] | None,
        time_spent_ms: int | None,
    ) -> int | None:
        """The id of the event an earlier attempt of this append committed, if it did: the
        session's newest event on the sample, when it is this very event (see ``add``)."""
        le = t.label_event
        row = conn.execute(
            sa.select(le.c.id, le.c.action, le.c.annotator, le.c.labels, le.c.time_spent_ms)
            .where(
                le.c.project_id == self._store.project_id,
                le.c.sample_id == sample_id,
                le.c.session == session,
            )
            .order_by(le.c.id.desc())
            .limit(1)
        ).first()
        if (
            row is not None
            and row.action == action
            and row.annotator == annotator
            and loads_labels(row.labels) == labels
            and row.time_spent_ms == time_spent_ms
        ):
            return int(row.id)
        return None

    def _lock_sample(self, conn: sa.Connection, sample_id: int) -> object | None:
        """Lock the sample's row until commit (PostgreSQL; SQLite's write lock covers it), so
        concurrent events on one sample derive its state one after the other."""
        return conn.execute(_LOCK_SAMPLE, {"pid": self._store.project_id, "sid": sample_id}).first()

    def _insert(
        self,
        conn: sa.Connection,
        sample_id: int,
        action: str,
        annotator: str,
        *,
        labels: tuple[str, ...] | None = None,
        target_event_id: int | None = None,
        comment: str | None = None,
        time_spent_ms: int | None = None,
        provenance: Provenance | None = None,
        session: str | None = None,
    ) -> int:
        prov = provenance or Provenance()
        (eid,) = append_events(
            conn,
            self._store.project_id,
            [
                {
                    "sample_id": sample_id,
                    "annotator": annotator,
                    "action": action,
                    "labels": None if labels is None else dumps(list(labels)),
                    "target_event_id": target_event_id,
                    "comment": comment,
                    "created_at": utcnow(),
                    "time_spent_ms": time_spent_ms,
                    "model_version": prov.model_version,
                    "strategy": prov.strategy,
                    "score": prov.score,
                    "session": session,
                }
            ],
        )
        return eid

    def _views(self, conn: sa.Connection, sample_id: int) -> list[EventView]:
        rows = conn.execute(_VIEWS, {"pid": self._store.project_id, "sid": sample_id}).all()
        return [
            EventView(r.id, r.action, r.annotator, loads_labels(r.labels), r.target_event_id)
            for r in rows
        ]

    def _refresh(self, conn: sa.Connection, sample_id: int) -> None:
        state = derive_state(self._views(conn, sample_id))
        conn.execute(_STATE_DELETE, {"sid": sample_id})
        conn.execute(
            _STATE_INSERT,
            {
                "sample_id": sample_id,
                "project_id": self._store.project_id,
                "status": state.status,
                "labels": None if state.labels is None else dumps(list(state.labels)),
                "annotator": state.annotator,
                "event_id": state.event_id,
                "n_annotators": state.n_annotators,
                "disagreement": state.disagreement,
                "adjudicated": state.adjudicated,
                "flagged": state.flagged,
                "updated_at": utcnow(),
            },
        )

    def _latest_undoable(self, conn: sa.Connection, annotator: str) -> LabelEvent | None:
        row = latest_undoable(conn, self._store.project_id, annotator, UNDOABLE)
        return None if row is None else _to_event(row)

    def _latest_redoable(self, conn: sa.Connection, annotator: str) -> LabelEvent | None:
        row = latest_redoable(conn, self._store.project_id, annotator, UNDOABLE)
        return None if row is None else _to_event(row)

    def _event(self, conn: sa.Connection, event_id: int) -> LabelEvent:
        row = conn.execute(sa.select(t.label_event).where(t.label_event.c.id == event_id)).one()
        return _to_event(row)


def _to_event(r: sa.Row) -> LabelEvent:
    return LabelEvent(
        id=r.id,
        sample_id=r.sample_id,
        annotator=r.annotator,
        action=r.action,
        labels=loads_labels(r.labels),
        target_event_id=r.target_event_id,
        comment=r.comment,
        created_at=r.created_at,
        time_spent_ms=r.time_spent_ms,
        model_version=r.model_version,
        strategy=r.strategy,
        score=r.score,
        session=r.session,
    )
