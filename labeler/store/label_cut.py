"""Exact label sets "as of" a label event: what a retrain saw, reproducible later.

A *cut* is the id ``W`` of the newest label event visible when a retrain took its labels.
Because every event with an id <= ``W`` was committed at that moment and every later event
has a larger id, the label set as of ``W`` is well defined and never changes: each sample's
state derived from its events with id <= ``W``. The retrain records ``W`` (with the label
policy and a hash of the ``(sample_id, labels)`` pairs) and an export "as of ``W``" later
writes exactly the labels that model was trained on, whatever was labeled since.

Reading it is cheap: a sample with no event after ``W`` still has the state it had then
(``sample_state``); only samples touched after ``W`` are re-derived from their events
(at 200k labels, taking a cut costs about 1.3x reading the current labels, the hash included).

Making ``W`` exact: on SQLite one writer at a time commits events in id order, so the newest
visible id is a cut. On PostgreSQL a transaction may hold an uncommitted event with a smaller
id than one already committed (an import even reserves its event ids before inserting them).
So every transaction that writes label events of a project first takes a per-project
advisory lock in shared mode, inside the one function that writes events
(:func:`append_events`: a new writer cannot forget it), and :func:`label_watermark` reads
``max(id)`` holding the same lock exclusively. It *queues* for it (with a short lock
timeout, retried): PostgreSQL grants it as soon as the writes already under way commit
(milliseconds for annotators' labels), and writers arriving meanwhile wait behind it for
that instant. So a cut never needs a quiet moment: a team labeling flat out never makes a
retrain or ``labeler train`` fail. Only a long import of labels can hold it back (each
attempt waits at most ``LOCK_TIMEOUT_MS``, then lets writers through). Writes of other
projects, and VACUUM, do not touch that lock.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from labeler.errors import LabelError
from labeler.store import schema as t
from labeler.store.derive import EventView, SampleState, derive_state
from labeler.store.ids import reserve_ids
from labeler.store.records import loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store

LATEST = "latest"  # the label policy a retrain uses: the project's current (derived) label


@dataclass(frozen=True)
class LabelCut:
    """Which labels a run trained on: the state as of ``as_of_event`` under ``label_policy``;
    ``count`` labeled samples whose ``(sample_id, labels)`` pairs hash to ``sha256``."""

    as_of_event: int
    label_policy: str
    count: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LabelCut | None:
        if not data or "as_of_event" not in data:
            return None
        return cls(
            int(data["as_of_event"]),
            str(data.get("label_policy", LATEST)),
            int(data.get("count", 0)),
            str(data.get("sha256", "")),
        )


class LabelSetHash:
    """SHA-256 of a label set: one line ``<sample_id>\\t<sorted labels as JSON>`` per sample,
    fed in ascending sample id order."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.count = 0

    def update(self, sample_id: int, labels: Sequence[str]) -> None:
        line = f"{int(sample_id)}\t{json.dumps(sorted(labels), ensure_ascii=False)}\n"
        self._h.update(line.encode("utf-8"))
        self.count += 1

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def label_set_sha256(pairs: Iterable[tuple[int, Sequence[str]]]) -> str:
    h = LabelSetHash()
    for sid, labels in pairs:
        h.update(sid, labels)
    return h.hexdigest()


_INSERT_EVENT = t.label_event.insert()  # built once: one label per key press
_LABEL_WRITE_LOCK = 0x4C4C_0000  # + project id: PostgreSQL advisory lock for label event writes


def hold_label_writes(conn: sa.Connection, project_id: int) -> None:
    """Mark the current write transaction as writing label events of ``project_id`` until it
    ends, so no label cut is taken meanwhile (:func:`append_events` calls it; it is public
    for tests that stage a writer by hand).

    PostgreSQL: a shared advisory lock (writers never wait for each other, only, briefly, for
    a cut reading its ``max(id)``). SQLite: nothing; its single writer lock makes ids exact."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock_shared(:k)"),
            {"k": _LABEL_WRITE_LOCK + int(project_id)},
        )


def append_events(
    conn: sa.Connection, project_id: int, events: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert label events (rows of ``label_event`` without ``id``) in the current write
    transaction and return their ids, in order. The one function that writes label events:
    it takes the label-cut lock before any id is drawn (see the module docstring)."""
    if not events:
        return []
    hold_label_writes(conn, project_id)
    if len(events) == 1:
        row = {**events[0], "project_id": project_id}
        return [int(conn.execute(_INSERT_EVENT, row).inserted_primary_key[0])]
    ids = list(reserve_ids(conn, t.label_event, len(events)))
    conn.execute(
        t.label_event.insert(),
        [{**e, "id": eid, "project_id": project_id} for eid, e in zip(ids, events, strict=True)],
    )
    return ids


LOCK_TIMEOUT_MS = 250  # one attempt at the exclusive cut lock (writers queue behind it)


def label_watermark(store: Store, wait_s: float = 300.0) -> int:
    """The id of the newest committed label event of the project, as an exact cut (0 if none).

    Raises :class:`~labeler.errors.LabelError` if, on PostgreSQL, one write transaction of
    label events (a long import) kept the lock for all of ``wait_s`` seconds."""
    le = t.label_event
    query = sa.select(sa.func.max(le.c.id)).where(le.c.project_id == store.project_id)
    key = _LABEL_WRITE_LOCK + int(store.project_id)
    with store.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            with conn.begin():
                return int(conn.execute(query).scalar_one() or 0)
        deadline = time.monotonic() + wait_s
        while True:
            left_ms = max(1, min(LOCK_TIMEOUT_MS, int(1000 * (deadline - time.monotonic()))))
            try:
                with conn.begin():
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {left_ms}")
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
                    # no writer of this project is open; the lock ends with this read
                    return int(conn.execute(query).scalar_one() or 0)
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                    raise
            if time.monotonic() >= deadline:
                raise LabelError(
                    "label events were being written for "
                    f"{wait_s:.0f} s (an import?); cannot take an exact label set now"
                )
            time.sleep(0.02)  # let the writers queued behind the attempt through


def touched_after(project_id: int, as_of: int) -> Any:
    """SQL condition on ``sample_state``: the sample has an event newer than ``as_of``."""
    le, st = t.label_event, t.sample_state
    return (
        sa.exists()
        .where(le.c.project_id == project_id, le.c.sample_id == st.c.sample_id, le.c.id > as_of)
        .correlate(st)
    )


def states_as_of(
    conn: sa.Connection, project_id: int, sample_ids: Sequence[int], as_of: int
) -> dict[int, SampleState]:
    """Each sample's state derived from its events with id <= ``as_of``."""
    le = t.label_event
    out: dict[int, SampleState] = {}
    ids = [int(s) for s in sample_ids]
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(
                le.c.id,
                le.c.sample_id,
                le.c.action,
                le.c.annotator,
                le.c.labels,
                le.c.target_event_id,
            )  # fmt: skip
            .where(
                le.c.project_id == project_id,
                le.c.sample_id.in_(ids[start : start + 500]),
                le.c.id <= as_of,
            )
            .order_by(le.c.id)
        ).all()
        views: dict[int, list[EventView]] = {sid: [] for sid in ids[start : start + 500]}
        for r in rows:
            views[r.sample_id].append(
                EventView(r.id, r.action, r.annotator, loads_labels(r.labels), r.target_event_id)
            )
        for sid, events in views.items():
            out[sid] = derive_state(events)
    return out


def labels_as_of(store: Store, as_of: int) -> pd.DataFrame:
    """Labeled samples as of event ``as_of``: columns ``sample_id``, ``labels`` (tuple),
    ``annotator``, by sample id (the shape of :meth:`LabelLog.current`).

    Reads the current labels, *then* the samples with an event after ``as_of``, and
    re-derives those: a sample without such an event in the second read had none in the
    first either, so its current state is its state as of ``as_of`` (no snapshot isolation
    needed; re-deriving a sample is always right)."""
    st, le = t.sample_state, t.label_event
    with store.read() as conn:
        rows = conn.execute(
            sa.select(st.c.sample_id, st.c.labels, st.c.annotator)
            .where(st.c.project_id == store.project_id, st.c.status == "labeled")
            .order_by(st.c.sample_id)
        ).all()
    with store.read() as conn:
        late = set(
            conn.execute(
                sa.select(le.c.sample_id)
                .where(le.c.project_id == store.project_id, le.c.id > as_of)
                .distinct()
            ).scalars()
        )
        redo = states_as_of(conn, store.project_id, sorted(late), as_of)
    out = [
        (r.sample_id, loads_labels(r.labels) or (), r.annotator)
        for r in rows
        if r.sample_id not in late
    ]
    out += [
        (sid, tuple(state.labels or ()), state.annotator)
        for sid, state in redo.items()
        if state.status == "labeled"
    ]
    out.sort(key=lambda row: row[0])
    return pd.DataFrame(out, columns=["sample_id", "labels", "annotator"])


def labels_after(store: Store, as_of: int) -> tuple[list[int], list[tuple[str, ...]]]:
    """Labeled samples whose current label was given by an event after ``as_of``, with those
    labels, by sample id: labels a model trained on the cut ``as_of`` has not seen."""
    st = t.sample_state
    with store.read() as conn:
        rows = conn.execute(
            sa.select(st.c.sample_id, st.c.labels)
            .where(
                st.c.project_id == store.project_id,
                st.c.status == "labeled",
                st.c.event_id > as_of,
            )
            .order_by(st.c.sample_id)
        ).all()
    return [r.sample_id for r in rows], [loads_labels(r.labels) or () for r in rows]


def take_cut(store: Store) -> tuple[LabelCut, pd.DataFrame]:
    """The project's labels now, as an exact cut: the cut and the labels (see
    :func:`labels_as_of`)."""
    as_of = label_watermark(store)
    frame = labels_as_of(store, as_of)
    digest = label_set_sha256(zip(frame["sample_id"], frame["labels"], strict=True))
    return LabelCut(as_of, LATEST, len(frame), digest), frame
