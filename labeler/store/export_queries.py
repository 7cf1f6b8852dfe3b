"""Queries behind dataset exports: labeled samples streamed in id order, annotators' labels
per sample, and the ``export_snapshot`` records (versions reserved race-free).

Streaming uses keyset pagination (``sample_id > last``), one short read transaction per chunk,
so memory stays bounded by the chunk size whatever the project size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from labeler.store import schema as t
from labeler.store.database import utcnow
from labeler.store.derive import EventView, cancelled_ids
from labeler.store.label_cut import states_as_of, touched_after
from labeler.store.records import bytes_to_vector, dumps, loads_labels

if TYPE_CHECKING:
    from labeler.store.project_store import Store


@dataclass(frozen=True)
class LabeledRow:
    """One labeled sample as an export reads it."""

    sample_id: int
    external_id: str
    text: str | None
    file_ref: str | None
    data: dict[str, Any] | None
    vector: list[float] | None
    labels: tuple[str, ...]
    annotator: str | None
    n_annotators: int
    disagreement: bool
    adjudicated: bool


@dataclass(frozen=True)
class SnapshotRecord:
    id: int
    version: int
    format: str
    path: str
    manifest: dict[str, Any]
    created_at: datetime


def iter_labeled(
    store: Store, chunk_size: int = 20_000, as_of: int | None = None
) -> Iterator[list[LabeledRow]]:
    """Labeled samples (current derived labels), ``chunk_size`` at a time, by sample id.

    ``as_of``: the labels as they were right after label event ``as_of`` (see
    :mod:`labeler.store.label_cut`): samples touched since are derived from their earlier
    events, so a sample labeled later is left out and one unlabeled later is kept."""
    st, s = t.sample_state, t.sample
    late: Any = sa.false()
    wanted: Any = st.c.status == "labeled"
    if as_of is not None:
        late = touched_after(store.project_id, as_of)
        wanted = sa.or_(wanted, late)
    last = 0
    while True:
        query = (
            sa.select(
                s.c.id,
                s.c.external_id,
                s.c.text,
                s.c.file_ref,
                s.c.data,
                s.c.vector,
                st.c.labels,
                st.c.annotator,
                st.c.n_annotators,
                st.c.disagreement,
                st.c.adjudicated,
                late.label("late"),
            )
            .select_from(st.join(s, s.c.id == st.c.sample_id))
            .where(st.c.project_id == store.project_id, wanted, st.c.sample_id > last)
            .order_by(st.c.sample_id)
            .limit(chunk_size)
        )
        with store.read() as conn:
            rows = conn.execute(query).all()
            redo = (
                states_as_of(conn, store.project_id, [r.id for r in rows if r.late], as_of)
                if as_of is not None
                else {}
            )
        if not rows:
            return
        chunk = []
        for r in rows:
            state = redo.get(r.id)
            if state is not None and state.status != "labeled":
                continue
            vec = bytes_to_vector(r.vector)
            chunk.append(
                LabeledRow(
                    sample_id=r.id,
                    external_id=r.external_id,
                    text=r.text,
                    file_ref=r.file_ref,
                    data=json.loads(r.data) if r.data else None,
                    vector=None if vec is None else [float(x) for x in vec],
                    labels=(loads_labels(r.labels) if state is None else state.labels) or (),
                    annotator=r.annotator if state is None else state.annotator,
                    n_annotators=int(r.n_annotators if state is None else state.n_annotators),
                    disagreement=bool(r.disagreement if state is None else state.disagreement),
                    adjudicated=bool(r.adjudicated if state is None else state.adjudicated),
                )
            )
        last = rows[-1].id
        if chunk:
            yield chunk


def annotator_labels(
    store: Store, sample_ids: Sequence[int], as_of: int | None = None
) -> dict[int, list[tuple[str, tuple[str, ...]]]]:
    """For each sample, every annotator's active label as ``(annotator, labels)``, in the
    order of each annotator's latest label event (oldest first); ``as_of``: counting only
    events up to that id."""
    out: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
    ids = list(sample_ids)
    le = t.label_event
    for start in range(0, len(ids), 500):
        with store.read() as conn:
            rows = conn.execute(
                sa.select(
                    le.c.id,
                    le.c.sample_id,
                    le.c.annotator,
                    le.c.action,
                    le.c.labels,
                    le.c.target_event_id,
                )  # fmt: skip
                .where(
                    le.c.project_id == store.project_id,
                    le.c.sample_id.in_(ids[start : start + 500]),
                    le.c.action.in_(("label", "undo", "redo")),
                    le.c.id <= as_of if as_of is not None else sa.true(),
                )
                .order_by(le.c.id)
            ).all()
        views = [
            EventView(r.id, r.action, r.annotator, loads_labels(r.labels), r.target_event_id)
            for r in rows
        ]
        cancelled = cancelled_ids(views)
        latest: dict[int, dict[str, tuple[int, tuple[str, ...]]]] = {}
        for r, v in zip(rows, views, strict=True):
            if v.action == "label" and v.id not in cancelled:
                latest.setdefault(r.sample_id, {})[r.annotator] = (v.id, v.labels or ())
        for sid, per in latest.items():
            ordered = sorted(per.items(), key=lambda kv: kv[1][0])
            out[sid] = [(a, labels) for a, (_, labels) in ordered]
    return out


def next_snapshot_version(store: Store) -> int:
    """The version the next export would get if none starts meanwhile (a hint for names;
    :func:`reserve_snapshot` is what allocates a version)."""
    with store.read() as conn:
        top = conn.execute(
            sa.select(sa.func.max(t.export_snapshot.c.version)).where(
                t.export_snapshot.c.project_id == store.project_id
            )
        ).scalar_one()
    return int(top or 0) + 1


_VERSION_LOCK = 0x4C45_0000  # + project id: PostgreSQL advisory lock for snapshot versions


def reserve_snapshot(store: Store, *, fmt: str, path: str = "") -> int:
    """Allocate the next snapshot version for an export that is about to start.

    The row is inserted (state ``writing``) in the same transaction that reads the highest
    version, so two exports never get the same number: SQLite's write transaction
    (``BEGIN IMMEDIATE``) serialises them, on PostgreSQL a per-project advisory lock does, and
    the unique constraint on ``(project_id, version)`` backs both (a clash is retried)."""
    es = t.export_snapshot
    for _attempt in range(5):
        try:
            with store.write() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": _VERSION_LOCK + store.project_id},
                    )
                top = conn.execute(
                    sa.select(sa.func.max(es.c.version)).where(es.c.project_id == store.project_id)
                ).scalar_one()
                version = int(top or 0) + 1
                conn.execute(
                    es.insert().values(
                        project_id=store.project_id,
                        version=version,
                        format=fmt,
                        path=path,
                        manifest="{}",
                        created_at=utcnow(),
                        state="writing",
                    )
                )
            return version
        except sa.exc.IntegrityError:
            continue
    raise RuntimeError("could not allocate an export snapshot version (constant clashes)")


def finish_snapshot(
    store: Store, *, version: int, path: str, manifest: dict[str, Any]
) -> SnapshotRecord:
    """Record a finished export (its file and manifest are already in place)."""
    es = t.export_snapshot
    now = utcnow()
    with store.write() as conn:
        conn.execute(
            es.update()
            .where(es.c.project_id == store.project_id, es.c.version == version)
            .values(path=path, manifest=dumps(manifest), created_at=now, state="done")
        )
        row = conn.execute(
            sa.select(es.c.id, es.c.format).where(
                es.c.project_id == store.project_id, es.c.version == version
            )
        ).one()
    return SnapshotRecord(int(row.id), version, row.format, path, manifest, now)


def release_snapshot(store: Store, version: int) -> None:
    """Drop the reservation of an export that failed or was cancelled (nothing was written)."""
    es = t.export_snapshot
    with store.write() as conn:
        conn.execute(
            es.delete().where(
                es.c.project_id == store.project_id,
                es.c.version == version,
                es.c.state == "writing",
            )
        )


def snapshots(store: Store) -> list[SnapshotRecord]:
    """Finished snapshots, by version (an export that is running or was killed is not one)."""
    es = t.export_snapshot
    with store.read() as conn:
        rows = conn.execute(
            sa.select(es)
            .where(es.c.project_id == store.project_id, es.c.state == "done")
            .order_by(es.c.version)
        ).all()
    return [
        SnapshotRecord(r.id, r.version, r.format, r.path, json.loads(r.manifest), r.created_at)
        for r in rows
    ]
