"""Label events that come from Label Studio: when exported labels were given, and the
annotations of an import appended as events (each with its annotator and time).

An import appends, per sample, the annotations oldest first, so per annotator the newest
wins and the newest of all is the sample's current label. On a sample the project already
holds (a round trip: our export, corrections in Label Studio, imported back), an annotation
is appended only when it is newer than that annotator's latest event on the sample and
differs from their active label there: importing the same file twice adds nothing, and the
annotation an export wrote comes back as the label it was, not as a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.database import utcnow
from labeler.store.derive import EventView, cancelled_ids, derive_state
from labeler.store.label_cut import append_events
from labeler.store.records import dumps, loads_labels

_CHUNK = 500


class GivenLabel(Protocol):
    """One annotator's label(s) for a sample, given at ``time`` (naive UTC; None: now)."""

    @property
    def annotator(self) -> str: ...
    @property
    def labels(self) -> tuple[str, ...]: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def time_spent_ms(self) -> int | None: ...


def label_times(
    conn: sa.Connection, project_id: int, sample_ids: Sequence[int]
) -> dict[int, tuple[datetime, int | None]]:
    """When each sample's current label was given and how long it took (its deciding event)."""
    st, ev = t.sample_state, t.label_event
    out: dict[int, tuple[datetime, int | None]] = {}
    ids = list(sample_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            sa.select(st.c.sample_id, ev.c.created_at, ev.c.time_spent_ms)
            .select_from(st.join(ev, ev.c.id == st.c.event_id))
            .where(st.c.project_id == project_id, st.c.sample_id.in_(ids[start : start + _CHUNK]))
        ).all()
        out.update({r.sample_id: (r.created_at, r.time_spent_ms) for r in rows})
    return out


def _events_of(conn: sa.Connection, project_id: int, sample_ids: Sequence[int]) -> list[sa.Row]:
    ev = t.label_event
    rows: list[sa.Row] = []
    ids = list(sample_ids)
    for start in range(0, len(ids), _CHUNK):
        rows.extend(
            conn.execute(
                sa.select(
                    ev.c.id,
                    ev.c.sample_id,
                    ev.c.annotator,
                    ev.c.action,
                    ev.c.labels,
                    ev.c.target_event_id,
                    ev.c.created_at,
                ).where(
                    ev.c.project_id == project_id, ev.c.sample_id.in_(ids[start : start + _CHUNK])
                )
            ).all()
        )
    rows.sort(key=lambda r: r.id)
    return rows


def _views(rows: Sequence[sa.Row]) -> list[EventView]:
    return [
        EventView(r.id, r.action, r.annotator, loads_labels(r.labels), r.target_event_id)
        for r in rows
    ]


def _new_only(rows: Sequence[sa.Row], given: Sequence[GivenLabel]) -> list[GivenLabel]:
    """The annotations of one existing sample that add something (see the module doc)."""
    cancelled = cancelled_ids(_views(rows))
    last_time: dict[str, datetime] = {}
    active: dict[str, tuple[str, ...]] = {}
    for r in rows:
        last_time[r.annotator] = max(last_time.get(r.annotator, r.created_at), r.created_at)
        if r.action == "label" and r.id not in cancelled:
            active[r.annotator] = loads_labels(r.labels) or ()
    out = []
    for g in given:
        seen = last_time.get(g.annotator)
        if g.time is not None and seen is not None and g.time <= seen:
            continue
        if tuple(sorted(active.get(g.annotator, ()))) == tuple(sorted(g.labels)):
            continue
        out.append(g)
        active[g.annotator] = g.labels
        if g.time is not None:
            last_time[g.annotator] = g.time
    return out


def append_given(
    conn: sa.Connection,
    project_id: int,
    given: Sequence[tuple[int, Sequence[GivenLabel]]],
    *,
    existing: bool,
) -> int:
    """Append the labels of ``(sample_id, [GivenLabel...])`` as label events (oldest first per
    sample) and derive those samples' states. ``existing``: the samples were in the project
    before this import (only what is new is appended). Returns the events appended."""
    if not given:
        return 0
    now = utcnow()
    floor = datetime.min
    sample_ids = [sid for sid, _ in given]
    before: list[sa.Row] = []
    if existing:
        for start in range(0, len(sample_ids), _CHUNK):  # PostgreSQL: one writer per sample
            conn.execute(
                sa.select(t.sample.c.id)
                .where(t.sample.c.id.in_(sample_ids[start : start + _CHUNK]))
                .with_for_update()
            ).all()
        before = _events_of(conn, project_id, sample_ids)
    by_sample: dict[int, list[sa.Row]] = {}
    for r in before:
        by_sample.setdefault(r.sample_id, []).append(r)
    events: list[dict] = []
    for sid, labels in given:
        ordered = sorted(labels, key=lambda g: g.time or floor)
        if existing:
            ordered = _new_only(by_sample.get(sid, []), ordered)
        events.extend(
            {
                "sample_id": sid,
                "annotator": g.annotator,
                "action": "label",
                "labels": dumps(list(g.labels)),
                "created_at": g.time or now,
                "time_spent_ms": g.time_spent_ms,
                "comment": "Label Studio",
            }
            for g in ordered
        )
    if not events:
        return 0
    append_events(conn, project_id, events)
    touched = sorted({e["sample_id"] for e in events})
    rows = _events_of(conn, project_id, touched)
    per: dict[int, list[sa.Row]] = {}
    for r in rows:
        per.setdefault(r.sample_id, []).append(r)
    st = t.sample_state
    for start in range(0, len(touched), _CHUNK):
        part = touched[start : start + _CHUNK]
        conn.execute(st.delete().where(st.c.project_id == project_id, st.c.sample_id.in_(part)))
        states = []
        for sid in part:
            s = derive_state(_views(per[sid]))
            states.append(
                {
                    "sample_id": sid,
                    "project_id": project_id,
                    "status": s.status,
                    "labels": None if s.labels is None else dumps(list(s.labels)),
                    "annotator": s.annotator,
                    "event_id": s.event_id,
                    "n_annotators": s.n_annotators,
                    "disagreement": s.disagreement,
                    "adjudicated": s.adjudicated,
                    "flagged": s.flagged,
                    "updated_at": now,
                }
            )
        conn.execute(st.insert(), states)
    return len(events)


def find_samples(
    conn: sa.Connection, project_id: int, external_ids: Sequence[str | None], hashes: Sequence[str]
) -> list[int | None]:
    """The project's sample for each row of a file that duplicates one: the sample with the
    row's id when its content is the same, else a sample with the same content."""
    s = t.sample
    found: list[int | None] = [None] * len(hashes)
    wanted = [(i, e) for i, e in enumerate(external_ids) if e is not None]
    for start in range(0, len(wanted), _CHUNK):
        part = wanted[start : start + _CHUNK]
        rows = conn.execute(
            sa.select(s.c.id, s.c.external_id, s.c.content_hash).where(
                s.c.project_id == project_id, s.c.external_id.in_([e for _, e in part])
            )
        ).all()
        by_id = {r.external_id: r for r in rows}
        for i, e in part:
            r = by_id.get(e)
            if r is not None and r.content_hash == hashes[i]:
                found[i] = r.id
    rest = [i for i, f in enumerate(found) if f is None]
    for start in range(0, len(rest), _CHUNK):
        part = rest[start : start + _CHUNK]
        rows = conn.execute(
            sa.select(s.c.id, s.c.content_hash).where(
                s.c.project_id == project_id, s.c.content_hash.in_([hashes[i] for i in part])
            )
        ).all()
        by_hash = {r.content_hash: r.id for r in rows}
        for i in part:
            found[i] = by_hash.get(hashes[i])
    return found
